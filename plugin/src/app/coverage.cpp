// SPDX-License-Identifier: Apache-2.0
#include "app/coverage.hpp"

#include <algorithm>

namespace adock::app {

std::optional<Alert> CoverageWatch::observe(const CoverageSample& s, Clock::time_point now) {
    if (s.kernel) {
        const auto& k = *s.kernel;
        // The first sample is the baseline: events lost since boot (often during boot, before
        // the rules set -b) are not news. A smaller value is a reset (auditctl --reset-lost).
        if (last_lost_ && k.lost > *last_lost_) {
            lost_ += k.lost - *last_lost_;
        }
        last_lost_ = k.lost;
        if (k.backlog_limit > 0 && k.backlog >= k.backlog_limit) {
            backlog_full_ = true;
            max_backlog_ = std::max(max_backlog_, k.backlog);
        }
        kernel_ = k;
    }
    if (s.auditd) {
        // auditd's flag stays set once its queue overflowed: reported when it turns on.
        if (s.auditd->overflow && !auditd_overflow_seen_) {
            auditd_overflow_ = true;
        }
        if (s.auditd->suspended && !auditd_suspended_seen_) {
            auditd_suspended_ = true;
        }
        auditd_overflow_seen_ = s.auditd->overflow;
        auditd_suspended_seen_ = s.auditd->suspended;
        auditd_ = s.auditd;
    }
    if (s.plugin_dropped_lines > last_dropped_lines_) {
        dropped_lines_ += s.plugin_dropped_lines - last_dropped_lines_;
    }
    if (s.plugin_dropped_batches > last_dropped_batches_) {
        dropped_batches_ += s.plugin_dropped_batches - last_dropped_batches_;
    }
    last_dropped_lines_ = s.plugin_dropped_lines;
    last_dropped_batches_ = s.plugin_dropped_batches;
    if (!pending() || (last_report_ && now - *last_report_ < repeat_)) {
        return std::nullopt;
    }
    last_report_ = now;
    return report();
}

Alert CoverageWatch::report() {
    Alert a;
    a.rule_id = "audit_coverage_degraded";
    a.severity = Severity::High;
    a.mitre = {"T1562.012"};  // Impair Defenses: Disable or Modify Linux Audit System
    a.tags = {"audisp-docker", "self-monitoring", "audit_coverage"};
    std::string why;
    auto add = [&why](const std::string& part) {
        why += why.empty() ? "" : "; ";
        why += part;
    };
    if (lost_ > 0) {
        add("the kernel lost " + std::to_string(lost_) + " audit event(s) (lost " +
            std::to_string(kernel_->lost) + " since boot)");
    }
    if (backlog_full_) {
        add("the kernel's audit backlog reached its limit (" + std::to_string(max_backlog_) +
            " of " + std::to_string(kernel_->backlog_limit) + ")");
    }
    if (auditd_overflow_) {
        add("auditd's queue to its plugins overflowed (" + std::to_string(auditd_->max_depth) +
            " of " + std::to_string(auditd_->size) +
            " used): events were not passed to the plugins");
    }
    if (auditd_suspended_) {
        add("auditd suspended passing events to its plugins (overflow_action = suspend)");
    }
    if (dropped_lines_ > 0 || dropped_batches_ > 0) {
        add("audisp-docker dropped " + std::to_string(dropped_lines_) + " input line(s) in " +
            std::to_string(dropped_batches_) + " batch(es): its engine fell behind");
    }
    a.summary = "audit coverage degraded: " + why +
                "; events in the gap were never seen by the detection rules";
    if (kernel_) {
        a.coverage.emplace_back("kernel_lost", kernel_->lost);
        a.coverage.emplace_back("kernel_lost_new", lost_);
        a.coverage.emplace_back("kernel_backlog", backlog_full_ ? max_backlog_ : kernel_->backlog);
        a.coverage.emplace_back("kernel_backlog_limit", kernel_->backlog_limit);
    }
    if (auditd_) {
        a.coverage.emplace_back("auditd_queue_overflowed", auditd_->overflow ? 1 : 0);
        a.coverage.emplace_back("auditd_queue_max_depth", auditd_->max_depth);
        a.coverage.emplace_back("auditd_queue_size", auditd_->size);
    }
    a.coverage.emplace_back("plugin_dropped_lines", dropped_lines_);
    a.coverage.emplace_back("plugin_dropped_batches", dropped_batches_);
    a.remediation =
        "Find what floods the audit log (aureport --summary -ts recent, auditctl -s) and raise the "
        "buffers: the "
        "kernel backlog (-b in /etc/audit/rules.d, e.g. 8192 or more; -r 0 unless a rate limit is "
        "wanted), "
        "auditd's q_depth (auditd.conf), engine.input_queue_mb. A flood of audit events can be an "
        "attacker "
        "covering an action.";
    lost_ = 0;
    backlog_full_ = false;
    max_backlog_ = 0;
    auditd_overflow_ = false;
    auditd_suspended_ = false;
    dropped_lines_ = 0;
    dropped_batches_ = 0;
    return a;
}

}  // namespace adock::app
