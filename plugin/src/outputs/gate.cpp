// SPDX-License-Identifier: Apache-2.0
#include "outputs/gate.hpp"

#include <algorithm>
#include <memory>

#include "util/glob.hpp"
#include "util/log.hpp"

namespace adock::outputs {
namespace {

bool any_glob(const std::vector<std::string>& patterns, const std::string& s) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
        return util::glob_matches(p, s);
    });
}

bool any_tag(const std::vector<std::string>& patterns, const Alert& a) {
    return std::any_of(
        a.tags.begin(), a.tags.end(), [&](const std::string& t) { return any_glob(patterns, t); });
}

}  // namespace

std::string incident_identity(const Alert& a) {
    std::string k = a.rule_id;
    k += '\n';
    k += a.host;
    k += '\n';
    k += a.container ? a.container->id : std::string("host");
    k += '\n';
    k += a.process.exe;
    return k;
}

Gate::Gate(const config::OutputConfig& cfg, std::size_t max_incidents)
    : name_(cfg.name),
      min_severity_(cfg.min_severity),
      include_rules_(cfg.include_rules),
      exclude_rules_(cfg.exclude_rules),
      include_tags_(cfg.include_tags),
      exclude_tags_(cfg.exclude_tags),
      window_(cfg.dedup_window_s),
      max_incidents_(max_incidents),
      rate_limit_(cfg.rate_limit),
      rate_window_(cfg.rate_window_s) {}

bool Gate::routed(const Alert& a) const {
    if (!admits(a.severity)) {
        return false;
    }
    if (!include_rules_.empty() && !any_glob(include_rules_, a.rule_id)) {
        return false;
    }
    if (any_glob(exclude_rules_, a.rule_id)) {
        return false;
    }
    if (!include_tags_.empty() && !any_tag(include_tags_, a)) {
        return false;
    }
    return !any_tag(exclude_tags_, a);
}

Gate::Verdict Gate::offer(const AlertMessage& m, Clock::time_point now) {
    const std::scoped_lock lock(mu_);
    if (!m.alert || !routed(*m.alert)) {
        ++counters_.filtered;
        return Verdict::Filtered;
    }
    if (window_.count() > 0) {
        std::string key = incident_identity(*m.alert);
        const auto it = incidents_.find(key);
        if (it != incidents_.end() && now < it->second.until) {
            ++it->second.repeats;
            it->second.last = m;
            ++counters_.folded;
            return Verdict::Folded;
        }
        if (it != incidents_.end()) {  // its window ended before due() came by
            if (it->second.repeats > 0 && it->second.last.alert) {
                ready_.push_back(summary_of(it->second));
            }
            incidents_.erase(it);
        }
        if (incidents_.size() < max_incidents_) {  // beyond the bound: not folded, never lost
            incidents_.emplace(std::move(key), Incident{now + window_, 0, AlertMessage{}});
        }
    }
    if (rate_limit_ > 0) {
        if (rate_count_ == 0 || now - rate_start_ >= rate_window_) {
            if (rate_held_ > 0) {
                log::warning("output '" + name_ + "': rate limit: " + std::to_string(rate_held_) +
                             " alert(s) held back in " + std::to_string(rate_window_.count()) +
                             " s (other outputs still have them)");
            }
            rate_start_ = now;
            rate_count_ = 0;
            rate_held_ = 0;
        }
        if (rate_count_ >= rate_limit_) {
            ++rate_held_;
            ++counters_.rate_limited;
            return Verdict::RateLimited;
        }
        ++rate_count_;
    }
    return Verdict::Pass;
}

AlertMessage Gate::summary_of(const Incident& incident) const {
    Alert a = *incident.last.alert;
    a.repeats = incident.repeats;
    a.summary += " (repeated " + std::to_string(incident.repeats) + " more time" +
                 (incident.repeats == 1 ? "" : "s") + " within " + std::to_string(window_.count()) +
                 " s)";
    return AlertMessage::of(std::move(a));
}

std::vector<AlertMessage> Gate::due(Clock::time_point now) {
    const std::scoped_lock lock(mu_);
    std::vector<AlertMessage> out;
    out.swap(ready_);
    for (auto it = incidents_.begin(); it != incidents_.end();) {
        if (now < it->second.until) {
            ++it;
            continue;
        }
        if (it->second.repeats > 0 && it->second.last.alert) {
            out.push_back(summary_of(it->second));
        }
        it = incidents_.erase(it);
    }
    return out;
}

void Gate::adopt(Gate& old) {
    if (&old == this) {
        return;
    }
    const std::scoped_lock lock(mu_, old.mu_);
    for (auto& m : old.ready_) {
        ready_.push_back(std::move(m));
    }
    old.ready_.clear();
    for (auto& [key, incident] : old.incidents_) {
        if (window_.count() > 0 && incidents_.size() < max_incidents_ &&
            !incidents_.contains(key)) {
            incidents_.emplace(key, std::move(incident));
        } else if (incident.repeats > 0 && incident.last.alert) {
            ready_.push_back(old.summary_of(incident));  // told now rather than lost
        }
    }
    old.incidents_.clear();
}

Gate::Counters Gate::counters() const {
    const std::scoped_lock lock(mu_);
    return counters_;
}

}  // namespace adock::outputs
