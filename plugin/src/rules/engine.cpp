// SPDX-License-Identifier: Apache-2.0
#include "rules/engine.hpp"

#include <unistd.h>

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "integrity/monitor.hpp"
#include "rules/fileop.hpp"

namespace adock::rules {

std::string local_host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) {
        return "unknown";
    }
    return buf.data();
}

namespace {

std::string join(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        out += a;
    }
    return out;
}

ProcessRef to_ref(const proc::ProcessInfo& p) {
    ProcessRef r;
    r.pid = p.pid;
    r.ppid = p.ppid;
    r.exe = p.exe;
    r.comm = p.comm;
    r.argv = p.argv;
    r.uid = p.uid;
    r.auid = p.auid;
    return r;
}

/// kill_process, kill_thread, trap, errno(N), user_notif, trace, log, allow: the action bits of a
/// SECCOMP record's `code` (SECCOMP_RET_ACTION_FULL).
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

constexpr std::size_t kMaxWindows = 4096;

std::string integrity_text(const IntegrityRef& ir, const std::string& name) {
    if (name == "integrity.change") {
        return ir.change.value_or("-");
    }
    return ir.trusted_by.value_or("nothing vouches for it");
}

/// Replaces the {integrity.*} placeholders a summary kept until the file was examined.
void fill_integrity(Alert& a) {
    for (const std::string name : {"integrity.change", "integrity.trust"}) {
        const std::string placeholder = "{" + name + "}";
        for (auto pos = a.summary.find(placeholder); pos != std::string::npos; pos = a.summary.find(placeholder)) {
            a.summary.replace(pos, placeholder.size(), a.integrity ? integrity_text(*a.integrity, name) : "-");
        }
    }
}
constexpr std::chrono::seconds kRefreshInterval{60};

}  // namespace

/// Facts about one event, computed on first use: most events never need the parent,
/// the ancestry, the container or the file paths.
struct Engine::Context {
    Context(const audit::Event& e, const std::vector<std::string>& a) : ev(e), argv(a) {}

    const audit::Event& ev;
    const std::vector<std::string>& argv;
    const std::string* syscall = nullptr;  ///< name; null for SECCOMP-only events
    bool parent_done = false;
    const proc::ProcessInfo* parent = nullptr;
    bool ancestry_done = false;
    std::vector<const proc::ProcessInfo*> ancestry;
    bool container_done = false;
    std::optional<ContainerRef> container;
    bool op_done = false;
    FileOp op = FileOp::None;
    bool paths_done = false;
    /// Absolute paths of the event's PATH items that name the object (not PARENT directories),
    /// with the item they came from.
    std::vector<std::pair<std::string, const audit::PathItem*>> paths;
    std::optional<std::string> file_path;  ///< the path a path condition matched
    std::string matched;                   ///< what actor_in / path_in matched (e.g. "runc")
    std::optional<bool> trusted;           ///< integrity findings: something vouches for the file

    const std::vector<const proc::ProcessInfo*>& lineage(proc::ProcessTable& t, unsigned depth) {
        if (!ancestry_done) {
            ancestry = t.ancestry(ev.ppid, depth);
            ancestry_done = true;
        }
        return ancestry;
    }
    const std::optional<ContainerRef>& container_of(proc::ContainerResolver& c, proc::ProcessTable& t,
                                                    unsigned depth) {
        if (!container_done) {
            container = c.for_process(t, ev.pid, depth);
            container_done = true;
        }
        return container;
    }
    FileOp operation() {
        if (!op_done) {
            op = syscall != nullptr ? classify(*syscall, ev) : FileOp::None;
            op_done = true;
        }
        return op;
    }
    const std::vector<std::pair<std::string, const audit::PathItem*>>& object_paths() {
        if (!paths_done) {
            for (const auto& p : ev.paths) {
                if (p.nametype != "PARENT" && !p.name.empty()) {
                    paths.emplace_back(absolute_path(p.name, ev.cwd), &p);
                }
            }
            paths_done = true;
        }
        return paths;
    }
};

Engine::Engine(const config::Config& cfg, std::shared_ptr<const RuleSet> rules, outputs::Dispatcher& out)
    : host_(cfg.host.empty() ? local_host_name() : cfg.host),
      ancestry_depth_(cfg.processes.ancestry_depth),
      rules_(std::move(rules)),
      out_(out),
      table_(cfg.processes, cfg.proc_root),
      containers_(cfg.containerd_state_dir, cfg.docker_containers_dir) {}

void Engine::reconfigure(const config::Config& cfg, std::shared_ptr<const RuleSet> rules) {
    host_ = cfg.host.empty() ? local_host_name() : cfg.host;
    ancestry_depth_ = cfg.processes.ancestry_depth;
    table_.set_config(cfg.processes);
    rules_ = std::move(rules);
}

std::size_t Engine::rule_count() const {
    return static_cast<std::size_t>(std::count_if(rules_->rules.begin(), rules_->rules.end(), [](const Rule& r) {
        return r.enabled;
    }));
}

const std::string& Engine::syscall_of(const audit::Event& ev) {
    const std::uint64_t k = (static_cast<std::uint64_t>(ev.arch) << 32U) | static_cast<std::uint32_t>(ev.syscall);
    auto it = syscall_names_.find(k);
    if (it == syscall_names_.end()) {
        it = syscall_names_.emplace(k, audit::syscall_name(ev.arch, ev.syscall)).first;
    }
    return it->second;
}

void Engine::on_event(const audit::Event& ev) {
    ++stats_.events;
    if (integrity_ != nullptr && integrity_->has_verdicts()) {
        collect_verdicts();
    }
    table_.observe(ev);
    if (ev.sec >= next_expiry_sec_) {
        close_expired(ev.sec, std::chrono::steady_clock::time_point::min());
    }
    const std::vector<const Rule*>* first = nullptr;
    const std::vector<const Rule*>* second = nullptr;
    const std::string* name = nullptr;
    if (ev.has_syscall) {
        name = &syscall_of(ev);
        if (ev.has_execve || *name == "execve" || *name == "execveat") {
            ++stats_.exec_events;
            first = &rules_->exec_rules;
        } else {
            auto it = rules_->syscall_rules_by_name.find(*name);
            if (it != rules_->syscall_rules_by_name.end()) {
                first = &it->second;
            }
            second = &rules_->syscall_rules_any;
        }
    } else if (ev.seccomp) {
        first = &rules_->seccomp_rules;
    }
    if ((first == nullptr || first->empty()) && (second == nullptr || second->empty())) {
        return;
    }
    Context ctx(ev, ev.has_execve ? ev.argv : ev.proctitle);
    ctx.syscall = name;
    for (const auto* list : {first, second}) {
        if (list == nullptr) {
            continue;
        }
        for (const Rule* rule : *list) {
            ++stats_.rule_tests;
            evaluate(*rule, ctx);
        }
    }
}

bool Engine::path_condition(const Conditions& c, Context& ctx) {
    const auto& paths = ctx.object_paths();
    for (const auto& [path, item] : paths) {
        bool ok = true;
        if (c.paths) {
            // An init-capture: clang 14 (the fuzz build) cannot capture a structured binding.
            ok = std::any_of(c.paths->begin(), c.paths->end(), [&p = path](const std::string& pat) {
                return path_matches(pat, p);
            });
        }
        if (ok && c.path_in) {
            auto m = (*c.path_in)->match_file(path, item->dev, item->inode);
            ok = m.has_value();
            if (ok) {
                ctx.matched = *m;
            }
        }
        if (ok) {
            ctx.file_path = path;
            return true;
        }
    }
    return false;
}

bool Engine::holds(const Conditions& c, Context& ctx) {
    const audit::Event& ev = ctx.ev;
    if (c.record_types && !std::any_of(ev.record_types.begin(), ev.record_types.end(), [&](int t) {
            return c.record_types->contains(t);
        })) {
        return false;
    }
    if (c.integrity_trusted && ctx.trusted != c.integrity_trusted) {
        return false;
    }
    if (c.monitored) {
        bool watched = ctx.trusted.has_value();  // a scan finding is about a monitored file
        if (!watched && integrity_ != nullptr) {
            for (const auto& [path, item] : ctx.object_paths()) {
                if (integrity_->monitors(path, item->inode)) {
                    watched = true;
                    break;
                }
            }
        }
        if (watched != *c.monitored) {
            return false;
        }
    }
    if (c.seccomp_actions) {
        if (!ev.seccomp) {
            return false;
        }
        std::string action = seccomp_action(ev.seccomp->code);
        if (action.starts_with("errno(")) {
            action = "errno";
        }
        if (!c.seccomp_actions->contains(action)) {
            return false;
        }
    }
    if (c.syscalls && (ctx.syscall == nullptr || !c.syscalls->contains(*ctx.syscall))) {
        return false;
    }
    if (c.keys && (!ev.key || !c.keys->contains(*ev.key))) {
        return false;
    }
    if (c.success && ev.success != c.success) {
        return false;
    }
    if (c.exits && (!ev.has_syscall || !c.exits->contains(ev.exit))) {
        return false;
    }
    auto id_in = [](const std::optional<std::set<std::uint32_t>>& set, const std::optional<std::uint32_t>& id) {
        return !set || (id && set->contains(*id));
    };
    if (!id_in(c.uids, ev.uid) || !id_in(c.euids, ev.euid) || !id_in(c.auids, ev.auid)) {
        return false;
    }
    if (c.comm && !std::any_of(c.comm->begin(), c.comm->end(), [&](const std::string& pat) {
            return ::fnmatch(pat.c_str(), ev.comm.c_str(), 0) == 0;
        })) {
        return false;
    }
    if (c.operations && (static_cast<std::uint32_t>(ctx.operation()) & *c.operations) == 0) {
        return false;
    }
    if ((c.paths || c.path_in) && !path_condition(c, ctx)) {
        return false;
    }
    if (c.argv_contains) {
        const bool any = std::any_of(c.argv_contains->begin(), c.argv_contains->end(), [&](const std::string& a) {
            return std::find(ctx.argv.begin(), ctx.argv.end(), a) != ctx.argv.end();
        });
        if (!any) {
            return false;
        }
    }
    auto actor_matches = [&](const ProgramList& list) -> std::optional<std::string> {
        if (auto m = list.match(ev.exe)) {
            return m;
        }
        if (!ev.has_execve) {
            // The image the process was exec'd as (a fork that never exec'd runs its parent's):
            // runc init's children report exe "/" once inside the container's mount namespace,
            // but the stream saw the host's runc start them.
            const proc::ProcessInfo* self = table_.find(ev.pid);
            if (self != nullptr && self->exe != ev.exe) {
                if (auto m = list.match(self->exe)) {
                    return m;
                }
            }
            if ((self == nullptr || !self->exec_seen) && ev.ppid > 0) {
                const proc::ProcessInfo* parent = table_.find(ev.ppid);
                if (parent != nullptr && parent->exec_seen) {
                    return list.match(parent->exe);
                }
            }
            return std::nullopt;
        }
        for (const auto& p : ev.paths) {
            if (p.item == 0 && p.inode != 0 && list.identities.contains({p.dev, p.inode})) {
                return "inode " + p.dev + ":" + std::to_string(p.inode) + " of " + list.name;
            }
        }
        return std::nullopt;
    };
    if (c.actor_in) {
        auto m = actor_matches(**c.actor_in);
        if (!m) {
            return false;
        }
        ctx.matched = *m;
    }
    if (c.actor_not_in && actor_matches(**c.actor_not_in)) {
        return false;
    }
    if (c.parent_in || c.parent_not_in) {
        if (!ctx.parent_done) {
            ctx.parent = table_.find(ev.ppid);
            ctx.parent_done = true;
        }
        if (c.parent_in && (ctx.parent == nullptr || !(*c.parent_in)->match(ctx.parent->exe))) {
            return false;
        }
        // An unknown parent is not a known manager: report rather than trust.
        if (c.parent_not_in && ctx.parent != nullptr && (*c.parent_not_in)->match(ctx.parent->exe)) {
            return false;
        }
    }
    if (c.ancestor_in) {
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        if (!std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return (*c.ancestor_in)->match(p->exe).has_value();
            })) {
            return false;
        }
    }
    if (c.lineage_in) {
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        if (!(*c.lineage_in)->match(ev.exe) && !std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return (*c.lineage_in)->match(p->exe).has_value();
            })) {
            return false;
        }
    }
    if (c.in_container) {
        if (ctx.container_of(containers_, table_, ancestry_depth_).has_value() != *c.in_container) {
            return false;
        }
    }
    return true;
}

void Engine::evaluate(const Rule& rule, Context& ctx) {
    ctx.file_path.reset();
    if (!holds(rule.match, ctx)) {
        return;
    }
    const std::optional<std::string> file_path = ctx.file_path;
    const std::string matched = ctx.matched;
    for (const auto& ex : rule.exceptions) {
        if (holds(ex, ctx)) {
            ++stats_.suppressed;
            return;
        }
    }
    ctx.file_path = file_path;
    ctx.matched = matched;
    if (rule.match.content) {
        // Decided by the integrity monitor, off this thread; the alert is built on its verdict.
        if (integrity_ == nullptr) {
            ++stats_.content_skipped;
            return;
        }
        ++stats_.content_checks;
        (void)integrity_->submit({ctx.ev, rule.id, *rule.match.content});
        return;
    }
    ++stats_.matches;
    Alert a = build_alert(rule, ctx);
    finish_alert(rule, ctx, a);
    if (rule.aggregate) {
        aggregate(rule, std::move(a), ctx.ev.sec);
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
    out_.dispatch(std::move(a));
}

void Engine::finish_alert(const Rule& rule, Context& ctx, Alert& a) {
    const std::optional<std::string> file_path = ctx.file_path;
    const std::string matched = ctx.matched;
    for (const auto& v : rule.variants) {
        if (holds(v.when, ctx)) {
            if (v.severity) {
                a.severity = *v.severity;
            }
            for (const auto& t : v.add_tags) {
                if (std::find(a.tags.begin(), a.tags.end(), t) == a.tags.end()) {
                    a.tags.push_back(t);
                }
            }
            for (const auto& m : v.add_mitre) {
                if (std::find(a.mitre.begin(), a.mitre.end(), m) == a.mitre.end()) {
                    a.mitre.push_back(m);
                }
            }
            break;
        }
    }
    ctx.file_path = file_path;
    ctx.matched = matched;
    render_summary(rule, ctx, a);
    if (rule.match.path_in) {
        const FileOp op = ctx.operation();
        refresh_pending_ = refresh_pending_ || op == FileOp::Rename || op == FileOp::Create ||
                           op == FileOp::Unlink || op == FileOp::Link;
    }
}

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
                     std::chrono::system_clock::now().time_since_epoch()).count();
        audit::PathItem item;
        item.item = 0;
        item.name = f.path;
        item.nametype = "NORMAL";
        const auto& facts = f.after ? f.after : f.before;
        if (facts) {
            item.inode = facts->inode;
        }
        ev.paths.push_back(item);
        const std::vector<std::string> no_argv;
        for (const Rule* rule : rules_->integrity_rules) {
            Context ctx(ev, no_argv);
            ctx.op = op_of_change(f.change);
            ctx.op_done = true;
            ctx.trusted = !f.trusted_by.empty();
            ctx.ancestry_done = true;
            ctx.container_done = true;
            ++stats_.rule_tests;
            if (!holds(rule->match, ctx)) {
                continue;
            }
            if (std::any_of(rule->exceptions.begin(), rule->exceptions.end(), [&](const Conditions& ex) {
                    return holds(ex, ctx);
                })) {
                ++stats_.suppressed;
                continue;
            }
            ++stats_.matches;
            Alert a = build_alert(*rule, ctx);
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
            finish_alert(*rule, ctx, a);
            out_.dispatch(std::move(a));
        }
    }
}

void Engine::collect_verdicts() {
    if (integrity_ == nullptr || !integrity_->has_verdicts()) {
        return;
    }
    collect_findings();
    for (auto& a : integrity_->take_ready()) {
        fill_integrity(a);
        out_.dispatch(std::move(a));
    }
    for (auto& v : integrity_->take_verdicts()) {
        const auto it = std::find_if(rules_->rules.begin(), rules_->rules.end(), [&](const Rule& r) {
            return r.id == v.rule_id && r.enabled;
        });
        if (it == rules_->rules.end()) {
            continue;  // reloaded away meanwhile
        }
        Context ctx(v.event, v.event.has_execve ? v.event.argv : v.event.proctitle);
        ctx.syscall = &syscall_of(v.event);
        (void)holds(it->match, ctx);  // recomputes what the summary shows (matched, parent)
        ++stats_.matches;
        Alert a = build_alert(*it, ctx);
        finish_alert(*it, ctx, a);
        a.integrity = v.integrity;
        a.summary += v.note;
        out_.dispatch(std::move(a));
    }
}

Alert Engine::build_alert(const Rule& rule, Context& ctx) {
    const audit::Event& ev = ctx.ev;
    Alert a;
    a.time = audit::rfc3339(ev.sec, ev.milli);
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
    a.process.argv = ctx.argv;
    a.process.uid = ev.uid;
    a.process.auid = ev.auid;
    if (a.process.ppid < 0 || a.process.argv.empty()) {
        // SECCOMP records carry no ppid and no argv: what the stream taught us about the pid.
        if (const proc::ProcessInfo* self = table_.find(ev.pid)) {
            if (a.process.ppid < 0) {
                a.process.ppid = self->ppid;
            }
            if (a.process.argv.empty()) {
                a.process.argv = self->argv;
            }
        }
    }
    if (a.process.ppid >= 0 && ev.ppid < 0) {
        ctx.ancestry = table_.ancestry(a.process.ppid, ancestry_depth_);
        ctx.ancestry_done = true;
    }
    for (const auto* p : ctx.lineage(table_, ancestry_depth_)) {
        a.ancestry.push_back(to_ref(*p));
    }
    a.container = ctx.container_of(containers_, table_, ancestry_depth_);
    if (ev.has_syscall && (ev.has_execve || ctx.operation() == FileOp::Exec)) {
        a.file = FileRef{ev.exe, "exec"};
    } else if (ctx.operation() != FileOp::None) {
        std::string path = ctx.file_path.value_or("");
        if (path.empty() && !ctx.object_paths().empty()) {
            path = ctx.object_paths().front().first;
        }
        a.file = FileRef{path, file_op_name(ctx.operation())};
    }
    if (ev.seccomp) {
        a.seccomp = SeccompRef{audit::syscall_name(ev.seccomp->arch, ev.seccomp->syscall),
                               seccomp_action(ev.seccomp->code)};
    }
    a.remediation = rule.remediation;
    return a;
}

void Engine::render_summary(const Rule& rule, Context& ctx, Alert& a) {
    const audit::Event& ev = ctx.ev;
    const proc::ProcessInfo* parent = ctx.ancestry.empty() ? nullptr : ctx.ancestry.front();
    std::string& s = a.summary;
    const std::string& t = rule.summary;
    std::size_t pos = 0;
    while (pos < t.size()) {
        const auto open = t.find('{', pos);
        if (open == std::string::npos) {
            s.append(t, pos);
            break;
        }
        s.append(t, pos, open - pos);
        const auto close = t.find('}', open);
        const std::string name = t.substr(open + 1, close - open - 1);
        if (name == "process.exe") {
            s += ev.exe;
        } else if (name == "process.pid") {
            s += std::to_string(ev.pid);
        } else if (name == "process.comm") {
            s += ev.comm;
        } else if (name == "process.cmdline") {
            s += join(a.process.argv);
        } else if (name == "parent.exe") {
            s += parent != nullptr ? parent->exe : std::string("(unknown, pid ") + std::to_string(a.process.ppid) + ")";
        } else if (name == "parent.pid") {
            s += std::to_string(a.process.ppid);
        } else if (name == "parent.cmdline") {
            s += parent != nullptr ? join(parent->argv) : std::string("?");
        } else if (name == "matched") {
            s += ctx.matched;
        } else if (name == "container.id") {
            s += a.container ? a.container->id : std::string("host");
        } else if (name == "container.name") {
            s += a.container && a.container->name ? *a.container->name : std::string("-");
        } else if (name == "container.image") {
            s += a.container && a.container->image ? *a.container->image : std::string("-");
        } else if (name == "event.key") {
            s += ev.key.value_or("-");
        } else if (name == "event.result") {
            if (!ev.has_syscall || !ev.success) {
                s += "-";
            } else if (*ev.success) {
                s += "succeeded";
            } else {
                s += "failed (exit " + std::to_string(ev.exit) + ")";
            }
        } else if (name == "syscall") {
            s += a.syscall.value_or("-");
        } else if (name == "file.path") {
            s += a.file ? a.file->path : std::string("-");
        } else if (name == "file.operation") {
            s += a.file ? a.file->operation : std::string("-");
        } else if (name == "seccomp.syscall") {
            s += a.seccomp ? a.seccomp->syscall : std::string("-");
        } else if (name == "seccomp.action") {
            s += a.seccomp ? a.seccomp->action : std::string("-");
        } else if (name == "integrity.change" || name == "integrity.trust") {
            if (a.integrity) {
                s += integrity_text(*a.integrity, name);
            } else {
                s += "{" + name + "}";  // filled in when the integrity monitor has looked
            }
        } else if (name == "rule.id") {
            s += rule.id;
        }
        pos = close + 1;
    }
}

void Engine::aggregate(const Rule& rule, Alert&& alert, std::int64_t sec) {
    std::string key = rule.id;
    for (const auto& f : rule.aggregate->by) {
        key += '\x1f';
        if (f == "container.id") {
            key += alert.container ? alert.container->id : std::string("host");
        } else if (f == "seccomp.syscall") {
            key += alert.seccomp ? alert.seccomp->syscall : std::string();
        } else if (f == "event.syscall") {
            key += alert.syscall.value_or("");
        } else if (f == "process.exe") {
            key += alert.process.exe;
        } else if (f == "file.path") {
            key += alert.file ? alert.file->path : std::string();
        }
    }
    auto it = windows_.find(key);
    if (it != windows_.end()) {
        ++it->second.repeats;
        ++stats_.aggregated;
        it->second.last = std::move(alert);
        return;
    }
    if (windows_.size() >= kMaxWindows) {
        // Bounded: close the window that ends first to make room (its count goes out now).
        auto oldest = std::min_element(windows_.begin(), windows_.end(), [](const auto& x, const auto& y) {
            return x.second.end_sec < y.second.end_sec;
        });
        close_window(oldest->second);
        windows_.erase(oldest);
    }
    Aggregation agg;
    agg.window_s = rule.aggregate->window_s;
    agg.end_sec = sec + static_cast<std::int64_t>(agg.window_s);
    agg.last = alert;
    agg.end_wall = std::chrono::steady_clock::now() + std::chrono::seconds(agg.window_s);
    alert.count = 1;
    next_expiry_sec_ = std::min(next_expiry_sec_, agg.end_sec);
    windows_.emplace(std::move(key), std::move(agg));
    out_.dispatch(std::move(alert));
}

void Engine::close_window(Aggregation& agg) {
    if (agg.repeats == 0) {
        return;
    }
    Alert a = std::move(agg.last);
    a.count = agg.repeats;
    a.summary += " (repeated " + std::to_string(agg.repeats) + " more time" + (agg.repeats == 1 ? "" : "s") +
                 " within " + std::to_string(agg.window_s) + " s of the first alert)";
    out_.dispatch(std::move(a));
}

void Engine::close_expired(std::int64_t sec, std::chrono::steady_clock::time_point now) {
    next_expiry_sec_ = INT64_MAX;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (sec >= it->second.end_sec || now >= it->second.end_wall) {
            close_window(it->second);
            it = windows_.erase(it);
        } else {
            next_expiry_sec_ = std::min(next_expiry_sec_, it->second.end_sec);
            ++it;
        }
    }
}

void Engine::tick(std::chrono::steady_clock::time_point now) {
    collect_verdicts();
    if (!windows_.empty()) {
        close_expired(INT64_MIN, now);
    }
    if (refresh_pending_ || now >= next_refresh_) {
        // Files named by the rules may have been replaced (package updates): new inodes.
        rules_->refresh_identities();
        refresh_pending_ = false;
        next_refresh_ = now + kRefreshInterval;
    }
}

void Engine::flush() {
    for (auto& [key, agg] : windows_) {
        close_window(agg);
    }
    windows_.clear();
    next_expiry_sec_ = INT64_MAX;
}

}  // namespace adock::rules
