// SPDX-License-Identifier: Apache-2.0
// `type: syslog`: RFC 5424 messages to the local socket (unix:/dev/log), or over UDP (RFC 5426)
// or TCP with octet-counting framing (RFC 6587). The message is the alert's JSON.
#pragma once

#include <cstddef>
#include <string>

#include "config/config.hpp"
#include "outputs/sink.hpp"
#include "outputs/transport.hpp"
#include "util/unique_fd.hpp"

namespace adock::outputs {

/// Syslog severity for ours: critical 2 (crit), high 3 (err), medium 4 (warning), low 5
/// (notice), info 6 (info).
[[nodiscard]] unsigned syslog_severity(Severity s);

/// One RFC 5424 message (without transport framing), at most `max_bytes` long: an alert whose
/// JSON does not fit is sent in a short form (rule, severity, host, summary, serial, truncated).
[[nodiscard]] std::string syslog_message(const AlertMessage& m,
                                         unsigned facility,
                                         const std::string& app_name,
                                         std::size_t max_bytes);

class SyslogTransport final : public Transport {
public:
    /// Throws config::ConfigError for an address that does not parse or resolve.
    explicit SyslogTransport(const config::OutputConfig& cfg);

    [[nodiscard]] SendResult send(const std::string& payload,
                                  const std::atomic<bool>& abort) override;

    [[nodiscard]] const std::string& target() const override { return target_; }

    /// The largest message this transport sends (the formatter's bound).
    [[nodiscard]] std::size_t max_message() const { return max_message_; }

private:
    enum class Kind { Unix, Udp, Tcp };
    bool connect_socket(const std::atomic<bool>& abort, std::string& why);

    Kind kind_ = Kind::Unix;
    std::string target_;
    std::string path_;  ///< unix
    std::string host_;  ///< udp, tcp
    std::string port_;
    unsigned connect_timeout_ms_;
    unsigned timeout_ms_;
    std::size_t max_message_;
    util::UniqueFd fd_;
};

}  // namespace adock::outputs
