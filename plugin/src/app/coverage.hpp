// SPDX-License-Identifier: Apache-2.0
// audit_coverage_degraded: events lost before the rules saw them. The kernel's `lost` counter
// grew or its backlog reached the limit, auditd's queue to its plugins overflowed, or the
// plugin itself dropped input. Decided on the health thread from periodic samples, never per
// event; reported at most once per kRepeat, with what accumulated meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "alert/alert.hpp"
#include "app/metrics.hpp"

namespace adock::app {

struct CoverageSample {
    std::optional<KernelAuditStatus> kernel;  ///< nullopt: not queried, or the query failed
    std::optional<AuditdQueueState> auditd;   ///< nullopt: no fresh state report
    std::uint64_t plugin_dropped_lines = 0;   ///< the reader's counted drops since start
    std::uint64_t plugin_dropped_batches = 0;
};

class CoverageWatch {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::minutes kRepeat{10};

    explicit CoverageWatch(std::chrono::steady_clock::duration repeat = kRepeat)
        : repeat_(repeat) {}

    /// Takes one sample; returns the alert (rule, severity, summary, figures; host and time
    /// are the caller's) when coverage degraded and the last report is at least `repeat` ago.
    [[nodiscard]] std::optional<Alert> observe(const CoverageSample& s, Clock::time_point now);

private:
    [[nodiscard]] bool pending() const {
        return lost_ > 0 || backlog_full_ || auditd_overflow_ || auditd_suspended_ ||
               dropped_lines_ > 0 || dropped_batches_ > 0;
    }

    Alert report();

    Clock::duration repeat_;
    std::optional<Clock::time_point> last_report_;
    // Baselines: the last figures seen.
    std::optional<std::uint32_t> last_lost_;
    bool auditd_overflow_seen_ = false;
    bool auditd_suspended_seen_ = false;
    std::uint64_t last_dropped_lines_ = 0;
    std::uint64_t last_dropped_batches_ = 0;
    // What accumulated since the last report.
    std::uint64_t lost_ = 0;
    bool backlog_full_ = false;
    std::uint32_t max_backlog_ = 0;
    bool auditd_overflow_ = false;
    bool auditd_suspended_ = false;
    std::uint64_t dropped_lines_ = 0;
    std::uint64_t dropped_batches_ = 0;
    // The latest figures, for the report.
    std::optional<KernelAuditStatus> kernel_;
    std::optional<AuditdQueueState> auditd_;
};

}  // namespace adock::app
