// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "outputs/queueing.hpp"
#include "outputs/sink.hpp"
#include "outputs/spool.hpp"
#include "outputs/transport.hpp"
#include "util/bounded_queue.hpp"
#include "util/clock.hpp"

namespace adock::outputs {

/// Every output that sends over a network or socket (webhook, chat, pager, falco, otlp, syslog,
/// kafka): its own bounded queue and worker thread, formatting on that thread, retries with
/// capped exponential backoff and jitter, Retry-After honoured, no retry of a permanent refusal.
/// submit() never blocks.
///
/// With a spool (the default) the spool is a write-ahead log: the worker appends every alert it
/// takes off the queue to the spool (what is queued with one write) before the first attempt,
/// sends the spool's oldest record and advances the cursor only when it was delivered (or
/// refused). A plugin killed at any moment keeps every alert that left the queue; the next start
/// delivers them in order. Without a spool (or when the spool cannot be written while it is
/// empty) alerts are retried in memory, `retries` times, then dropped and counted.
class DeliverySink final : public Sink {
public:
    /// The payload an alert becomes on the wire.
    using Formatter = std::function<std::string(const AlertMessage&)>;

    /// Opens the spool (shared with a predecessor after a reload); when it cannot (held by another
    /// process, unwritable), the output runs without one and says so in the log. `clock`: the
    /// steady time retries, backoff, the stop deadline and log limits are decided by (tests pass
    /// a ManualClock; waits then block in real time for at most its recheck_after()); it must
    /// outlive the sink.
    DeliverySink(config::OutputConfig cfg,
                 std::unique_ptr<Transport> transport,
                 Formatter format,
                 const util::Clock& clock = util::real_clock());
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
    using Clock = util::Clock;

    void run() noexcept;
    /// The worker's loop with a spool (write-ahead) and without one (in memory).
    void run_spooled();
    void run_in_memory();
    void handle(const AlertMessage& message, bool stopping);
    /// `time_ms`: the alert's event time (0: unknown), for the latency histogram.
    void deliver_live(const std::string& payload, std::int64_t time_ms);
    /// Appends `first` (if any) and whatever else is queued to the spool with one write; what the
    /// spool refuses while it is empty is delivered in memory, behind a backlog it is dropped.
    void absorb(std::optional<AlertMessage> first);
    /// The syncer thread: fdatasync of the spool at most once per kSyncInterval after a write,
    /// off the worker (a slow disk never holds up delivery or the queue).
    void run_syncer(const std::stop_token& stop) noexcept;
    /// Tries the spool's oldest record once when due; true when one was delivered or given up.
    bool try_spool_head();
    /// Keeps a payload for later (spool) or, without one, drops it, counted and logged.
    void spill(const std::string& payload, const std::string& why, std::int64_t time_ms);
    /// Records the latency of an alert delivered now (time_ms 0: unknown, not recorded).
    void observe_latency(std::int64_t time_ms);
    /// The event time of the spool's head, forgotten (0 when unknown: left by a predecessor).
    std::int64_t take_head_time();
    [[nodiscard]] std::chrono::milliseconds backoff(unsigned attempt);
    [[nodiscard]] std::chrono::milliseconds retry_wait(unsigned attempt, const SendResult& r);
    [[nodiscard]] bool sleep_until(Clock::time_point wake);
    [[nodiscard]] bool is_stopping() const;
    [[nodiscard]] bool past_deadline() const;
    void note_spool();
    void log_drop(const std::string& why);

    const util::Clock& clock_;  ///< every "now" of the worker, stop() and the log limits
    config::OutputConfig cfg_;
    std::unique_ptr<Transport> transport_;
    Formatter format_;
    std::shared_ptr<Spool> spool_;  ///< null when disabled (or held by another process)
    std::minstd_rand rng_;          ///< backoff jitter (worker thread only)
    util::BoundedQueue<AlertMessage> queue_;
    unsigned spool_attempt_ = 0;            ///< worker: failed tries of the spool's head
    Clock::time_point next_spool_try_{};    ///< worker: when to try the head again
    std::atomic<bool> spool_dirty_{false};  ///< written since the syncer's last fdatasync
    /// worker: the event times of the records this sink appended to the spool, oldest first
    /// (the latency histogram); records ahead of them (a previous run's, a predecessor's) have
    /// none.
    std::deque<std::int64_t> spool_times_;
    bool spool_times_aligned_ = false;  ///< worker: unknown_ahead_ was counted when reading began
    std::uint64_t unknown_ahead_ = 0;   ///< worker: spool records ahead of spool_times_
    std::mutex syncer_mu_;
    std::condition_variable_any syncer_cv_;  ///< wakes the syncer at stop

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
    std::atomic<bool> backlogged_{false};  ///< the oldest alert failed its last attempt
    util::LatencyHistogram latency_;       ///< event time to delivery
    LogLimiter full_log_{clock_};          ///< queue-full drops (producer threads)
    LogLimiter drop_log_{clock_};          ///< drops (worker thread)
    LogLimiter spool_log_{clock_};         ///< spooling (worker thread)

    std::jthread syncer_;  ///< with a spool: run_syncer
    std::jthread worker_;  ///< last member: joined before the rest is destroyed
};

}  // namespace adock::outputs
