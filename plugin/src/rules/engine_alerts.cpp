// SPDX-License-Identifier: Apache-2.0
// From a rule that matched to an alert sent: evaluate() (exceptions, variants, the image probe),
// build_alert() and its summary, the per-source rate limit, and the short wait of an alert for
// its container's names before it goes to the sink.
#include <array>
#include <cstdio>

#include "integrity/image_diff_worker.hpp"
#include "integrity/monitor.hpp"
#include "rules/engine_context.hpp"
#include "rules/placeholders.hpp"

namespace adock::rules {

using detail::event_ms;
using detail::fill_integrity;
using detail::kNameWait;
using detail::seccomp_action;
using detail::set_argv;

namespace {

ProcessRef to_ref(const proc::ProcessInfo& p, audit::ArgvBudget budget) {
    ProcessRef r;
    r.pid = p.pid;
    r.ppid = p.ppid;
    r.exe = p.exe;
    r.comm = p.comm;
    set_argv(r, p.argv, budget, p.argv_truncated, p.argv_sha256, p.argv_argc);
    r.uid = p.uid;
    r.auid = p.auid;
    return r;
}

/// Bytes of one placeholder's text in a summary: summaries are built from bounded text.
constexpr std::size_t kSummaryFieldBytes = 1024;

}  // namespace

namespace detail {

void set_argv(ProcessRef& r,
              const std::vector<std::string>& argv,
              audit::ArgvBudget budget,
              bool already_cut,
              const std::string& whole_sha256,
              std::size_t whole_argc) {
    audit::BoundedArgv b = audit::bound_argv(argv, budget, whole_sha256, whole_argc);
    r.argv = std::move(b.argv);
    r.truncated = b.truncated || already_cut;
    r.argv_sha256 = std::move(b.sha256);
    if (r.truncated && r.argv_sha256.empty()) {
        r.argv_sha256 = audit::argv_sha256(argv);  // incomplete records: the hash of what came
    }
    r.argc = r.truncated ? b.argc : 0;
}

std::string seccomp_action(std::uint32_t code) {
    switch (code & 0xffff0000U) {
        case 0x80000000U:
            return "kill_process";
        case 0x00000000U:
            return "kill_thread";
        case 0x00030000U:
            return "trap";
        case 0x00050000U:
            return "errno(" + std::to_string(code & 0xffffU) + ")";
        case 0x7fc00000U:
            return "user_notif";
        case 0x7ff00000U:
            return "trace";
        case 0x7ffc0000U:
            return "log";
        case 0x7fff0000U:
            return "allow";
        default:
            return "unknown(0x" + [&] {
                std::array<char, 16> b{};
                std::snprintf(b.data(), b.size(), "%08x", code);
                return std::string(b.data());
            }() + ")";
    }
}

void fill_holes(Alert& a, bool names) {
    std::size_t shift = 0;  // text inserted before the hole looked at
    std::vector<SummaryHole> left;
    for (SummaryHole h : a.summary_holes) {
        h.at = std::min(h.at + shift, a.summary.size());
        std::string text;
        switch (h.field) {
            case SummaryField::ContainerName:
            case SummaryField::ContainerImage: {
                if (!names) {
                    left.push_back(h);
                    continue;
                }
                const std::optional<std::string>* value = nullptr;
                if (a.container) {
                    value = h.field == SummaryField::ContainerName ? &a.container->name
                                                                   : &a.container->image;
                }
                text = value != nullptr && value->has_value() ? **value : std::string("-");
                break;
            }
            case SummaryField::IntegrityChange:
            case SummaryField::IntegrityTrust:
                text = a.integrity ? integrity_text(*a.integrity, h.field) : std::string("-");
                break;
        }
        text = audit::bounded_text(text, kSummaryFieldBytes);
        a.summary.insert(h.at, text);
        shift += text.size();
    }
    a.summary_holes = std::move(left);
}

void fill_integrity(Alert& a) {
    fill_holes(a, false);
}

}  // namespace detail

void Engine::evaluate(const Rule& rule, Context& ctx) {
    ctx.spec_pending = false;
    const std::optional<Match> m = holds(rule.match, ctx);
    if (!m) {
        if (ctx.spec_pending && rule.match.requests && !releasing_spec_waits_) {
            // The container's spec is being read (names resolver): the event waits for it.
            if (spec_waits_.size() >= kMaxSpecWaits) {
                ++stats_.spec_wait_dropped;
                return;
            }
            ++stats_.spec_waits;
            SpecWait w{rule.id, *ctx.container, ctx.ev, clock_.now() + kNameWait};
            audit::bound_event(w.event, alert_argv_);
            spec_waits_.push_back(std::move(w));
        }
        return;
    }
    for (const auto& ex : rule.exceptions) {
        if (holds(ex, ctx, *m)) {
            ++stats_.suppressed;
            return;
        }
    }
    if (rule.match.content) {
        // Decided by the integrity monitor, off this thread; the alert is built on its verdict.
        if (integrity_ == nullptr) {
            ++stats_.content_skipped;
            return;
        }
        const proc::ProcessInfo* self = table_.peek(ctx.ev.pid);
        if (self != nullptr && self->runtime_clone) {
            return;  // the runtime's own sealed copy of itself: its content is the runtime's
        }
        if (*rule.match.content ==
                static_cast<std::uint32_t>(integrity::ContentCheck::PackageCopy) &&
            !integrity_->package_copy_candidate(ctx.ev.exe)) {
            return;  // a package's program at its own place (most execs): nothing to hand over
        }
        std::pair<std::string, std::uint64_t> image;
        bool host_process = false;
        std::optional<std::string> runtime_path;
        if (self != nullptr) {
            image = self->image;
            host_process = self->attribution == proc::Attribution::Host;
            // The host's runtime binary by identity (runc init exec'd as /proc/self/exe, a
            // hardlink): checked as that file, not as a copy under another name.
            auto rt = rules_->lists.find("runtime_binaries");
            if (rt != rules_->lists.end()) {
                runtime_path = rt->second->match_identity(self->image);
            }
        }
        ++stats_.content_checks;
        // Most execs are decided here by the program's size, without a copy of the event.
        auto pre = integrity_->precheck(ctx.ev,
                                        runtime_path ? *runtime_path : ctx.ev.exe,
                                        *rule.match.content,
                                        image,
                                        host_process);
        if (pre.decided) {
            return;
        }
        integrity::IntegrityMonitor::Request req(ctx.ev, rule.id, *rule.match.content);
        req.image = std::move(image);
        req.host_process = host_process;
        req.exe = std::move(pre.exe);
        if (runtime_path) {
            req.event.exe = std::move(*runtime_path);
        }
        // waits for the monitor: within the per-event budget
        audit::bound_event(req.event, alert_argv_);
        (void)integrity_->submit(std::move(req));
        return;
    }
    ++stats_.matches;
    Alert a = build_alert(rule, ctx, *m);
    finish_alert(rule, ctx, *m, a);
    const std::optional<ImageProbe> probe = image_probe(rule, ctx, a);
    if (rule.aggregate) {
        aggregate(rule, std::move(a), ctx.ev.sec, event_ms(ctx.ev), probe ? &*probe : nullptr);
        return;
    }
    if (integrity_ != nullptr && a.file && a.file->operation != "exec") {
        // A monitored file: look at it again off this thread, so the alert carries before and
        // after. Found by its path or, through a bind mount, by its inode.
        std::uint64_t inode = 0;
        for (const auto& [path, item] : ctx.object_paths()) {
            if (path == a.file->path) {
                inode = item->inode;
                break;
            }
        }
        if (integrity_->monitors(a.file->path, inode)) {
            Alert copy = a;
            if (integrity_->examine(std::move(copy), inode)) {
                return;
            }
        }
    }
    fill_integrity(a);
    emit(std::move(a), event_ms(ctx.ev), probe ? &*probe : nullptr);
}

std::optional<Engine::ImageProbe> Engine::image_probe(const Rule& rule,
                                                      Context& ctx,
                                                      const Alert& a) {
    // Live only (names_: the host's state describes the stream), in a container, with a file.
    if (!rule.image_diff || !image_diff_ || !a.container || a.container->id.empty() || !a.file) {
        return std::nullopt;
    }
    // Candidates for the container's overlay, best first: the file's own device (a name being
    // deleted from the upper layer has the upper filesystem's instead), its directory's (the
    // PARENT item), the acting program's (run from the container's root).
    ImageProbe probe;
    probe.path = a.file->path;
    const auto add = [&probe](const std::string& dev) {
        if (!dev.empty() &&
            std::find(probe.devs.begin(), probe.devs.end(), dev) == probe.devs.end()) {
            probe.devs.push_back(dev);
        }
    };
    if (a.file->operation != "exec") {
        for (const auto& [path, item] : ctx.object_paths()) {
            if (path == a.file->path) {
                add(item->dev);
            }
        }
        for (const auto& p : ctx.ev.paths) {
            if (p.nametype == "PARENT") {
                add(p.dev);
            }
        }
    }
    if (const proc::ProcessInfo* self = table_.peek(ctx.ev.pid); self != nullptr) {
        add(self->image.first);
    }
    if (probe.devs.empty()) {
        return std::nullopt;
    }
    return probe;
}

void Engine::emit(Alert&& a, std::int64_t ms, const ImageProbe* probe) {
    if (!limiter_.admit(a, ms, clock_.now())) {
        ++stats_.rate_limited;
        return;
    }
    if (probe != nullptr && image_diff_ && image_diff_->submit(a, probe->devs, probe->path)) {
        ++stats_.image_diffs;
        return;  // back through collect_image_diffs(), with image_diff
    }
    send(std::move(a));
}

void Engine::send_rate_summaries(std::vector<Alert>&& summaries) {
    for (auto& a : summaries) {
        ++stats_.rate_summaries;
        send(std::move(a));
    }
}

void Engine::finish_alert(const Rule& rule, Context& ctx, const Match& m, Alert& a) {
    for (const auto& v : rule.variants) {
        if (holds(v.when, ctx, m)) {
            if (v.severity) {
                a.severity = *v.severity;
            }
            for (const auto& t : v.add_tags) {
                if (std::find(a.tags.begin(), a.tags.end(), t) == a.tags.end()) {
                    a.tags.push_back(t);
                }
            }
            for (const auto& technique : v.add_mitre) {
                if (std::find(a.mitre.begin(), a.mitre.end(), technique) == a.mitre.end()) {
                    a.mitre.push_back(technique);
                }
            }
            break;
        }
    }
    render_summary(rule, ctx, m, a);
    if (rule.match.path_in) {
        const FileOp op = ctx.operation();
        refresh_pending_ = refresh_pending_ || op == FileOp::Rename || op == FileOp::Create ||
                           op == FileOp::Unlink || op == FileOp::Link;
    }
}

Alert Engine::build_alert(const Rule& rule, Context& ctx, const Match& m) {
    const audit::Event& ev = ctx.ev;
    Alert a;
    a.time = audit::rfc3339(ev.sec, ev.milli);
    a.time_ms = event_ms(ev);
    a.host = host_;
    a.rule_id = rule.id;
    a.severity = rule.severity;
    a.mitre = rule.mitre;
    a.tags = rule.tags;
    a.serial = ev.serial;
    a.key = ev.key;
    if (ctx.syscall != nullptr) {
        a.syscall = *ctx.syscall;
        a.success = ev.success;
        a.exit = ev.exit;
    }
    a.process.pid = ev.pid;
    a.process.ppid = ev.ppid;
    a.process.exe = ev.exe;
    a.process.comm = ev.comm;
    const bool own_argv = &ctx.argv == &ev.argv;  // EXECVE, not PROCTITLE
    set_argv(a.process,
             ctx.argv,
             alert_argv_,
             own_argv && ev.argv_truncated,
             own_argv ? ev.argv_sha256 : std::string(),
             own_argv ? ev.argv_argc : 0);
    a.process.uid = ev.uid;
    a.process.auid = ev.auid;
    if (!ev.has_execve) {
        // The exec's argv (whole, from EXECVE) rather than PROCTITLE (cut at 128 bytes).
        if (const proc::ProcessInfo* self = table_.peek(ev.pid);
            self != nullptr && self->exec_seen && self->exe == ev.exe && !self->argv.empty()) {
            a.process.argv = self->argv;
        }
    }
    if (a.process.ppid < 0 || a.process.argv.empty()) {
        // SECCOMP records carry no ppid and no argv: what the stream taught us about the pid.
        if (const proc::ProcessInfo* self = table_.find(ev.pid)) {
            if (a.process.ppid < 0) {
                a.process.ppid = self->ppid;
            }
            if (a.process.argv.empty()) {
                set_argv(a.process,
                         self->argv,
                         alert_argv_,
                         self->argv_truncated,
                         self->argv_sha256,
                         self->argv_argc);
            }
        }
    }
    if (a.process.ppid >= 0 && ev.ppid < 0) {
        ctx.ancestry = table_.ancestry(a.process.ppid, ancestry_depth_);
        ctx.ancestry_done = true;
    }
    for (const auto* p : ctx.lineage(table_, ancestry_depth_)) {
        a.ancestry.push_back(to_ref(*p, ancestor_argv_));
    }
    ctx.attribution_of(containers_, table_, role_fn_);
    if (ctx.container) {
        a.container = *ctx.container;
    }
    if (a.container && !a.container->id.empty() && names_) {
        (void)enrich(a, &ctx.names_pending);  // known ones now, so the summary shows them
    }
    if (ev.has_syscall && (ev.has_execve || ctx.operation() == FileOp::Exec)) {
        a.file = FileRef{ev.exe, "exec"};
    } else if (ctx.operation() != FileOp::None) {
        std::string path = m.file_path.value_or("");
        if (path.empty() && !ctx.object_paths().empty()) {
            path = ctx.object_paths().front().first;
        }
        a.file = FileRef{path, file_op_name(ctx.operation())};
        if (m.same_as && m.file_path && *m.file_path == path) {
            a.file->same_as = m.same_as;
        }
    }
    if (ev.seccomp) {
        a.seccomp = SeccompRef{audit::syscall_name(ev.seccomp->arch, ev.seccomp->syscall),
                               seccomp_action(ev.seccomp->code)};
    }
    if (const proc::ProcessInfo* self = table_.peek(ev.pid); self != nullptr && self->initiator) {
        if (!self->initiator->decided) {
            release_start_waits(false);  // its container's names may be known by now
        }
        if (self->initiator->ref) {
            a.initiator = *self->initiator->ref;
        }
    }
    a.remediation = rule.remediation;
    return a;
}

void Engine::render_summary(const Rule& rule, Context& ctx, const Match& m, Alert& a) {
    std::optional<SummaryField> deferred;
    const SummaryFacts facts{rule,
                             ctx.ev,
                             a,
                             m.matched,
                             ctx.ancestry.empty() ? nullptr : ctx.ancestry.front(),
                             ctx.names_pending,
                             &deferred};
    std::string& out = a.summary;
    std::string s;  // one placeholder's text, bounded before it joins the summary
    const std::string& t = rule.summary;
    std::size_t pos = 0;
    while (pos < t.size()) {
        const auto open = t.find('{', pos);
        if (open == std::string::npos) {
            out.append(t, pos);
            break;
        }
        out.append(t, pos, open - pos);
        const auto close = t.find('}', open);
        s.clear();
        if (const Placeholder* p =
                find_placeholder(std::string_view(t).substr(open + 1, close - open - 1))) {
            deferred.reset();
            p->render(facts, s);
            if (deferred) {  // its text comes later: its place is kept
                a.summary_holes.push_back({out.size(), *deferred});
            }
        }
        out += audit::bounded_text(s, kSummaryFieldBytes);
        pos = close + 1;
    }
}

namespace {

/// The {container.name} and {container.image} a summary kept the places of while the names
/// were read (and any other place still open).
void fill_names(Alert& a) {
    detail::fill_holes(a, true);
}

}  // namespace

void Engine::send(Alert&& a) {
    // The acting process's initiator when its container's start is not decided yet.
    std::shared_ptr<const proc::InitiatorSlot> undecided;
    if (const proc::ProcessInfo* p = a.initiator ? nullptr : table_.peek(a.process.pid);
        p != nullptr && p->exe == a.process.exe && p->initiator && !p->initiator->decided) {
        undecided = p->initiator;
    }
    const bool named_container = a.container && !a.container->id.empty() && names_;
    if (named_container || undecided) {
        bool pending = false;
        const bool named = named_container && enrich(a, &pending);
        if (((!named && pending) || undecided) && parked_.size() < 1024) {
            // Its names (or its container's start) are being read: held (bounded, at most
            // kNameWait), then sent with what is known.
            ++stats_.names_waited;
            parked_.push_back({std::move(a), clock_.now() + kNameWait, std::move(undecided)});
            return;
        }
    }
    fill_names(a);
    out_.dispatch(std::move(a));
}

bool Engine::enrich(Alert& a, bool* pending) {
    auto n = names_->lookup(*a.container, pending);
    if (!n) {
        return false;
    }
    ContainerRef& c = *a.container;
    if (!c.name) {
        c.name = n->name;
    }
    if (!c.image) {
        c.image = n->image;
    }
    if (!c.pod) {
        c.pod = n->pod;
    }
    if (!c.pod_namespace) {
        c.pod_namespace = n->pod_namespace;
    }
    if (n->runtime) {
        c.runtime = *n->runtime;
    }
    return true;
}

void Engine::release_parked(bool all) {
    release_start_waits(all);
    if (parked_.empty()) {
        return;
    }
    const auto now = clock_.now();
    std::vector<Parked> keep;
    for (auto& p : parked_) {
        bool pending = false;
        const bool named = p.alert.container && !p.alert.container->id.empty() && names_ &&
                           enrich(p.alert, &pending);
        const bool undecided = p.initiator && !p.initiator->decided;
        if (((named || !pending) && !undecided) || all || now >= p.until) {
            if (p.initiator && p.initiator->ref && !p.alert.initiator) {
                p.alert.initiator = *p.initiator->ref;
            }
            fill_names(p.alert);
            out_.dispatch(std::move(p.alert));
        } else {
            keep.push_back(std::move(p));
        }
    }
    parked_.swap(keep);
}

}  // namespace adock::rules
