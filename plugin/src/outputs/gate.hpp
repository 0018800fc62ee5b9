// SPDX-License-Identifier: Apache-2.0
// What one output lets through: minimum severity, routing by rule id and tags, a dedup window
// that folds repeats of one incident into a later "repeated N times" message, and a rate limit.
// Runs on the dispatching thread; bounded (a fixed number of incidents is tracked at once).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "outputs/sink.hpp"

namespace adock::outputs {

/// rule + host + container + executable: what makes two alerts the same incident.
[[nodiscard]] std::string incident_identity(const Alert& a);

class Gate {
public:
    using Clock = std::chrono::steady_clock;
    enum class Verdict { Pass, Filtered, Folded, RateLimited };

    explicit Gate(const config::OutputConfig& cfg, std::size_t max_incidents = 4096);

    [[nodiscard]] Verdict offer(const AlertMessage& m, Clock::time_point now);

    /// The output's min_severity lets `s` through: the one severity filter, for the alerts
    /// offered here and for the plugin's own (plugin_degraded), which bypass routing. The sinks
    /// themselves write whatever they are given (--test-output sends an info sample to any).
    [[nodiscard]] bool admits(Severity s) const { return s >= min_severity_; }

    /// Fold summaries whose window has ended: the last repeat, with `repeats` set.
    [[nodiscard]] std::vector<AlertMessage> due(Clock::time_point now);
    /// A reload: takes over `old`'s open incidents and unsent summaries (the same output in the
    /// previous configuration), so "repeated N times" survives it. Without a dedup window here,
    /// the folded repeats become summaries at once.
    void adopt(Gate& old);

    /// What the gate held back on purpose (not losses).
    struct Counters {
        unsigned long long filtered = 0;      ///< severity or routing
        unsigned long long folded = 0;        ///< repeats inside a dedup window
        unsigned long long rate_limited = 0;  ///< over the rate limit
    };

    [[nodiscard]] Counters counters() const;

private:
    struct Incident {
        Clock::time_point until;
        unsigned long long repeats = 0;
        AlertMessage last;
    };

    [[nodiscard]] bool routed(const Alert& a) const;
    [[nodiscard]] AlertMessage summary_of(const Incident& incident) const;

    std::string name_;
    Severity min_severity_;
    std::vector<std::string> include_rules_;
    std::vector<std::string> exclude_rules_;
    std::vector<std::string> include_tags_;
    std::vector<std::string> exclude_tags_;
    std::chrono::seconds window_;
    std::size_t max_incidents_;
    unsigned rate_limit_;
    std::chrono::seconds rate_window_;

    mutable std::mutex mu_;
    std::unordered_map<std::string, Incident> incidents_;
    std::vector<AlertMessage> ready_;  ///< summaries of windows that ended between two due()
    Clock::time_point rate_start_{};
    unsigned rate_count_ = 0;
    unsigned long long rate_held_ = 0;  ///< in the current window
    Counters counters_;
};

}  // namespace adock::outputs
