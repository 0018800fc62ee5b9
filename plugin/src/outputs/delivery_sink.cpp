// SPDX-License-Identifier: Apache-2.0
#include "outputs/delivery_sink.hpp"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "util/log.hpp"
#include "util/thread_name.hpp"

namespace adock::outputs {
namespace {

constexpr std::chrono::milliseconds kIdleWait{1000};
constexpr std::size_t kSpoolBatch = 512;               // records appended with one write
constexpr std::chrono::milliseconds kSpoolGather{10};  // waited for more before that write
constexpr std::chrono::milliseconds kSleepSlice{20};   // queue checks while backing off
// fdatasync of the spool at most this often
constexpr std::chrono::milliseconds kSyncInterval{1000};

}  // namespace

DeliverySink::DeliverySink(config::OutputConfig cfg,
                           std::unique_ptr<Transport> transport,
                           Formatter format,
                           const util::Clock& clock)
    : clock_(clock),
      cfg_(std::move(cfg)),
      transport_(std::move(transport)),
      format_(std::move(format)),
      rng_(std::random_device{}()),
      queue_(cfg_.queue_size) {
    if (!cfg_.spool_dir.empty()) {
        try {
            spool_ = Spool::open(cfg_.spool_dir, cfg_.spool_max_bytes);
        } catch (const std::exception& e) {
            // The output still works; what it cannot deliver is dropped and counted.
            log::error("output '" + cfg_.name + "': " + e.what() + "; running without a spool");
        }
        note_spool();
    }
}

DeliverySink::~DeliverySink() {
    if (worker_.joinable()) {
        stop(std::chrono::milliseconds(0));
    }
}

bool DeliverySink::submit(const AlertMessage& message) {
    if (!message.alert) {
        return false;  // formatters need the alert, not only its JSON
    }
    return offer_to_queue(queue_, message, cfg_, generated_, dropped_, full_log_);
}

void DeliverySink::start() {
    if (worker_.joinable()) {
        return;
    }
    if (spool_) {
        syncer_ = std::jthread([this](const std::stop_token& stop) { run_syncer(stop); });
    }
    worker_ = std::jthread([this] { run(); });
}

void DeliverySink::stop(std::chrono::milliseconds deadline) {
    if (!worker_.joinable()) {
        // Never started: what was queued goes to the spool as it is.
        queue_.close();
        while (auto left = queue_.pop_for(std::chrono::milliseconds(0))) {
            spill(format_(*left),
                  "output stopped before it started",
                  left->alert ? left->alert->time_ms : 0);
        }
        if (spool_) {
            spool_->sync();
        }
        return;
    }
    {
        const std::scoped_lock lock(ctl_mu_);
        stopping_ = true;
        deadline_ = clock_.now() + deadline;
    }
    ctl_cv_.notify_all();
    queue_.close();
    bool aborted = false;
    {
        std::unique_lock lock(ctl_mu_);
        // Until the deadline on the sink's clock (a real-time wait of the time left, read again).
        for (auto now = clock_.now(); !worker_done_; now = clock_.now()) {
            if (now >= deadline_) {
                abort_.store(true);
                aborted = true;
                break;
            }
            (void)ctl_cv_.wait_for(
                lock, clock_.real_wait(deadline_ - now), [this] { return worker_done_; });
        }
    }
    if (aborted) {
        ctl_cv_.notify_all();
        transport_->wakeup();
    }
    worker_.join();  // its epilogue syncs the spool
    if (syncer_.joinable()) {
        syncer_.request_stop();
        syncer_.join();
    }
}

SinkStats DeliverySink::stats() const {
    SinkStats s;
    s.generated = generated_.load(std::memory_order_relaxed);
    s.delivered = delivered_.load(std::memory_order_relaxed);
    s.retried = retried_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.spooled = spooled_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.spool_enabled = spool_ != nullptr;
    s.spool_pending = spool_pending_.load(std::memory_order_relaxed);
    s.spool_bytes = spool_bytes_.load(std::memory_order_relaxed);
    s.backlogged = backlogged_.load(std::memory_order_relaxed);
    s.spool_max_bytes = cfg_.spool_max_bytes;
    s.latency = latency_.counts();
    const auto q = queue_.stats();
    s.queue_depth = q.depth;
    s.queue_max_depth = q.max_depth;
    return s;
}

SendResult DeliverySink::send_once(const AlertMessage& message) {
    const std::atomic<bool> never{false};
    return transport_->send(format_(message), never);
}

bool DeliverySink::is_stopping() const {
    const std::scoped_lock lock(ctl_mu_);
    return stopping_;
}

bool DeliverySink::past_deadline() const {
    const std::scoped_lock lock(ctl_mu_);
    return stopping_ && clock_.now() >= deadline_;
}

void DeliverySink::note_spool() {
    if (spool_) {
        spool_pending_.store(spool_->pending(), std::memory_order_relaxed);
        spool_bytes_.store(spool_->bytes(), std::memory_order_relaxed);
    }
}

void DeliverySink::run() noexcept {
    util::name_this_thread("adock-deliver");
    try {
        if (spool_) {
            run_spooled();
        } else {
            run_in_memory();
        }
    } catch (const std::exception& e) {
        log::error("output '" + cfg_.name + "': worker stopped: " + e.what());
    } catch (...) {
        log::error("output '" + cfg_.name + "': worker stopped by an unknown error");
    }
    if (spool_) {
        spool_->release_reader(this);
        spool_->sync();
        note_spool();
        if (!spool_->empty()) {
            log::info("output '" + cfg_.name + "': " + std::to_string(spool_->pending()) +
                      " alert(s) left in the spool " + spool_->dir() + " for the next start");
        }
    }
    {
        const std::scoped_lock lock(ctl_mu_);
        worker_done_ = true;
    }
    ctl_cv_.notify_all();
}

void DeliverySink::run_spooled() {
    while (true) {
        const bool stopping = is_stopping();
        // Stopping: deliver while the endpoint works, until the deadline; once it fails (or when
        // it was failing already) what is queued goes on disk and waits for the next start.
        if (abort_.load() ||
            (stopping && (past_deadline() || backlogged_.load(std::memory_order_relaxed)))) {
            absorb(std::nullopt);
            break;
        }
        absorb(std::nullopt);
        if (!spool_->empty() && clock_.now() >= next_spool_try_) {
            try {
                if (try_spool_head()) {
                    continue;
                }
            } catch (const std::exception& e) {
                log::error("output '" + cfg_.name + "': spool: " + e.what());
                next_spool_try_ = clock_.now() + backoff(spool_attempt_++);
            }
        }
        if (stopping && queue_.closed() && queue_.stats().depth == 0 && spool_->empty()) {
            break;
        }
        auto wait = kIdleWait;
        if (!spool_->empty()) {
            const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
                next_spool_try_ - clock_.now());
            wait = std::clamp(until, std::chrono::milliseconds(0), kIdleWait);
        }
        if (queue_.closed()) {
            if (!stopping) {
                // stop() closed the queue after this turn read is_stopping(): decide again
                // knowing it, rather than sleep a whole wait first (on a clock that does not
                // move, forever).
                continue;
            }
            // Nothing more can arrive: wait for the next try of the head; a deadline or an abort
            // ends the wait early and is handled at the top.
            (void)sleep_until(clock_.now() + wait);
            continue;
        }
        if (std::optional<AlertMessage> message = queue_.pop_for(
                std::chrono::duration_cast<std::chrono::milliseconds>(clock_.real_wait(wait)))) {
            absorb(std::move(message));
        }
    }
}

void DeliverySink::run_in_memory() {
    while (true) {
        const bool stopping = is_stopping();
        std::optional<AlertMessage> message = queue_.pop_for(kIdleWait);
        if (!message) {
            if (queue_.closed()) {
                break;
            }
            continue;
        }
        try {
            handle(*message, stopping);
        } catch (const std::exception& e) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log::error("output '" + cfg_.name + "': " + e.what());
        } catch (...) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log::error("output '" + cfg_.name + "': unknown error while sending");
        }
    }
}

void DeliverySink::run_syncer(const std::stop_token& stop) noexcept {
    util::name_this_thread("adock-sync");
    std::unique_lock lock(syncer_mu_);
    while (!stop.stop_requested()) {
        (void)syncer_cv_.wait_for(lock, stop, kSyncInterval, [] { return false; });
        if (spool_dirty_.exchange(false)) {
            lock.unlock();
            spool_->sync();
            lock.lock();
        }
    }
}

void DeliverySink::absorb(std::optional<AlertMessage> first) {
    std::vector<std::string> batch;
    std::vector<std::int64_t> times;
    auto add = [&](const AlertMessage& m) {
        try {
            batch.push_back(format_(m));  // on this worker, not the engine
            times.push_back(m.alert ? m.alert->time_ms : 0);
        } catch (const std::exception& e) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log_drop(std::string("cannot format: ") + e.what());
        }
    };
    if (first) {
        add(*first);
        // While the endpoint is failing, let a burst gather: one write and one wake-up for many
        // alerts rather than one per alert (they wait for the endpoint anyway). Cut short by
        // stop().
        if (backlogged_.load(std::memory_order_relaxed) && queue_.stats().depth < kSpoolBatch) {
            (void)sleep_until(clock_.now() + kSpoolGather);
        }
    }
    while (batch.size() < kSpoolBatch) {
        auto more = queue_.pop_for(std::chrono::milliseconds(0));
        if (!more) {
            break;
        }
        add(*more);
    }
    if (batch.empty()) {
        return;
    }
    const bool was_empty = spool_->empty();
    const std::size_t kept = spool_->append_many(batch);
    spooled_.fetch_add(kept, std::memory_order_relaxed);
    spool_times_.insert(
        spool_times_.end(), times.begin(), times.begin() + static_cast<std::ptrdiff_t>(kept));
    if (kept > 0) {
        spool_dirty_.store(true);
    }
    note_spool();
    if (kept == batch.size()) {
        return;
    }
    if (was_empty && kept == 0) {
        // The spool cannot take them (disk full, unwritable, larger than its bound) and holds
        // nothing older: deliver in memory rather than lose them; the order is kept.
        unsigned long long held = 0;
        if (spool_log_.allow(held)) {
            log::warning(
                "output '" + cfg_.name + "': cannot write to the spool " + spool_->dir() +
                "; delivering from memory (lost if the plugin stops before it is delivered)");
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            deliver_live(batch[i], times[i]);
        }
        return;
    }
    dropped_.fetch_add(batch.size() - kept, std::memory_order_relaxed);
    log_drop("queued behind the spool; spool full or unwritable (" +
             std::to_string(spool_->bytes()) + " bytes)");
}

void DeliverySink::handle(const AlertMessage& message, bool stopping) {
    const std::string payload = format_(message);  // on this worker, not the engine
    if (abort_.load() || (stopping && past_deadline())) {
        spill(payload, "shutdown deadline passed", message.alert ? message.alert->time_ms : 0);
        return;
    }
    deliver_live(payload, message.alert ? message.alert->time_ms : 0);
}

std::chrono::milliseconds DeliverySink::retry_wait(unsigned attempt, const SendResult& r) {
    std::chrono::milliseconds wait = backoff(attempt);
    if (r.retry_after) {
        wait = std::min(std::max(wait, *r.retry_after),
                        std::chrono::milliseconds(cfg_.backoff_max_ms));
    }
    return wait;
}

void DeliverySink::observe_latency(std::int64_t time_ms) {
    if (time_ms != 0) {
        latency_.observe_between_ms(time_ms, wall_ms());
    }
}

std::int64_t DeliverySink::take_head_time() {
    if (unknown_ahead_ > 0) {
        --unknown_ahead_;
        return 0;
    }
    if (spool_times_.empty()) {
        return 0;
    }
    const std::int64_t t = spool_times_.front();
    spool_times_.pop_front();
    return t;
}

void DeliverySink::deliver_live(const std::string& payload, std::int64_t time_ms) {
    for (unsigned attempt = 0;; ++attempt) {
        if (attempt > 0) {
            retried_.fetch_add(1, std::memory_order_relaxed);
        }
        const SendResult r = transport_->send(payload, abort_);
        if (r.kind == SendResult::Kind::Delivered) {
            delivered_.fetch_add(1, std::memory_order_relaxed);
            observe_latency(time_ms);
            return;
        }
        failed_.fetch_add(1, std::memory_order_relaxed);
        std::string why = r.detail + " after " + std::to_string(attempt + 1) + " attempt(s)";
        if (r.kind == SendResult::Kind::Permanent) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log_drop(why + ", refused: not retried");
            return;
        }
        if (r.kind == SendResult::Kind::Aborted) {
            spill(payload, why, time_ms);
            return;
        }
        if (attempt >= cfg_.retries) {
            spill(payload, why, time_ms);
            spool_attempt_ = attempt;
            next_spool_try_ = clock_.now() + retry_wait(attempt, r);
            return;
        }
        const auto wake = clock_.now() + retry_wait(attempt, r);
        bool slept = true;
        while (slept && clock_.now() < wake) {
            // Alerts keep coming while this one waits: rather than let the queue overflow,
            // keep this one in the spool; the spool's own retries take over from here.
            if (spool_ && queue_.stats().depth * 2 >= cfg_.queue_size) {
                spill(payload, why + ", queue filling up", time_ms);
                spool_attempt_ = attempt + 1;
                next_spool_try_ = wake;
                return;
            }
            slept = sleep_until(std::min(wake, clock_.now() + kSleepSlice));
        }
        if (!slept) {
            spill(payload, why + ", shutdown deadline passed", time_ms);
            return;
        }
    }
}

bool DeliverySink::try_spool_head() {
    if (!spool_->acquire_reader(this)) {  // the output this one replaces is still draining it
        next_spool_try_ = clock_.now() + std::chrono::milliseconds(cfg_.backoff_initial_ms);
        return false;
    }
    if (!spool_times_aligned_) {
        // What is ahead of this sink's own records was left by a previous run or a predecessor;
        // a predecessor still draining after a reload may have delivered some of ours already.
        spool_times_aligned_ = true;
        const std::uint64_t pending = spool_->pending();
        if (pending >= spool_times_.size()) {
            unknown_ahead_ = pending - spool_times_.size();
        } else {
            spool_times_.erase(
                spool_times_.begin(),
                spool_times_.begin() + static_cast<std::ptrdiff_t>(spool_times_.size() - pending));
        }
    }
    const std::optional<std::string> head = spool_->front();
    note_spool();
    if (!head) {
        return false;
    }
    const SendResult r = transport_->send(*head, abort_);
    if (spool_attempt_ > 0) {
        retried_.fetch_add(1, std::memory_order_relaxed);
    }
    if (r.kind == SendResult::Kind::Delivered) {
        delivered_.fetch_add(1, std::memory_order_relaxed);
        observe_latency(take_head_time());
        spool_->pop();
        note_spool();
        spool_attempt_ = 0;
        if (backlogged_.exchange(false, std::memory_order_relaxed)) {
            log::info("output '" + cfg_.name + "': " + transport_->target() + " recovered; " +
                      std::to_string(spool_->pending()) + " alert(s) left in the spool");
        }
        return true;
    }
    if (r.kind == SendResult::Kind::Aborted) {
        return false;  // shutdown: the record stays on disk for the next start
    }
    failed_.fetch_add(1, std::memory_order_relaxed);
    if (r.kind == SendResult::Kind::Permanent) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        log_drop(r.detail + " for a spooled alert, refused: not retried");
        (void)take_head_time();
        spool_->pop();
        note_spool();
        return true;
    }
    if (!backlogged_.exchange(true, std::memory_order_relaxed)) {
        unsigned long long held = 0;
        if (spool_log_.allow(held)) {
            log::warning("output '" + cfg_.name + "': cannot deliver to " + transport_->target() +
                         " (" + r.detail + "); alerts wait in the spool " + spool_->dir());
        }
    }
    next_spool_try_ = clock_.now() + retry_wait(spool_attempt_, r);
    ++spool_attempt_;
    return false;
}

void DeliverySink::spill(const std::string& payload, const std::string& why, std::int64_t time_ms) {
    if (!spool_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        log_drop(why);
        return;
    }
    const bool first = spool_->empty();
    switch (spool_->append(payload)) {
        case Spool::Append::Ok: {
            spooled_.fetch_add(1, std::memory_order_relaxed);
            spool_times_.push_back(time_ms);
            note_spool();
            unsigned long long held = 0;
            if (first && spool_log_.allow(held)) {
                log::warning("output '" + cfg_.name + "': cannot deliver to " +
                             transport_->target() + " (" + why + "); spooling to " + spool_->dir());
            }
            return;
        }
        case Spool::Append::Full:
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log_drop(why + "; spool full (" + std::to_string(spool_->bytes()) + " bytes)");
            return;
        case Spool::Append::Error:
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log_drop(why + "; spool write failed");
            return;
    }
}

std::chrono::milliseconds DeliverySink::backoff(unsigned attempt) {
    // Capped exponential backoff with "equal jitter": a random wait in [base/2, base].
    std::uint64_t base = cfg_.backoff_initial_ms;
    for (unsigned i = 0; i < attempt && base < cfg_.backoff_max_ms; ++i) {
        base *= 2;
    }
    base = std::min<std::uint64_t>(base, cfg_.backoff_max_ms);
    const std::uint64_t half = base / 2;
    std::uniform_int_distribution<std::uint64_t> jitter(0, base - half);
    return std::chrono::milliseconds(
        static_cast<std::chrono::milliseconds::rep>(half + jitter(rng_)));
}

bool DeliverySink::sleep_until(Clock::time_point wake) {
    std::unique_lock lock(ctl_mu_);
    while (true) {
        if (abort_.load()) {
            return false;
        }
        const bool stopping = stopping_;
        const auto now = clock_.now();
        if (stopping && now >= deadline_) {
            return false;
        }
        if (now >= wake) {
            return true;
        }
        const Clock::time_point limit = stopping ? std::min(wake, deadline_) : wake;
        // Wakes early when stop() is called (the deadline may come before `wake`) or aborts.
        ctl_cv_.wait_for(lock, clock_.real_wait(limit - now), [&] {
            return abort_.load() || stopping_ != stopping;
        });
    }
}

void DeliverySink::log_drop(const std::string& why) {
    unsigned long long held = 0;
    if (drop_log_.allow(held)) {
        std::string line = "output '" + cfg_.name + "': alert dropped (" + transport_->target() +
                           ": " + why + "); " + std::to_string(dropped_.load()) + " dropped so far";
        if (held > 0) {
            line += ", " + std::to_string(held) + " similar messages suppressed";
        }
        log::warning(line);
    }
}

}  // namespace adock::outputs
