// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/sink.hpp"
#include "util/bounded_queue.hpp"

namespace adock::outputs {

/// `type: webhook`: POSTs each alert's JSON to a URL from the sink's own thread, with one reused
/// easy handle, bounded retries and capped exponential backoff. submit() never blocks.
class WebhookSink final : public Sink {
public:
    /// Throws config::ConfigError when the entry cannot be used (bad URL, header, TLS option).
    /// The body an alert becomes (slack_payload); null: the alert's own JSON.
    using Formatter = std::string (*)(const Alert&);

    explicit WebhookSink(config::OutputConfig cfg, Formatter format = nullptr);
    ~WebhookSink() override;
    WebhookSink(const WebhookSink&) = delete;
    WebhookSink& operator=(const WebhookSink&) = delete;
    WebhookSink(WebhookSink&&) = delete;
    WebhookSink& operator=(WebhookSink&&) = delete;

    [[nodiscard]] const std::string& name() const override { return cfg_.name; }

    bool submit(const AlertMessage& message) override;
    void start() override;
    void stop(std::chrono::milliseconds deadline) override;
    [[nodiscard]] SinkStats stats() const override;

private:
    using Clock = std::chrono::steady_clock;

    /// Lets one log line through per interval and counts the ones it holds back.
    class LogLimiter {
    public:
        /// True when a line may be logged now; `held` receives how many were held back before it.
        bool allow(unsigned long long& held);

    private:
        std::mutex mu_;
        Clock::time_point last_{};
        bool any_ = false;
        unsigned long long held_ = 0;
    };

    void configure_handle();
    void run() noexcept;
    void deliver(const AlertMessage& message);
    [[nodiscard]] std::chrono::milliseconds backoff(unsigned attempt);
    /// Sleeps until `wake`, or less when the shutdown deadline comes first or stop() aborts.
    /// False when the wait was cut short by the deadline/abort (give up on the alert).
    [[nodiscard]] bool sleep_until(Clock::time_point wake);
    [[nodiscard]] bool past_deadline() const;
    void log_drop(const std::string& why);

    config::OutputConfig cfg_;
    Formatter format_;  ///< null: POST the alert's JSON as it is
    std::string target_;    ///< scheme://host[:port]: the only form of the URL that is logged
    CurlEasy curl_;         ///< worker thread only (wakeup() excepted)
    std::minstd_rand rng_;  ///< backoff jitter (worker thread only)
    util::BoundedQueue<AlertMessage> queue_;

    mutable std::mutex ctl_mu_;
    std::condition_variable ctl_cv_;  ///< wakes backoff sleeps (stop, abort) and stop() (done)
    bool stopping_ = false;           ///< stop() called: deliver until deadline_
    Clock::time_point deadline_{};    ///< when stopping_: give up after this
    bool worker_done_ = false;        ///< the worker has left its loop
    std::atomic<bool> abort_{false};  ///< deadline passed: cut the running transfer short

    std::atomic<unsigned long long> generated_{0};
    std::atomic<unsigned long long> delivered_{0};
    std::atomic<unsigned long long> retried_{0};
    std::atomic<unsigned long long> failed_{0};
    std::atomic<unsigned long long> dropped_{0};
    LogLimiter full_log_;  ///< queue-full drops (producer threads)
    LogLimiter drop_log_;  ///< delivery failures (worker thread)

    std::jthread worker_;  ///< last member: joined before the rest is destroyed
};

}  // namespace adock::outputs
