// SPDX-License-Identifier: Apache-2.0
// A fixed-bucket latency histogram that any thread may observe into and read, lock-free: the
// metrics file's `..._seconds` histograms (Prometheus' cumulative `le` buckets are computed
// when formatting).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace adock::util {

/// Upper bounds (seconds) of the buckets; an implicit +Inf bucket follows.
inline constexpr std::array<double, 14> kLatencyBounds{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

/// A plain copy of the counts (per bucket, not cumulative; the last one is +Inf).
struct LatencyCounts {
    std::array<std::uint64_t, kLatencyBounds.size() + 1> buckets{};
    std::uint64_t count = 0;
    std::uint64_t sum_us = 0;  ///< sum of the observations, microseconds
};

class LatencyHistogram {
public:
    /// One observation counts at most this much (100 years) in the sum.
    static constexpr std::uint64_t kMaxObservationUs = 100ULL * 365 * 24 * 3600 * 1000000;

    /// Records one latency; a negative one (clocks that disagree) counts as 0.
    void observe_us(std::int64_t us) noexcept {
        const std::uint64_t v =
            us < 0 ? 0 : std::min(static_cast<std::uint64_t>(us), kMaxObservationUs);
        std::size_t i = 0;
        while (i < kLatencyBounds.size() && static_cast<double>(v) > kLatencyBounds[i] * 1e6) {
            ++i;
        }
        buckets_[i].fetch_add(1, std::memory_order_relaxed);
        sum_us_.fetch_add(v, std::memory_order_relaxed);
        count_.fetch_add(1, std::memory_order_relaxed);
    }

    /// Records the time from `event_ms` to `now_ms` (wall clock, milliseconds since the epoch).
    /// Saturating: an event stamped in the future counts as 0, one absurdly far in the past (a
    /// crafted or replayed record's seconds) as kMaxObservationUs, so the sum stays meaningful.
    void observe_between_ms(std::int64_t event_ms, std::int64_t now_ms) noexcept {
        if (event_ms >= now_ms) {
            observe_us(0);
            return;
        }
        // now_ms > event_ms: the difference fits in 64 unsigned bits, computed without overflow.
        const std::uint64_t diff_ms =
            static_cast<std::uint64_t>(now_ms) - static_cast<std::uint64_t>(event_ms);
        const std::uint64_t cap_ms = kMaxObservationUs / 1000;
        observe_us(
            static_cast<std::int64_t>(diff_ms > cap_ms ? kMaxObservationUs : diff_ms * 1000));
    }

    [[nodiscard]] LatencyCounts counts() const noexcept {
        LatencyCounts c;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            c.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
        }
        c.sum_us = sum_us_.load(std::memory_order_relaxed);
        c.count = count_.load(std::memory_order_relaxed);
        return c;
    }

private:
    std::array<std::atomic<std::uint64_t>, kLatencyBounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_us_{0};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace adock::util
