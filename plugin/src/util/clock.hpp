// SPDX-License-Identifier: Apache-2.0
// The steady time the plugin's decisions read (is a window over, is a retry due, has a name
// wait expired, may a log line go out), behind an interface so that tests set it instead of
// sleeping. Production uses real_clock(); a test hands a ManualClock to what it builds.
#pragma once

#include <atomic>
#include <chrono>

namespace adock::util {

/// A source of steady time. Implementations are thread-safe: sinks read it on their threads.
class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    Clock() = default;
    Clock(const Clock&) = delete;
    Clock& operator=(const Clock&) = delete;
    Clock(Clock&&) = delete;
    Clock& operator=(Clock&&) = delete;
    virtual ~Clock() = default;

    [[nodiscard]] virtual time_point now() const = 0;

    /// How long a thread waiting for a time on this clock may block (in real time) before it
    /// reads the clock again: unbounded for the real clock, short for one a test moves.
    [[nodiscard]] virtual duration recheck_after() const { return duration::max(); }

    /// `wait` on this clock as a real-time wait: `wait`, capped at recheck_after().
    [[nodiscard]] duration real_wait(duration wait) const {
        return wait < recheck_after() ? wait : recheck_after();
    }
};

/// std::chrono::steady_clock.
class SteadyClock final : public Clock {
public:
    [[nodiscard]] time_point now() const override { return std::chrono::steady_clock::now(); }
};

/// The process-wide real clock, the default wherever a Clock is taken.
[[nodiscard]] inline const Clock& real_clock() {
    static const SteadyClock clock;
    return clock;
}

/// A clock that moves only when told (tests). It starts a year after the steady clock's epoch,
/// so that a default time_point{} ("never", "long ago") stays long ago, as it is on a real host.
class ManualClock final : public Clock {
public:
    static constexpr time_point kStart{std::chrono::hours(24 * 365)};

    explicit ManualClock(time_point start = kStart) : ns_(start.time_since_epoch().count()) {}

    [[nodiscard]] time_point now() const override { return time_point(duration(ns_.load())); }

    /// Threads waiting on it look again this often, so they see set() and advance() promptly.
    [[nodiscard]] duration recheck_after() const override { return std::chrono::milliseconds(1); }

    void set(time_point t) { ns_.store(t.time_since_epoch().count()); }

    void advance(duration d) { ns_.fetch_add(d.count()); }

private:
    std::atomic<duration::rep> ns_;  ///< now(), since the steady clock's epoch
};

}  // namespace adock::util
