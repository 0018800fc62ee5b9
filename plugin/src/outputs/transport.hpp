// SPDX-License-Identifier: Apache-2.0
// How a delivering output puts one payload on the wire: HTTP POST (webhook, chat, pager, falco)
// or syslog. The sink around it owns queueing, retries, backoff and the spool.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

namespace adock::outputs {

struct SendResult {
    enum class Kind {
        Delivered,  ///< the endpoint accepted it (2xx, or written to the socket)
        Retry,      ///< worth another attempt: transport error, 408, 429, 5xx
        Permanent,  ///< will not get better by retrying: other 4xx, 3xx, a payload refused
        Aborted,    ///< cut short by shutdown
    };
    Kind kind = Kind::Retry;
    long status = 0;  ///< HTTP status, 0 when none
    std::optional<std::chrono::milliseconds> retry_after;
    std::string detail;    ///< what happened, safe to log (never a URL path, key or header)
    std::string response;  ///< the start of the endpoint's answer (--test-output)
};

class Transport {
public:
    Transport() = default;
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;
    Transport(Transport&&) = delete;
    Transport& operator=(Transport&&) = delete;
    virtual ~Transport() = default;

    /// One attempt. Returns soon after `abort` becomes true and wakeup() is called.
    [[nodiscard]] virtual SendResult send(const std::string& payload,
                                          const std::atomic<bool>& abort) = 0;

    /// Interrupts a send() in another thread so it rechecks `abort`. Thread-safe.
    virtual void wakeup() noexcept {}

    /// Where it sends, safe to log (scheme://host:port, or the syslog address).
    [[nodiscard]] virtual const std::string& target() const = 0;
};

}  // namespace adock::outputs
