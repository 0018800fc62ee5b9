// SPDX-License-Identifier: Apache-2.0
#include "app/metrics.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace adock::app {
namespace {

/// Prometheus label values: backslash, double quote and line feed escaped.
std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

/// Seconds with microsecond precision, no locale, no exponent.
std::string seconds_text(std::uint64_t us) {
    std::string s = std::to_string(us / 1000000) + ".";
    const std::string frac = std::to_string(us % 1000000);
    s.append(6 - frac.size(), '0');
    s += frac;
    return s;
}

std::string bound_text(double b) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), b);
    return std::string(buf.data(), r.ptr);
}

class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}

    /// HELP and TYPE of one family; its samples follow.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }

    void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
        sample(name, labels, std::to_string(value));
    }

    /// A family with one unlabelled sample.
    void single(std::string_view name,
                std::string_view type,
                std::string_view help,
                std::uint64_t value) {
        family(name, type, help);
        sample(name, "", value);
    }

private:
    std::string& out_;
};

std::string output_label(const outputs::NamedStats& o) {
    return "output=\"" + escape_label(o.name) + "\"";
}

/// One family with a sample per output.
template <class Get>
void per_output(Writer& w,
                const MetricsSnapshot& m,
                std::string_view name,
                std::string_view type,
                std::string_view help,
                Get get) {
    w.family(name, type, help);
    for (const auto& o : m.outputs) {
        w.sample(name, output_label(o), static_cast<std::uint64_t>(get(o.stats)));
    }
}

void latency(Writer& w, const MetricsSnapshot& m) {
    constexpr std::string_view kName = "audisp_docker_delivery_latency_seconds";
    w.family(kName,
             "histogram",
             "Time from the audit event to the alert's delivery by the output (written, or "
             "accepted by the "
             "endpoint).");
    for (const auto& o : m.outputs) {
        const auto& c = o.stats.latency;
        const std::string label = output_label(o);
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < util::kLatencyBounds.size(); ++i) {
            cumulative += c.buckets[i];
            w.sample("audisp_docker_delivery_latency_seconds_bucket",
                     label + ",le=\"" + bound_text(util::kLatencyBounds[i]) + "\"",
                     cumulative);
        }
        cumulative += c.buckets.back();
        w.sample(
            "audisp_docker_delivery_latency_seconds_bucket", label + ",le=\"+Inf\"", cumulative);
        w.sample("audisp_docker_delivery_latency_seconds_sum", label, seconds_text(c.sum_us));
        // The count is the +Inf bucket: the same snapshot of the buckets, never one ahead.
        w.sample("audisp_docker_delivery_latency_seconds_count", label, cumulative);
    }
}

std::optional<std::uint64_t> number_after(std::string_view line, std::string_view prefix) {
    if (!line.starts_with(prefix)) {
        return std::nullopt;
    }
    line.remove_prefix(prefix.size());
    std::uint64_t v = 0;
    const auto r = std::from_chars(line.data(), line.data() + line.size(), v);
    if (r.ec != std::errc{}) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::optional<AuditdQueueState> parse_auditd_state(std::string_view text) {
    AuditdQueueState s;
    bool any = false;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (const auto v = number_after(line, "current plugin queue depth = ")) {
            s.depth = *v;
            any = true;
        } else if (const auto v2 = number_after(line, "max plugin queue depth used = ")) {
            s.max_depth = *v2;
            any = true;
        } else if (const auto v3 = number_after(line, "plugin queue size = ")) {
            s.size = *v3;
            any = true;
        } else if (line.starts_with("plugin queue overflow detected = ")) {
            s.overflow = line.ends_with("= yes");
            any = true;
        } else if (line.starts_with("plugin queueing suspended = ")) {
            s.suspended = line.ends_with("= yes");
            any = true;
        }
    }
    if (!any) {
        return std::nullopt;
    }
    return s;
}

std::string format_prometheus(const MetricsSnapshot& m) {
    std::string out;
    out.reserve(8192 + m.outputs.size() * 4096);
    Writer w(out);
    w.family("audisp_docker_start_time_seconds",
             "gauge",
             "When the plugin started, seconds since the epoch.");
    w.sample("audisp_docker_start_time_seconds",
             "",
             std::to_string(static_cast<std::uint64_t>(m.start_time_seconds)));

    // Input.
    w.single("audisp_docker_input_bytes_total",
             "counter",
             "Bytes of audit records read from auditd.",
             m.input.bytes);
    w.single("audisp_docker_input_dropped_lines_total",
             "counter",
             "Audit record lines dropped because the engine fell behind (input queue full).",
             m.input.dropped_lines);
    w.single("audisp_docker_input_dropped_batches_total",
             "counter",
             "Input batches dropped because the engine fell behind (input queue full).",
             m.input.dropped_chunks);
    w.single("audisp_docker_input_reads_total",
             "counter",
             "read(2) calls on the input that returned data.",
             m.input.reads);
    w.single("audisp_docker_input_batches_total",
             "counter",
             "Input batches handed to the engine (its wake-ups).",
             m.input.batches);
    w.single("audisp_docker_input_queue_bytes",
             "gauge",
             "Input bytes waiting for the engine.",
             m.queue.bytes);
    w.single("audisp_docker_input_queue_max_bytes",
             "gauge",
             "Most input bytes waiting for the engine at once since start.",
             m.queue.max_bytes);
    w.single("audisp_docker_input_queue_capacity_bytes",
             "gauge",
             "Input bytes the queue to the engine holds at most (engine.input_queue_mb).",
             m.queue.capacity);

    // Parsing.
    w.single(
        "audisp_docker_records_total", "counter", "Audit record lines parsed.", m.framer.lines);
    w.single("audisp_docker_malformed_records_total",
             "counter",
             "Lines without a parsable audit record header.",
             m.framer.malformed);
    w.single("audisp_docker_nul_bytes_total",
             "counter",
             "NUL bytes removed from record lines.",
             m.framer.nul_bytes);
    w.single("audisp_docker_skipped_records_total",
             "counter",
             "Records of types no detection uses (not parsed).",
             m.framer.skipped_records);
    w.single("audisp_docker_oversize_records_total",
             "counter",
             "Records beyond an event's byte budget (not kept).",
             m.framer.oversize_records);
    w.single("audisp_docker_proctitles_skipped_total",
             "counter",
             "PROCTITLE records of execs whose EXECVE records carry the argv (not parsed).",
             m.framer.proctitles_skipped);
    w.single("audisp_docker_enriched_bytes_cut_total",
             "counter",
             "Bytes of auditd's ENRICHED translations not handed to libauparse.",
             m.framer.enriched_bytes_cut);
    w.family("audisp_docker_events_total",
             "counter",
             "Audit events assembled, by how they were completed.");
    w.sample("audisp_docker_events_total", "completion=\"eoe\"", m.framer.completed_by_eoe);
    w.sample("audisp_docker_events_total", "completion=\"age\"", m.framer.completed_by_age);
    w.sample(
        "audisp_docker_events_total", "completion=\"pressure\"", m.framer.completed_by_pressure);
    w.single(
        "audisp_docker_pending_events", "gauge", "Audit events being assembled.", m.framer.pending);
    w.family("audisp_docker_parse_errors_total",
             "counter",
             "Records or fields libauparse could not parse.");
    w.sample("audisp_docker_parse_errors_total", "kind=\"feed\"", m.parser.feed_errors);
    w.sample("audisp_docker_parse_errors_total", "kind=\"field\"", m.parser.field_errors);

    // Engine.
    w.single("audisp_docker_rules", "gauge", "Detection rules loaded.", m.rules);
    w.single("audisp_docker_exec_events_total",
             "counter",
             "Exec events (execve, execveat) seen.",
             m.engine.exec_events);
    w.single("audisp_docker_rule_tests_total",
             "counter",
             "Rules tested against events.",
             m.engine.rule_tests);
    w.single("audisp_docker_rule_matches_total",
             "counter",
             "Events that matched a detection rule.",
             m.engine.matches);
    w.family(
        "audisp_docker_content_checks_total",
        "counter",
        "Exec rules' content conditions handed to the integrity monitor, or skipped without one.");
    w.sample("audisp_docker_content_checks_total", "result=\"checked\"", m.engine.content_checks);
    w.sample("audisp_docker_content_checks_total", "result=\"skipped\"", m.engine.content_skipped);
    w.single("audisp_docker_rate_limit_summaries_total",
             "counter",
             "Summary alerts for what the engine's rate limit held back.",
             m.engine.rate_summaries);
    w.single("audisp_docker_runtime_clones_total",
             "counter",
             "runc's re-executions of itself (runc init) recognised as the runtime.",
             m.engine.runtime_clones);
    w.single("audisp_docker_identity_matches_total",
             "counter",
             "Path rules matched through another name of the file (dev/inode: a symlinked "
             "directory, a hard link).",
             m.engine.identity_matches);
    w.family("audisp_docker_spec_waits_total",
             "counter",
             "Runtime execs a container_request rule held while their container's spec was read, "
             "by outcome.");
    w.sample("audisp_docker_spec_waits_total", "result=\"held\"", m.engine.spec_waits);
    w.sample("audisp_docker_spec_waits_total", "result=\"dropped\"", m.engine.spec_wait_dropped);
    w.sample("audisp_docker_spec_waits_total", "result=\"unanswered\"", m.engine.spec_unanswered);
    w.family("audisp_docker_root_probes_total",
             "counter",
             "Reads of a container's monitored directories in its root, by result.");
    w.sample("audisp_docker_root_probes_total", "result=\"probed\"", m.root_probes.probed);
    w.sample("audisp_docker_root_probes_total", "result=\"failed\"", m.root_probes.failed);
    w.sample("audisp_docker_root_probes_total", "result=\"dropped\"", m.root_probes.dropped);
    w.single("audisp_docker_root_probe_waits_timed_out_total",
             "counter",
             "Container file events that stopped waiting for their root's read (25 ms).",
             m.root_probes.timeouts);
    w.single(
        "audisp_docker_root_identities_learned_total",
        "counter",
        "Dev/inodes of containers' monitored directories and entries learned from their roots.",
        m.root_probes.identities);
    w.single("audisp_docker_container_name_waits_total",
             "counter",
             "Alerts that waited for their container's name and image to be read.",
             m.engine.names_waited);
    w.single("audisp_docker_rule_exceptions_total",
             "counter",
             "Matches silenced by a rule exception.",
             m.engine.suppressed);
    w.single("audisp_docker_aggregated_total",
             "counter",
             "Matches folded into an aggregated alert (rule aggregate).",
             m.engine.aggregated);
    w.single("audisp_docker_rate_limited_total",
             "counter",
             "Alerts held back by the engine's per-source rate limit (reported in a summary).",
             m.engine.rate_limited);
    w.family("audisp_docker_container_attributions_total",
             "counter",
             "Events attributed to a process: in a container, on the host, or unknown (an "
             "attribution miss).");
    w.sample("audisp_docker_container_attributions_total",
             "result=\"container\"",
             m.engine.attributed_container);
    w.sample(
        "audisp_docker_container_attributions_total", "result=\"host\"", m.engine.attributed_host);
    w.sample("audisp_docker_container_attributions_total",
             "result=\"unknown\"",
             m.engine.attributed_unknown);
    w.family("audisp_docker_initiator_total",
             "counter",
             "Runtime starts of a process in a container, by the client request found for it "
             "(initiator).");
    w.sample("audisp_docker_initiator_total", "outcome=\"matched\"", m.initiator.matched);
    w.sample("audisp_docker_initiator_total", "outcome=\"ambiguous\"", m.initiator.ambiguous);
    w.sample("audisp_docker_initiator_total", "outcome=\"unmatched\"", m.initiator.unmatched);
    w.single(
        "audisp_docker_initiator_requests_total",
        "counter",
        "Container client requests (docker exec, ...) noted to find a runtime start's initiator.",
        m.initiator.requests);
    w.family("audisp_docker_initiator_requests_lost_total",
             "counter",
             "Client requests no runtime start took: expired (the window passed), dropped (the "
             "bounds).");
    w.sample(
        "audisp_docker_initiator_requests_lost_total", "reason=\"expired\"", m.initiator.expired);
    w.sample(
        "audisp_docker_initiator_requests_lost_total", "reason=\"dropped\"", m.initiator.dropped);
    w.single("audisp_docker_initiator_pending_requests",
             "gauge",
             "Client requests waiting for a runtime start.",
             m.initiator_pending);
    w.single("audisp_docker_initiator_pending_bytes",
             "gauge",
             "Bytes of the client requests waiting (bounded at 256 KiB).",
             m.initiator_pending_bytes);
    w.single("audisp_docker_engine_errors_total",
             "counter",
             "Engine messages or ticks that failed (logged, skipped).",
             m.engine_errors);

    // Process table.
    w.single("audisp_docker_process_table_entries",
             "gauge",
             "Processes in the process table.",
             m.processes.size);
    w.single("audisp_docker_process_table_capacity",
             "gauge",
             "Processes the table holds at most (processes.max_entries).",
             m.processes_capacity);
    w.single("audisp_docker_process_table_learned_total",
             "counter",
             "Processes learned from the audit stream.",
             m.processes.from_stream);
    w.single("audisp_docker_process_table_proc_reads_total",
             "counter",
             "Processes completed from /proc.",
             m.processes.proc_reads);
    w.single("audisp_docker_process_table_misses_total",
             "counter",
             "Processes neither the table nor /proc knew (gone before they were looked up).",
             m.processes.proc_misses);
    w.single("audisp_docker_process_table_evictions_total",
             "counter",
             "Entries forgotten to stay within the table's size.",
             m.processes.evictions);

    w.single("audisp_docker_process_table_reused_pids_total",
             "counter",
             "Entries replaced because their pid now belongs to another process.",
             m.processes.reused_pids);
    if (m.integrity) {
        const auto& i = *m.integrity;
        w.single("audisp_docker_integrity_baseline_files",
                 "gauge",
                 "Files in the integrity baseline.",
                 i.baseline_files);
        w.single("audisp_docker_integrity_trusted_hashes",
                 "gauge",
                 "Hashes trusted (package records, allowlist, baseline).",
                 i.trusted_hashes);
        w.single("audisp_docker_integrity_checks_total",
                 "counter",
                 "Programs and files examined.",
                 i.checked);
        w.single(
            "audisp_docker_integrity_prechecked_total",
            "counter",
            "Program checks decided on the engine thread by size, without the integrity thread.",
            i.prechecked);
        w.single("audisp_docker_integrity_hashed_total",
                 "counter",
                 "Files read and hashed (cache misses).",
                 i.hashed);
        w.single("audisp_docker_integrity_alerts_total",
                 "counter",
                 "Content conditions that held.",
                 i.alerts);
        w.single("audisp_docker_integrity_unverifiable_total",
                 "counter",
                 "Programs gone before they could be read.",
                 i.unverifiable);
        w.single("audisp_docker_integrity_dropped_total",
                 "counter",
                 "Checks dropped because the integrity queue was full.",
                 i.dropped);
        w.single("audisp_docker_integrity_scans_total", "counter", "Integrity scans run.", i.scans);
    }

    // Outputs.
    per_output(w,
               m,
               "audisp_docker_output_alerts_total",
               "counter",
               "Alerts offered to the output.",
               [](const auto& s) { return s.generated; });
    per_output(w,
               m,
               "audisp_docker_output_delivered_total",
               "counter",
               "Alerts the output delivered.",
               [](const auto& s) { return s.delivered; });
    per_output(w,
               m,
               "audisp_docker_output_dropped_total",
               "counter",
               "Alerts the output lost: queue or spool full, refused by the endpoint.",
               [](const auto& s) { return s.dropped; });
    per_output(w,
               m,
               "audisp_docker_output_spooled_total",
               "counter",
               "Alerts written to the output's disk spool.",
               [](const auto& s) { return s.spooled; });
    per_output(w,
               m,
               "audisp_docker_output_retries_total",
               "counter",
               "Extra delivery attempts.",
               [](const auto& s) { return s.retried; });
    per_output(w,
               m,
               "audisp_docker_output_failures_total",
               "counter",
               "Delivery attempts that failed.",
               [](const auto& s) { return s.failed; });
    w.family("audisp_docker_output_held_total",
             "counter",
             "Alerts the output's own settings held back (not losses): routing or severity, dedup "
             "folding, rate limit.");
    for (const auto& o : m.outputs) {
        const std::string label = output_label(o);
        w.sample(
            "audisp_docker_output_held_total", label + ",reason=\"filtered\"", o.stats.filtered);
        w.sample("audisp_docker_output_held_total", label + ",reason=\"folded\"", o.stats.folded);
        w.sample("audisp_docker_output_held_total",
                 label + ",reason=\"rate_limited\"",
                 o.stats.rate_limited);
    }
    per_output(w,
               m,
               "audisp_docker_output_queue_depth",
               "gauge",
               "Alerts in the output's queue.",
               [](const auto& s) { return s.queue_depth; });
    per_output(w,
               m,
               "audisp_docker_output_queue_max_depth",
               "gauge",
               "Most alerts the output's queue held at once since start.",
               [](const auto& s) { return s.queue_max_depth; });
    w.family(
        "audisp_docker_output_spool_alerts", "gauge", "Alerts waiting in the output's disk spool.");
    for (const auto& o : m.outputs) {
        if (o.stats.spool_enabled) {
            w.sample("audisp_docker_output_spool_alerts", output_label(o), o.stats.spool_pending);
        }
    }
    w.family("audisp_docker_output_spool_bytes", "gauge", "Bytes of the output's disk spool.");
    for (const auto& o : m.outputs) {
        if (o.stats.spool_enabled) {
            w.sample("audisp_docker_output_spool_bytes", output_label(o), o.stats.spool_bytes);
        }
    }
    w.family("audisp_docker_output_spool_capacity_bytes",
             "gauge",
             "The output's spool bound (spool_max_mb).");
    for (const auto& o : m.outputs) {
        if (o.stats.spool_enabled) {
            w.sample("audisp_docker_output_spool_capacity_bytes",
                     output_label(o),
                     o.stats.spool_max_bytes);
        }
    }
    latency(w, m);
    w.single("audisp_docker_plugin_degraded_alerts_total",
             "counter",
             "plugin_degraded alerts raised (an output dropping or its spool filling).",
             m.plugin_degraded_alerts);
    w.single("audisp_docker_audit_coverage_alerts_total",
             "counter",
             "audit_coverage_degraded alerts raised (events lost before the rules saw them).",
             m.coverage_alerts);

    // Audit coverage: the kernel and auditd.
    w.single("audisp_docker_kernel_audit_status_errors_total",
             "counter",
             "Kernel audit status queries (AUDIT_GET) that failed.",
             m.kernel_status_errors);
    if (m.kernel) {
        const auto& k = *m.kernel;
        w.single("audisp_docker_kernel_audit_enabled",
                 "gauge",
                 "The kernel's audit state: 0 off, 1 on, 2 locked (auditctl -s enabled).",
                 k.enabled);
        w.single("audisp_docker_kernel_audit_lost_total",
                 "counter",
                 "Audit events the kernel dropped (backlog full, rate limit) since boot (auditctl "
                 "-s lost).",
                 k.lost);
        w.single("audisp_docker_kernel_audit_backlog",
                 "gauge",
                 "Audit events waiting in the kernel for auditd (auditctl -s backlog).",
                 k.backlog);
        w.single("audisp_docker_kernel_audit_backlog_limit",
                 "gauge",
                 "The kernel's audit backlog limit (auditctl -s backlog_limit, -b).",
                 k.backlog_limit);
        w.single("audisp_docker_kernel_audit_rate_limit",
                 "gauge",
                 "The kernel's audit rate limit in messages per second, 0 for none (auditctl -r).",
                 k.rate_limit);
    }
    if (m.auditd) {
        const auto& a = *m.auditd;
        w.single("audisp_docker_auditd_plugin_queue_depth",
                 "gauge",
                 "Events in auditd's queue to its plugins (auditd state report).",
                 a.depth);
        w.single("audisp_docker_auditd_plugin_queue_max_depth",
                 "gauge",
                 "Most events auditd's queue to its plugins held since auditd started.",
                 a.max_depth);
        w.single("audisp_docker_auditd_plugin_queue_capacity",
                 "gauge",
                 "Size of auditd's queue to its plugins (auditd.conf q_depth).",
                 a.size);
        w.single("audisp_docker_auditd_plugin_queue_overflowed",
                 "gauge",
                 "1 when auditd's queue to its plugins overflowed (events dropped) since auditd "
                 "started.",
                 a.overflow ? 1 : 0);
    }
    return out;
}

}  // namespace adock::app
