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

#include "outputs/dispatcher.hpp"

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

/// Everything the metrics file reports, copied at one moment.
struct MetricsSnapshot {
    // Input (reader and the queue to the engine).
    std::uint64_t input_bytes = 0;
    std::uint64_t input_dropped_batches = 0;  ///< refused by a full queue (auditd never stalled)
    std::uint64_t input_dropped_lines = 0;
    std::uint64_t input_queue_bytes = 0;
    std::uint64_t input_queue_capacity_bytes = 0;
    std::uint64_t input_queue_max_bytes = 0;
    std::uint64_t input_reads = 0;
    std::uint64_t input_batches = 0;
    // Parsing.
    std::uint64_t records = 0;
    std::uint64_t malformed_records = 0;
    std::uint64_t nul_bytes = 0;
    std::uint64_t skipped_records = 0;
    std::uint64_t oversize_records = 0;
    std::uint64_t proctitles_skipped = 0;
    std::uint64_t enriched_bytes_cut = 0;
    std::uint64_t events_by_eoe = 0;
    std::uint64_t events_by_age = 0;
    std::uint64_t events_by_pressure = 0;
    std::uint64_t pending_events = 0;
    std::uint64_t feed_errors = 0;
    std::uint64_t field_errors = 0;
    // Engine.
    std::uint64_t rules = 0;
    std::uint64_t exec_events = 0;
    std::uint64_t rule_tests = 0;
    std::uint64_t content_checks = 0;
    std::uint64_t content_skipped = 0;
    std::uint64_t rate_summaries = 0;
    std::uint64_t runtime_clones = 0;
    std::uint64_t names_waited = 0;
    std::uint64_t identity_matches = 0;
    std::uint64_t spec_waits = 0;
    std::uint64_t spec_wait_dropped = 0;
    std::uint64_t spec_unanswered = 0;
    std::uint64_t roots_probed = 0;
    std::uint64_t root_probes_failed = 0;
    std::uint64_t root_probes_dropped = 0;
    std::uint64_t root_probe_waits_timed_out = 0;
    std::uint64_t root_identities = 0;
    std::uint64_t rule_matches = 0;
    std::uint64_t suppressed = 0;
    std::uint64_t aggregated = 0;
    std::uint64_t rate_limited = 0;
    std::uint64_t attributed_container = 0;
    std::uint64_t attributed_host = 0;
    std::uint64_t attributed_unknown = 0;
    std::uint64_t engine_errors = 0;
    // Initiator correlation (issue 15: rules/initiator.hpp).
    std::uint64_t initiator_requests = 0;       ///< client requests noted
    std::uint64_t initiator_matched = 0;        ///< runtime starts given an initiator
    std::uint64_t initiator_ambiguous = 0;      ///< ... two or more requests fit
    std::uint64_t initiator_unmatched = 0;      ///< ... no request fits
    std::uint64_t initiator_expired = 0;        ///< requests no runtime start took in the window
    std::uint64_t initiator_dropped = 0;        ///< requests dropped for the bounds
    std::uint64_t initiator_pending = 0;        ///< requests waiting now
    std::uint64_t initiator_pending_bytes = 0;  ///< their bytes (the bound's measure)
    // Process table.
    std::uint64_t processes = 0;
    std::uint64_t processes_capacity = 0;
    std::uint64_t processes_from_stream = 0;
    std::uint64_t proc_reads = 0;
    std::uint64_t proc_misses = 0;
    std::uint64_t process_evictions = 0;
    std::uint64_t reused_pids = 0;

    /// The integrity monitor (nullopt: off, or a replay).
    struct Integrity {
        std::uint64_t baseline_files = 0;
        std::uint64_t trusted_hashes = 0;
        std::uint64_t checked = 0;
        std::uint64_t prechecked = 0;
        std::uint64_t hashed = 0;
        std::uint64_t alerts = 0;
        std::uint64_t unverifiable = 0;
        std::uint64_t dropped = 0;
        std::uint64_t scans = 0;
    };

    std::optional<Integrity> integrity;
    // Outputs and the plugin's own alerts.
    std::vector<outputs::NamedStats> outputs;
    std::uint64_t plugin_degraded_alerts = 0;
    std::uint64_t coverage_alerts = 0;
    // Audit coverage (filled in by the health thread; nullopt: not queried or unavailable).
    std::optional<KernelAuditStatus> kernel;
    std::optional<AuditdQueueState> auditd;
    std::uint64_t kernel_status_errors = 0;
    double start_time_seconds = 0;  ///< the plugin's start, seconds since the epoch
};

/// The Prometheus text exposition of `m`: every family with HELP and TYPE, counters `_total`,
/// label values escaped, one `output` label per output.
[[nodiscard]] std::string format_prometheus(const MetricsSnapshot& m);

}  // namespace adock::app
