// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "outputs/queueing.hpp"
#include "outputs/sink.hpp"
#include "outputs/spool.hpp"
#include "outputs/transport.hpp"
#include "util/bounded_queue.hpp"

namespace adock::outputs {

/// Every output that sends over a network or socket (webhook, chat, pager, falco, syslog): its own
/// bounded queue and worker thread, formatting on that thread, bounded retries with capped
/// exponential backoff and jitter, Retry-After honoured, no retry of a permanent refusal, and a
/// disk spool for what cannot be delivered, redelivered in order when the endpoint recovers (also
/// after a restart). submit() never blocks.
class DeliverySink final : public Sink {
public:
    /// The payload an alert becomes on the wire.
    using Formatter = std::function<std::string(const AlertMessage&)>;

    /// Opens the spool (shared with a predecessor after a reload); when it cannot (held by another
    /// process, unwritable), the output runs without one and says so in the log.
    DeliverySink(config::OutputConfig cfg, std::unique_ptr<Transport> transport, Formatter format);
    ~DeliverySink() override;
    DeliverySink(const DeliverySink&) = delete;
    DeliverySink& operator=(const DeliverySink&) = delete;
    DeliverySink(DeliverySink&&) = delete;
    DeliverySink& operator=(DeliverySink&&) = delete;

    [[nodiscard]] const std::string& name() const override { return cfg_.name; }
    [[nodiscard]] const config::OutputConfig& config() const override { return cfg_; }

    bool submit(const AlertMessage& message) override;
    void start() override;
    /// Delivers what is queued until `deadline`; the rest (and anything cut short) is spooled.
    void stop(std::chrono::milliseconds deadline) override;
    [[nodiscard]] SinkStats stats() const override;

    /// One synchronous attempt, no queue or spool (--test-output). Only before start().
    [[nodiscard]] SendResult send_once(const AlertMessage& message);
    /// Where it sends, safe to print.
    [[nodiscard]] const std::string& target() const { return transport_->target(); }

private:
    using Clock = std::chrono::steady_clock;

    void run() noexcept;
    void handle(const AlertMessage& message, bool stopping);
    void deliver_live(const std::string& payload);
    /// Spools `first` and whatever else is queued (one write), behind the spool's records.
    void spool_behind(const AlertMessage& first);
    /// Tries the spool's oldest record once when due; true when one was delivered or given up.
    bool try_spool_head();
    /// Keeps a payload for later (spool) or, without one, drops it, counted and logged.
    void spill(const std::string& payload, const std::string& why);
    [[nodiscard]] std::chrono::milliseconds backoff(unsigned attempt);
    [[nodiscard]] std::chrono::milliseconds retry_wait(unsigned attempt, const SendResult& r);
    [[nodiscard]] bool sleep_until(Clock::time_point wake);
    [[nodiscard]] bool is_stopping() const;
    [[nodiscard]] bool past_deadline() const;
    void note_spool();
    void log_drop(const std::string& why);

    config::OutputConfig cfg_;
    std::unique_ptr<Transport> transport_;
    Formatter format_;
    std::shared_ptr<Spool> spool_;  ///< null when disabled (or held by another process)
    std::minstd_rand rng_;          ///< backoff jitter (worker thread only)
    util::BoundedQueue<AlertMessage> queue_;
    unsigned spool_attempt_ = 0;                  ///< worker: failed tries of the spool's head
    Clock::time_point next_spool_try_{};          ///< worker: when to try the head again

    mutable std::mutex ctl_mu_;
    std::condition_variable ctl_cv_;  ///< wakes backoff sleeps (stop, abort) and stop() (done)
    bool stopping_ = false;           ///< stop() called: deliver until deadline_
    Clock::time_point deadline_{};    ///< when stopping_: spool after this
    bool worker_done_ = false;        ///< the worker has left its loop
    std::atomic<bool> abort_{false};  ///< deadline passed: cut the running transfer short

    std::atomic<unsigned long long> generated_{0};
    std::atomic<unsigned long long> delivered_{0};
    std::atomic<unsigned long long> retried_{0};
    std::atomic<unsigned long long> failed_{0};
    std::atomic<unsigned long long> spooled_{0};
    std::atomic<unsigned long long> dropped_{0};
    std::atomic<unsigned long long> spool_pending_{0};
    std::atomic<unsigned long long> spool_bytes_{0};
    LogLimiter full_log_;   ///< queue-full drops (producer threads)
    LogLimiter drop_log_;   ///< drops (worker thread)
    LogLimiter spool_log_;  ///< spooling (worker thread)

    std::jthread worker_;  ///< last member: joined before the rest is destroyed
};

}  // namespace adock::outputs
