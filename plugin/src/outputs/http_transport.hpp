// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "config/config.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/transport.hpp"

namespace adock::outputs {

/// HTTP POST with one reused easy handle: timeouts, TLS (verification on unless disabled, CA
/// file, client certificate), proxy (none unless configured: auditd gives plugins an empty
/// environment), custom headers. Redirects are not followed.
class HttpTransport final : public Transport {
public:
    /// `splice`: JSON members (`"key":"value",`) inserted after the payload's opening brace at
    /// send time, for secrets that belong in the body (PagerDuty's routing_key) but must never
    /// reach the spool. Throws config::ConfigError for an unusable entry.
    explicit HttpTransport(const config::OutputConfig& cfg, std::string splice = {});

    [[nodiscard]] SendResult send(const std::string& payload,
                                  const std::atomic<bool>& abort) override;

    void wakeup() noexcept override { curl_.wakeup(); }

    [[nodiscard]] const std::string& target() const override { return target_; }

private:
    std::string target_;
    std::string splice_;
    CurlEasy curl_;
};

}  // namespace adock::outputs
