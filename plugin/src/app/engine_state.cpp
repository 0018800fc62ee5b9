// SPDX-License-Identifier: Apache-2.0
// The engine loop's state: one snapshot of every component's counters (metrics_snapshot), and
// that snapshot as JSON for the state file (SIGUSR1), the status line and the end of input.
#include <cstdint>

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
    w.key("bytes").value(static_cast<std::uint64_t>(m.input.bytes));
    w.key("queue_depth").value(static_cast<std::uint64_t>(q.depth));
    w.key("queue_max_depth").value(static_cast<std::uint64_t>(q.max_depth));
    w.key("queue_bytes").value(static_cast<std::uint64_t>(q.bytes));
    w.key("queue_max_bytes").value(static_cast<std::uint64_t>(q.max_bytes));
    w.key("queue_capacity_bytes").value(static_cast<std::uint64_t>(q.capacity));
    w.key("reads").value(static_cast<std::uint64_t>(m.input.reads));
    w.key("batches").value(static_cast<std::uint64_t>(m.input.batches));
    w.key("waits").value(static_cast<std::uint64_t>(m.input.waits));
    w.key("pipe_bytes").value(static_cast<std::uint64_t>(m.input.pipe_bytes));
    w.key("dropped_chunks").value(static_cast<std::uint64_t>(m.input.dropped_chunks));
    w.key("dropped_lines").value(static_cast<std::uint64_t>(m.input.dropped_lines));
    w.end_object();
    w.key("parse").begin_object();
    w.key("lines").value(static_cast<std::uint64_t>(f.lines));
    w.key("malformed_lines").value(static_cast<std::uint64_t>(f.malformed));
    w.key("nul_bytes").value(static_cast<std::uint64_t>(f.nul_bytes));
    w.key("skipped_records").value(static_cast<std::uint64_t>(f.skipped_records));
    w.key("proctitles_skipped").value(static_cast<std::uint64_t>(f.proctitles_skipped));
    w.key("enriched_bytes_cut").value(static_cast<std::uint64_t>(f.enriched_bytes_cut));
    w.key("unused_field_bytes_cut").value(static_cast<std::uint64_t>(f.unused_field_bytes_cut));
    w.key("events").value(static_cast<std::uint64_t>(p.events));
    w.key("completed_by_eoe").value(static_cast<std::uint64_t>(f.completed_by_eoe));
    w.key("completed_by_age").value(static_cast<std::uint64_t>(f.completed_by_age));
    w.key("completed_by_pressure").value(static_cast<std::uint64_t>(f.completed_by_pressure));
    w.key("pending_events").value(static_cast<std::uint64_t>(f.pending));
    w.key("pending_bytes").value(static_cast<std::uint64_t>(f.pending_bytes));
    w.key("oversize_records").value(static_cast<std::uint64_t>(f.oversize_records));
    w.key("feed_errors").value(static_cast<std::uint64_t>(p.feed_errors));
    w.key("field_errors").value(static_cast<std::uint64_t>(p.field_errors));
    w.end_object();
    w.key("engine").begin_object();
    w.key("rules").value(static_cast<std::uint64_t>(m.rules));
    w.key("exec_events").value(static_cast<std::uint64_t>(e.exec_events));
    w.key("rule_tests").value(static_cast<std::uint64_t>(e.rule_tests));
    w.key("matches").value(static_cast<std::uint64_t>(e.matches));
    w.key("suppressed").value(static_cast<std::uint64_t>(e.suppressed));
    w.key("aggregated").value(static_cast<std::uint64_t>(e.aggregated));
    w.key("content_checks").value(static_cast<std::uint64_t>(e.content_checks));
    w.key("content_skipped").value(static_cast<std::uint64_t>(e.content_skipped));
    w.key("rate_limited").value(static_cast<std::uint64_t>(e.rate_limited));
    w.key("rate_summaries").value(static_cast<std::uint64_t>(e.rate_summaries));
    w.key("attributed_container").value(static_cast<std::uint64_t>(e.attributed_container));
    w.key("attributed_host").value(static_cast<std::uint64_t>(e.attributed_host));
    w.key("attributed_unknown").value(static_cast<std::uint64_t>(e.attributed_unknown));
    w.key("runtime_clones").value(static_cast<std::uint64_t>(e.runtime_clones));
    w.key("names_waited").value(static_cast<std::uint64_t>(e.names_waited));
    w.key("identity_matches").value(static_cast<std::uint64_t>(e.identity_matches));
    w.key("spec_waits").value(static_cast<std::uint64_t>(e.spec_waits));
    w.key("spec_wait_dropped").value(static_cast<std::uint64_t>(e.spec_wait_dropped));
    w.key("spec_unanswered").value(static_cast<std::uint64_t>(e.spec_unanswered));
    const auto& id = m.image_diffs;
    w.key("image_diffs").value(static_cast<std::uint64_t>(id.compared));
    w.key("image_diffs_unknown").value(static_cast<std::uint64_t>(id.unknown));
    w.key("image_diffs_dropped").value(static_cast<std::uint64_t>(id.dropped));
    const auto& rp = m.root_probes;
    w.key("roots_probed").value(static_cast<std::uint64_t>(rp.probed));
    w.key("root_probes_failed").value(static_cast<std::uint64_t>(rp.failed));
    w.key("root_probes_dropped").value(static_cast<std::uint64_t>(rp.dropped));
    w.key("root_probe_waits_timed_out").value(static_cast<std::uint64_t>(rp.timeouts));
    w.key("root_identities").value(static_cast<std::uint64_t>(rp.identities));
    {
        const auto& is = m.initiator;
        w.key("initiator").begin_object();
        w.key("requests").value(static_cast<std::uint64_t>(is.requests));
        w.key("matched").value(static_cast<std::uint64_t>(is.matched));
        w.key("ambiguous").value(static_cast<std::uint64_t>(is.ambiguous));
        w.key("unmatched").value(static_cast<std::uint64_t>(is.unmatched));
        w.key("expired").value(static_cast<std::uint64_t>(is.expired));
        w.key("dropped").value(static_cast<std::uint64_t>(is.dropped));
        w.key("pending").value(static_cast<std::uint64_t>(m.initiator_pending));
        w.key("pending_bytes").value(static_cast<std::uint64_t>(m.initiator_pending_bytes));
        w.end_object();
    }
    w.end_object();
    if (m.integrity) {
        const auto& is = *m.integrity;
        w.key("integrity").begin_object();
        w.key("baseline_files").value(static_cast<std::uint64_t>(is.baseline_files));
        w.key("trusted_hashes").value(static_cast<std::uint64_t>(is.trusted_hashes));
        w.key("checked").value(static_cast<std::uint64_t>(is.checked));
        w.key("prechecked").value(static_cast<std::uint64_t>(is.prechecked));
        w.key("precheck_batch_hits").value(static_cast<std::uint64_t>(is.precheck_batch_hits));
        w.key("precheck_by_host_file").value(static_cast<std::uint64_t>(is.precheck_by_host_file));
        w.key("hashed").value(static_cast<std::uint64_t>(is.hashed));
        w.key("alerts").value(static_cast<std::uint64_t>(is.alerts));
        w.key("unverifiable").value(static_cast<std::uint64_t>(is.unverifiable));
        w.key("dropped").value(static_cast<std::uint64_t>(is.dropped));
        w.end_object();
    }
    w.key("processes").begin_object();
    w.key("size").value(static_cast<std::uint64_t>(t.size));
    w.key("learned_from_stream").value(static_cast<std::uint64_t>(t.from_stream));
    w.key("proc_reads").value(static_cast<std::uint64_t>(t.proc_reads));
    w.key("proc_misses").value(static_cast<std::uint64_t>(t.proc_misses));
    w.key("evictions").value(static_cast<std::uint64_t>(t.evictions));
    w.key("reused_pids").value(static_cast<std::uint64_t>(t.reused_pids));
    w.end_object();
    w.key("outputs").begin_array();
    for (const auto& s : m.outputs) {
        w.begin_object();
        w.key("name").value(s.name);
        w.key("generated").value(static_cast<std::uint64_t>(s.stats.generated));
        w.key("delivered").value(static_cast<std::uint64_t>(s.stats.delivered));
        w.key("retried").value(static_cast<std::uint64_t>(s.stats.retried));
        w.key("failed").value(static_cast<std::uint64_t>(s.stats.failed));
        w.key("spooled").value(static_cast<std::uint64_t>(s.stats.spooled));
        w.key("dropped").value(static_cast<std::uint64_t>(s.stats.dropped));
        w.key("queue_depth").value(static_cast<std::uint64_t>(s.stats.queue_depth));
        w.key("queue_max_depth").value(static_cast<std::uint64_t>(s.stats.queue_max_depth));
        if (s.stats.spool_enabled) {
            w.key("spool_pending").value(static_cast<std::uint64_t>(s.stats.spool_pending));
            w.key("spool_bytes").value(static_cast<std::uint64_t>(s.stats.spool_bytes));
        }
        w.key("filtered").value(static_cast<std::uint64_t>(s.stats.filtered));
        w.key("folded").value(static_cast<std::uint64_t>(s.stats.folded));
        w.key("rate_limited").value(static_cast<std::uint64_t>(s.stats.rate_limited));
        w.end_object();
    }
    w.end_array();
    w.key("plugin_degraded_alerts").value(static_cast<std::uint64_t>(m.plugin_degraded_alerts));
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
