// SPDX-License-Identifier: Apache-2.0
// Alert creation rate-limited per source (issue 11): one container, or one host user running
// one executable, cannot bury the alerts of others (or its own earlier ones) in the outputs
// and their file rotation. A token bucket per source; what it holds back is counted and
// reported in one alert per source when its window closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "alert/alert.hpp"

namespace adock::rules {

struct RateLimitStats {
    unsigned long long held = 0;       ///< alerts held back (counted in a summary)
    unsigned long long summaries = 0;  ///< summary alerts sent for them
    unsigned long long evicted = 0;    ///< sources forgotten to keep the table bounded
};

/// Token buckets per alert source, on the event's (stream) clock, with a wall-clock fallback
/// for closing windows when the stream is quiet. Engine thread only.
class AlertRateLimiter {
public:
    using Wall = std::chrono::steady_clock::time_point;

    /// At most `burst` alerts per source at once, refilled at `burst` per `window_s`; 0: off.
    AlertRateLimiter(unsigned burst, unsigned window_s, std::size_t max_sources = kMaxSources);

    void configure(unsigned burst, unsigned window_s);

    /// The source an alert counts against: the container, or on the host the user and the
    /// executable ("c:<id>\x1f<exe>" or "u:<uid>\x1f<exe>").
    [[nodiscard]] static std::string source_of(const Alert& a);

    /// True: send `a`. False: held back and counted; `a` may be kept as the summary's example
    /// (the first of the highest severity held). `now_ms`: the event's time in milliseconds.
    bool admit(const Alert& a, std::int64_t now_ms, Wall wall);

    /// Summaries of the sources whose hold window has closed by `now_ms` or `wall`.
    std::vector<Alert> due(std::int64_t now_ms, Wall wall);
    /// Summaries of every source that holds something (end of input, shutdown).
    std::vector<Alert> flush();

    [[nodiscard]] const RateLimitStats& stats() const { return stats_; }

    [[nodiscard]] std::size_t sources() const { return sources_.size(); }

    static constexpr std::size_t kMaxSources = 4096;       ///< the table of sources is bounded
    static constexpr std::size_t kMaxRulesPerSource = 64;  ///< rule ids remembered per source

private:
    struct Source {
        double tokens = 0;
        std::int64_t refilled_ms = 0;
        std::int64_t used_ms = 0;          ///< last alert, for eviction
        std::set<std::string> rules_seen;  ///< the first alert of each rule always goes out
        unsigned long long held = 0;
        std::map<std::string, unsigned long long> held_by_rule;
        std::optional<Alert> example;  ///< the first held alert of the highest severity
        std::int64_t hold_end_ms = 0;  ///< the hold window ends (stream time)
        Wall hold_end_wall{};
    };

    Alert summary_of(Source& s) const;
    void evict_one();

    unsigned burst_;
    unsigned window_s_;
    std::size_t max_sources_;
    std::unordered_map<std::string, Source> sources_;
    std::vector<Alert> ready_;  ///< summaries of evicted sources, sent by the next due()
    std::int64_t next_due_ms_ = INT64_MAX;
    RateLimitStats stats_;
};

}  // namespace adock::rules
