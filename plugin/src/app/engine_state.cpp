// SPDX-License-Identifier: Apache-2.0
// The engine loop's state: one snapshot of every component's counters (metrics_snapshot), and
// that snapshot as JSON for the state file (SIGUSR1), the status line and the end of input.

#include "app/engine_loop.hpp"
#include "util/json.hpp"

namespace adock::app {

std::string state_json(const MetricsSnapshot& m) {
    std::string out;
    util::JsonWriter w(out);
    const auto& f = m.framer;
    const auto& p = m.parser;
    const auto& e = m.engine;
    const auto& t = m.processes;
    const auto& q = m.queue;
    w.begin_object();
    w.key("input").begin_object();
    w.key("bytes").value(m.input.bytes);
    w.key("queue_depth").value(q.depth);
    w.key("queue_max_depth").value(q.max_depth);
    w.key("queue_bytes").value(q.bytes);
    w.key("queue_max_bytes").value(q.max_bytes);
    w.key("queue_capacity_bytes").value(q.capacity);
    w.key("reads").value(m.input.reads);
    w.key("batches").value(m.input.batches);
    w.key("waits").value(m.input.waits);
    w.key("pipe_bytes").value(m.input.pipe_bytes);
    w.key("dropped_chunks").value(m.input.dropped_chunks);
    w.key("dropped_lines").value(m.input.dropped_lines);
    w.end_object();
    w.key("parse").begin_object();
    w.key("lines").value(f.lines);
    w.key("malformed_lines").value(f.malformed);
    w.key("nul_bytes").value(f.nul_bytes);
    w.key("skipped_records").value(f.skipped_records);
    w.key("proctitles_skipped").value(f.proctitles_skipped);
    w.key("enriched_bytes_cut").value(f.enriched_bytes_cut);
    w.key("unused_field_bytes_cut").value(f.unused_field_bytes_cut);
    w.key("events").value(p.events);
    w.key("completed_by_eoe").value(f.completed_by_eoe);
    w.key("completed_by_age").value(f.completed_by_age);
    w.key("completed_by_pressure").value(f.completed_by_pressure);
    w.key("pending_events").value(f.pending);
    w.key("pending_bytes").value(f.pending_bytes);
    w.key("oversize_records").value(f.oversize_records);
    w.key("feed_errors").value(p.feed_errors);
    w.key("field_errors").value(p.field_errors);
    w.end_object();
    w.key("engine").begin_object();
    w.key("rules").value(m.rules);
    w.key("exec_events").value(e.exec_events);
    w.key("rule_tests").value(e.rule_tests);
    w.key("matches").value(e.matches);
    w.key("suppressed").value(e.suppressed);
    w.key("aggregated").value(e.aggregated);
    w.key("content_checks").value(e.content_checks);
    w.key("content_skipped").value(e.content_skipped);
    w.key("rate_limited").value(e.rate_limited);
    w.key("rate_summaries").value(e.rate_summaries);
    w.key("attributed_container").value(e.attributed_container);
    w.key("attributed_host").value(e.attributed_host);
    w.key("attributed_unknown").value(e.attributed_unknown);
    w.key("runtime_clones").value(e.runtime_clones);
    w.key("names_waited").value(e.names_waited);
    w.key("identity_matches").value(e.identity_matches);
    w.key("spec_waits").value(e.spec_waits);
    w.key("spec_wait_dropped").value(e.spec_wait_dropped);
    w.key("spec_unanswered").value(e.spec_unanswered);
    const auto& id = m.image_diffs;
    w.key("image_diffs").value(id.compared);
    w.key("image_diffs_unknown").value(id.unknown);
    w.key("image_diffs_dropped").value(id.dropped);
    const auto& rp = m.root_probes;
    w.key("roots_probed").value(rp.probed);
    w.key("root_probes_failed").value(rp.failed);
    w.key("root_probes_dropped").value(rp.dropped);
    w.key("root_probe_waits_timed_out").value(rp.timeouts);
    w.key("root_identities").value(rp.identities);
    {
        const auto& is = m.initiator;
        w.key("initiator").begin_object();
        w.key("requests").value(is.requests);
        w.key("matched").value(is.matched);
        w.key("ambiguous").value(is.ambiguous);
        w.key("unmatched").value(is.unmatched);
        w.key("expired").value(is.expired);
        w.key("dropped").value(is.dropped);
        w.key("pending").value(m.initiator_pending);
        w.key("pending_bytes").value(m.initiator_pending_bytes);
        w.end_object();
    }
    w.end_object();
    if (m.integrity) {
        const auto& is = *m.integrity;
        w.key("integrity").begin_object();
        w.key("baseline_files").value(is.baseline_files);
        w.key("trusted_hashes").value(is.trusted_hashes);
        w.key("checked").value(is.checked);
        w.key("prechecked").value(is.prechecked);
        w.key("precheck_batch_hits").value(is.precheck_batch_hits);
        w.key("precheck_by_host_file").value(is.precheck_by_host_file);
        w.key("hashed").value(is.hashed);
        w.key("alerts").value(is.alerts);
        w.key("unverifiable").value(is.unverifiable);
        w.key("dropped").value(is.dropped);
        w.end_object();
    }
    w.key("processes").begin_object();
    w.key("size").value(t.size);
    w.key("learned_from_stream").value(t.from_stream);
    w.key("proc_reads").value(t.proc_reads);
    w.key("proc_misses").value(t.proc_misses);
    w.key("evictions").value(t.evictions);
    w.key("reused_pids").value(t.reused_pids);
    w.end_object();
    w.key("outputs").begin_array();
    for (const auto& s : m.outputs) {
        w.begin_object();
        w.key("name").value(s.name);
        w.key("generated").value(s.stats.generated);
        w.key("delivered").value(s.stats.delivered);
        w.key("retried").value(s.stats.retried);
        w.key("failed").value(s.stats.failed);
        w.key("spooled").value(s.stats.spooled);
        w.key("dropped").value(s.stats.dropped);
        w.key("queue_depth").value(s.stats.queue_depth);
        w.key("queue_max_depth").value(s.stats.queue_max_depth);
        if (s.stats.spool_enabled) {
            w.key("spool_pending").value(s.stats.spool_pending);
            w.key("spool_bytes").value(s.stats.spool_bytes);
        }
        w.key("filtered").value(s.stats.filtered);
        w.key("folded").value(s.stats.folded);
        w.key("rate_limited").value(s.stats.rate_limited);
        w.end_object();
    }
    w.end_array();
    w.key("plugin_degraded_alerts").value(m.plugin_degraded_alerts);
    w.end_object();
    return out;
}

MetricsSnapshot EngineLoop::metrics_snapshot() const {
    MetricsSnapshot m;
    m.input = InputCounts{reader_.bytes.load(),
                          reader_.reads.load(),
                          reader_.batches.load(),
                          reader_.waits.load(),
                          reader_.dropped_chunks.load(),
                          reader_.dropped_lines.load(),
                          reader_.pipe_bytes.load()};
    m.queue = queue_.stats();
    m.framer = pipeline_.framer_stats();
    m.parser = pipeline_.parser_stats();
    m.rules = engine_.rule_count();
    m.engine = engine_.stats();
    m.engine_errors = errors_;
    m.image_diffs = engine_.image_diff_stats();
    m.root_probes = engine_.probe_stats();
    m.initiator = engine_.initiator_stats();
    m.initiator_pending = engine_.initiator_pending();
    m.initiator_pending_bytes = engine_.initiator_pending_bytes();
    m.processes = engine_.process_stats();
    m.processes_capacity = cfg_.processes.max_entries;
    if (integrity_) {
        m.integrity = integrity_->stats();
    }
    m.outputs = out_.stats();
    m.plugin_degraded_alerts = out_.degraded_alerts();
    return m;
}

std::string EngineLoop::state_json() const {
    return app::state_json(metrics_snapshot());
}

}  // namespace adock::app
