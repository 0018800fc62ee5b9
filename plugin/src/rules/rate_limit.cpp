// SPDX-License-Identifier: Apache-2.0
#include "rules/rate_limit.hpp"

#include <algorithm>

namespace adock::rules {

AlertRateLimiter::AlertRateLimiter(unsigned burst, unsigned window_s, std::size_t max_sources)
    : burst_(burst),
      window_s_(std::max(window_s, 1U)),
      max_sources_(std::max<std::size_t>(max_sources, 1)) {}

void AlertRateLimiter::configure(unsigned burst, unsigned window_s) {
    burst_ = burst;
    window_s_ = std::max(window_s, 1U);
}

std::string AlertRateLimiter::source_of(const Alert& a) {
    std::string k;
    if (a.container) {
        k = "c:" + a.container->id;
    } else {
        k = "u:" + (a.process.uid ? std::to_string(*a.process.uid) : std::string("?"));
    }
    k += '\x1f';
    k += a.process.exe;
    return k;
}

void AlertRateLimiter::evict_one() {
    // An idle source used longest ago; when every source holds alerts, the one used longest
    // ago sends its summary now: a count is never dropped with its source.
    auto victim = sources_.end();
    for (auto j = sources_.begin(); j != sources_.end(); ++j) {
        const bool better = victim == sources_.end() ||
                            (j->second.held == 0 && victim->second.held > 0) ||
                            ((j->second.held == 0) == (victim->second.held == 0) &&
                             j->second.used_ms < victim->second.used_ms);
        if (better) {
            victim = j;
        }
    }
    if (victim == sources_.end()) {
        return;
    }
    if (victim->second.held > 0) {
        ready_.push_back(summary_of(victim->second));
        ++stats_.summaries;
    }
    ++stats_.evicted;
    sources_.erase(victim);
}

bool AlertRateLimiter::admit(const Alert& a, std::int64_t now_ms, Wall wall) {
    if (burst_ == 0) {
        return true;
    }
    std::string key = source_of(a);
    auto it = sources_.find(key);
    if (it == sources_.end()) {
        while (sources_.size() >= max_sources_) {
            evict_one();
        }
        Source s;
        s.tokens = burst_;
        s.refilled_ms = now_ms;
        it = sources_.emplace(std::move(key), std::move(s)).first;
    }
    Source& s = it->second;
    if (now_ms > s.refilled_ms) {
        const double per_ms =
            static_cast<double>(burst_) / (static_cast<double>(window_s_) * 1000.0);
        s.tokens = std::min<double>(
            burst_, s.tokens + static_cast<double>(now_ms - s.refilled_ms) * per_ms);
        s.refilled_ms = now_ms;
    }
    s.used_ms = std::max(s.used_ms, now_ms);
    const bool first_of_rule = !s.rules_seen.contains(a.rule_id);
    if (first_of_rule && s.rules_seen.size() < kMaxRulesPerSource) {
        s.rules_seen.insert(a.rule_id);
    }
    if (s.tokens >= 1.0) {
        s.tokens -= 1.0;
        return true;
    }
    if (first_of_rule) {
        return true;  // a new kind of alert from this source is never held back
    }
    if (s.held == 0) {
        s.hold_end_ms = now_ms + static_cast<std::int64_t>(window_s_) * 1000;
        s.hold_end_wall = wall + std::chrono::seconds(window_s_);
        next_due_ms_ = std::min(next_due_ms_, s.hold_end_ms);
    }
    ++s.held;
    ++stats_.held;
    ++s.held_by_rule[a.rule_id];
    if (!s.example || a.severity > s.example->severity) {
        s.example = a;
    }
    return false;
}

Alert AlertRateLimiter::summary_of(Source& s) const {
    Alert a = std::move(*s.example);
    s.example.reset();
    a.count = s.held;
    a.summary += " [rate limit: " + std::to_string(s.held) + " alert" + (s.held == 1 ? "" : "s") +
                 " from this source held back within " + std::to_string(window_s_) + " s (";
    bool first = true;
    for (const auto& [rule, n] : s.held_by_rule) {
        a.summary += (first ? "" : ", ") + rule + " " + std::to_string(n);
        first = false;
    }
    a.summary += "); this one is the first of the highest severity]";
    if (std::find(a.tags.begin(), a.tags.end(), "rate_limited") == a.tags.end()) {
        a.tags.emplace_back("rate_limited");
    }
    s.held = 0;
    s.held_by_rule.clear();
    return a;
}

std::vector<Alert> AlertRateLimiter::due(std::int64_t now_ms, Wall wall) {
    std::vector<Alert> out;
    out.swap(ready_);
    if (next_due_ms_ == INT64_MAX || (now_ms < next_due_ms_ && wall == Wall::min())) {
        return out;
    }
    next_due_ms_ = INT64_MAX;
    for (auto& [key, s] : sources_) {
        if (s.held == 0) {
            continue;
        }
        if (now_ms >= s.hold_end_ms || (wall != Wall::min() && wall >= s.hold_end_wall)) {
            out.push_back(summary_of(s));
            ++stats_.summaries;
        } else {
            next_due_ms_ = std::min(next_due_ms_, s.hold_end_ms);
        }
    }
    return out;
}

std::vector<Alert> AlertRateLimiter::flush() {
    std::vector<Alert> out;
    out.swap(ready_);
    for (auto& [key, s] : sources_) {
        if (s.held > 0) {
            out.push_back(summary_of(s));
            ++stats_.summaries;
        }
    }
    next_due_ms_ = INT64_MAX;
    return out;
}

}  // namespace adock::rules
