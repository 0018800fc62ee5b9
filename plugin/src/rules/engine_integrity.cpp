// SPDX-License-Identifier: Apache-2.0
// The bridge to the integrity monitor and the image comparisons: their findings, verdicts and
// compared alerts come back to the engine thread here and leave as alerts.
#include "integrity/image_diff_worker.hpp"
#include "integrity/monitor.hpp"
#include "rules/engine_context.hpp"

namespace adock::rules {

using detail::event_ms;
using detail::fill_integrity;

namespace {

FileState state_of(const integrity::FileFacts& f) {
    return FileState{f.sha256, f.size, f.mode, f.uid, f.gid};
}

FileOp op_of_change(const std::string& change) {
    if (change == "missing") {
        return FileOp::Unlink;
    }
    if (change == "new") {
        return FileOp::Create;
    }
    if (change.starts_with("content")) {
        return FileOp::Write;
    }
    return change.starts_with("mode") ? FileOp::Chmod : FileOp::Chown;
}

}  // namespace

void Engine::collect_findings() {
    for (auto& f : integrity_->take_findings()) {
        audit::Event ev;  // a finding has no process: only the file
        ev.sec = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
        audit::PathItem item;
        item.item = 0;
        item.name = f.path;
        item.nametype = "NORMAL";
        const auto& facts = f.after ? f.after : f.before;
        if (facts) {
            item.inode = facts->inode;
        }
        ev.paths.push_back(item);
        for (const Rule* rule : rules_->integrity_rules) {
            Context ctx =
                Context::of_file_change(ev, op_of_change(f.change), !f.trusted_by.empty());
            ++stats_.rule_tests;
            const std::optional<Match> m = holds(rule->match, ctx);
            if (!m) {
                continue;
            }
            if (std::any_of(rule->exceptions.begin(),
                            rule->exceptions.end(),
                            [&](const Conditions& ex) { return holds(ex, ctx, *m).has_value(); })) {
                ++stats_.suppressed;
                continue;
            }
            ++stats_.matches;
            Alert a = build_alert(*rule, ctx, *m);
            a.file = FileRef{f.path, file_op_name(ctx.op)};
            IntegrityRef ir;
            if (f.after) {
                ir.sha256 = f.after->sha256;
                ir.size = f.after->size;
                ir.after = state_of(*f.after);
            }
            if (f.before) {
                ir.before = state_of(*f.before);
            }
            ir.trusted = !f.trusted_by.empty();
            if (ir.trusted) {
                ir.trusted_by = f.trusted_by;
            }
            ir.change = f.change;
            a.integrity = std::move(ir);
            finish_alert(*rule, ctx, *m, a);
            send(std::move(a));
        }
    }
}

ImageDiffStats Engine::image_diff_stats() const {
    if (!image_diff_) {
        return {};
    }
    const auto s = image_diff_->stats();
    return ImageDiffStats{s.compared, s.unknown, s.dropped};
}

void Engine::collect_image_diffs() {
    if (!image_diff_ || !image_diff_->has_ready()) {
        return;
    }
    for (auto& a : image_diff_->take()) {
        fill_integrity(a);
        send(std::move(a));
    }
}

void Engine::collect_verdicts() {
    if (integrity_ == nullptr || !integrity_->has_verdicts()) {
        return;
    }
    collect_findings();
    for (auto& a : integrity_->take_ready()) {
        fill_integrity(a);
        send(std::move(a));
    }
    for (auto& v : integrity_->take_verdicts()) {
        const auto it = std::find_if(rules_->rules.begin(),
                                     rules_->rules.end(),
                                     [&](const Rule& r) { return r.id == v.rule_id && r.enabled; });
        if (it == rules_->rules.end()) {
            continue;  // reloaded away meanwhile
        }
        Context ctx = Context::of_event(v.event, &syscall_of(v.event));
        // What the summary shows (matched, parent), recomputed on the kept copy of the event.
        const Match m = holds(it->match, ctx).value_or(Match{});
        ++stats_.matches;
        Alert a = build_alert(*it, ctx, m);
        finish_alert(*it, ctx, m, a);
        a.integrity = v.integrity;
        a.summary += v.note;
        emit(std::move(a), event_ms(v.event));
    }
}

}  // namespace adock::rules
