// SPDX-License-Identifier: Apache-2.0
// The metrics file: the state file's counters, the kernel's audit status and auditd's queue to
// plugins as Prometheus text (exposition format 0.0.4) for node_exporter's textfile collector.
// The engine thread takes a snapshot (numbers only, no I/O); the health thread formats and
// writes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/messages.hpp"
#include "audit/framer.hpp"
#include "audit/parser.hpp"
#include "integrity/monitor.hpp"
#include "outputs/dispatcher.hpp"
#include "proc/process_table.hpp"
#include "proc/root_probe.hpp"
#include "rules/engine_stats.hpp"
#include "rules/initiator.hpp"

namespace adock::app {

/// The kernel's audit status (AUDIT_GET, what `auditctl -s` prints).
struct KernelAuditStatus {
    std::uint32_t enabled = 0;        ///< 0 off, 1 on, 2 locked (-e 2)
    std::uint32_t failure = 0;        ///< -f: 0 silent, 1 printk, 2 panic
    std::uint32_t pid = 0;            ///< the audit daemon's pid (0: none)
    std::uint32_t rate_limit = 0;     ///< -r, messages per second (0: none)
    std::uint32_t backlog_limit = 0;  ///< -b
    std::uint32_t lost = 0;           ///< events the kernel dropped since boot (or the last reset)
    std::uint32_t backlog = 0;        ///< events waiting for the audit daemon now
};

/// auditd's queue to its plugins, from its state report (auditd 3.x: SIGCONT writes
/// /var/run/auditd.state).
struct AuditdQueueState {
    std::uint64_t depth = 0;      ///< "current plugin queue depth"
    std::uint64_t max_depth = 0;  ///< "max plugin queue depth used"
    std::uint64_t size = 0;       ///< "plugin queue size" (auditd.conf q_depth)
    bool overflow = false;        ///< "plugin queue overflow detected": events were dropped
    bool suspended = false;       ///< "plugin queueing suspended" (overflow_action = suspend)
};

/// Parses auditd's state report; nullopt when it holds none of the plugin queue lines.
[[nodiscard]] std::optional<AuditdQueueState> parse_auditd_state(std::string_view text);

/// The reader's counters (ReaderStats) as plain numbers.
struct InputCounts {
    unsigned long long bytes = 0;
    unsigned long long reads = 0;
    unsigned long long batches = 0;
    unsigned long long waits = 0;
    unsigned long long dropped_chunks = 0;  ///< refused by a full queue (auditd never stalled)
    unsigned long long dropped_lines = 0;
    unsigned long long pipe_bytes = 0;
};

/// Everything the state file, the status line and the metrics file report, copied at one moment
/// on the engine thread: each component's own counters as it keeps them, so a counter a
/// component adds is here without a copy of its own (numbers only, no I/O).
struct MetricsSnapshot {
    InputCounts input;
    MessageQueue::Stats queue;  ///< the input queue to the engine
    audit::FramerStats framer;
    audit::ParserStats parser;
    std::uint64_t rules = 0;  ///< rules loaded
    rules::EngineStats engine;
    std::uint64_t engine_errors = 0;  ///< messages or ticks that threw (logged, then skipped)
    rules::ImageDiffStats image_diffs;
    proc::RootProbe::Stats root_probes;
    rules::InitiatorStats initiator;
    std::uint64_t initiator_pending = 0;        ///< requests waiting now
    std::uint64_t initiator_pending_bytes = 0;  ///< their bytes (the bound's measure)
    proc::ProcessTableStats processes;
    std::uint64_t processes_capacity = 0;
    std::optional<integrity::IntegrityStats> integrity;  ///< nullopt: off, or a replay
    // Outputs and the plugin's own alerts.
    std::vector<outputs::NamedStats> outputs;
    std::uint64_t plugin_degraded_alerts = 0;
    // Filled in by the health thread (nullopt: not queried or unavailable).
    std::uint64_t coverage_alerts = 0;
    std::optional<KernelAuditStatus> kernel;
    std::optional<AuditdQueueState> auditd;
    std::uint64_t kernel_status_errors = 0;
    double start_time_seconds = 0;  ///< the plugin's start, seconds since the epoch
};

/// The state file's JSON (SIGUSR1, the status log line, the last line at the end of input): the
/// engine side of `m` (not what the health thread fills in).
[[nodiscard]] std::string state_json(const MetricsSnapshot& m);

/// The Prometheus text exposition of `m`: every family with HELP and TYPE, counters `_total`,
/// label values escaped, one `output` label per output.
[[nodiscard]] std::string format_prometheus(const MetricsSnapshot& m);

}  // namespace adock::app
