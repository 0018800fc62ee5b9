// SPDX-License-Identifier: Apache-2.0
// What every sink's submit() shares: the non-blocking hand-off to its own queue, and log lines
// that cannot flood syslog when an output is failing.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "config/config.hpp"
#include "outputs/sink.hpp"
#include "util/bounded_queue.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace adock::outputs {

/// Lets one log line through per interval and counts the ones it holds back. Thread-safe.
class LogLimiter {
public:
    static constexpr std::chrono::seconds kInterval{10};

    /// `clock`: what "now" is (tests pass a ManualClock); it must outlive the limiter.
    explicit LogLimiter(const util::Clock& clock = util::real_clock()) : clock_(clock) {}

    /// True when a line may be logged now; `held` receives how many were held back before it.
    bool allow(unsigned long long& held) {
        const std::scoped_lock lock(mu_);
        const auto now = clock_.now();
        if (any_ && now - last_ < kInterval) {
            ++held_;
            return false;
        }
        held = held_;
        held_ = 0;
        last_ = now;
        any_ = true;
        return true;
    }

private:
    const util::Clock& clock_;  ///< what "now" is for allow()
    std::mutex mu_;
    std::chrono::steady_clock::time_point last_{};
    bool any_ = false;
    unsigned long long held_ = 0;
};

/// submit() for a sink with its own queue: a full queue drops the alert for this output,
/// counted and logged (rate-limited). Never blocks. Severity is not looked at here: the
/// Dispatcher's Gate decided what reaches the sink.
inline bool offer_to_queue(util::BoundedQueue<AlertMessage>& queue,
                           const AlertMessage& message,
                           const config::OutputConfig& cfg,
                           std::atomic<unsigned long long>& generated,
                           std::atomic<unsigned long long>& dropped,
                           LogLimiter& full_log) {
    if (!message.json) {
        return false;
    }
    generated.fetch_add(1, std::memory_order_relaxed);
    AlertMessage copy = message;
    if (queue.try_push(std::move(copy))) {
        return true;
    }
    const auto total = dropped.fetch_add(1, std::memory_order_relaxed) + 1;
    unsigned long long held = 0;
    if (full_log.allow(held)) {
        log::warning("output '" + cfg.name + "': queue full (" + std::to_string(cfg.queue_size) +
                     "), alert dropped; " + std::to_string(total) + " dropped so far");
    }
    return false;
}

}  // namespace adock::outputs
