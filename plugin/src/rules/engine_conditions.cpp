// SPDX-License-Identifier: Apache-2.0
// Whether a rule's conditions hold for an event (holds() and the condition families that need
// more than a comparison: paths, container requests, host namespaces).
#include <sys/stat.h>

#include "integrity/monitor.hpp"
#include "proc/namespaces.hpp"
#include "rules/engine_context.hpp"
#include "util/glob.hpp"
#include "util/safe_read.hpp"

namespace adock::rules {

using detail::seccomp_action;

namespace {

/// How long a container's file event waits, once, for the probe of its root.
constexpr unsigned kProbeWaitMs = 25;

/// The kernel's exe for a program with no file behind it: a memfd ("/memfd:NAME (deleted)"), a
/// file deleted since (" (deleted)"), a detached mount ("/", runc's sealed bind-mount copy).
bool fileless_program(std::string_view exe) {
    return exe.starts_with("/memfd:") || exe.ends_with(" (deleted)") || exe == "/";
}

}  // namespace

bool Engine::path_condition(const Conditions& c, Context& ctx, Match& m) {
    const auto& paths = ctx.object_paths();
    for (const auto& [path, item] : paths) {
        bool ok = true;
        std::optional<std::string> same_as;
        if (c.paths) {
            ok = c.paths->any(path);
            if (!ok) {
                ctx.attribution_of(containers_, table_, role_fn_);
                if (probe_ && ctx.container) {
                    // Not for the runtime's own setup (runc init before its pivot_root).
                    const proc::ProcessInfo* self = table_.peek(ctx.ev.pid);
                    if (self != nullptr && role_of(*self) == proc::RuntimeRole::None) {
                        (void)probe_->await(ctx.container->id, kProbeWaitMs);
                    }
                }
                same_as = identity_match(*c.paths,
                                         path,
                                         *item,
                                         ctx.ev,
                                         ctx.container ? ctx.container->id : std::string());
                ok = same_as.has_value();
                stats_.identity_matches += ok ? 1 : 0;
            }
        }
        if (ok && c.path_in) {
            // The directory the event names it in: the nearest PARENT item before it.
            std::optional<FileId> parent;
            for (const auto& q : ctx.ev.paths) {
                if (&q == item) {
                    break;
                }
                if (q.nametype == "PARENT" && q.inode != 0) {
                    parent = FileId{q.dev, q.inode};
                }
            }
            bool on_host = false;
            auto what =
                (*c.path_in)->match_file(path, FileId{item->dev, item->inode}, parent, &on_host);
            ok = what.has_value();
            if (ok) {
                m.matched = std::move(*what);
                m.file_on_host = on_host;
            }
        }
        if (ok) {
            m.file_path = path;
            m.same_as = std::move(same_as);
            return true;
        }
    }
    return false;
}

std::optional<Engine::Match> Engine::holds(const Conditions& c, Context& ctx) {
    return holds(c, ctx, Match{});
}

std::optional<Engine::Match> Engine::holds(const Conditions& c, Context& ctx, Match m) {
    const audit::Event& ev = ctx.ev;
    if (c.fileless && (ev.has_syscall && fileless_program(ev.exe)) != *c.fileless) {
        return std::nullopt;
    }
    if (c.record_types && !std::any_of(ev.record_types.begin(), ev.record_types.end(), [&](int t) {
            return c.record_types->contains(t);
        })) {
        return std::nullopt;
    }
    if (c.integrity_trusted && ctx.trusted != c.integrity_trusted) {
        return std::nullopt;
    }
    if (c.monitored) {
        bool watched = ctx.trusted.has_value();  // a scan finding is about a monitored file
        if (!watched && integrity_ != nullptr) {
            for (const auto& [path, item] : ctx.object_paths()) {
                std::pair<std::string, std::uint64_t> parent;
                for (const auto& q : ev.paths) {
                    if (&q == item) {
                        break;
                    }
                    if (q.nametype == "PARENT" && q.inode != 0) {
                        parent = {q.dev, q.inode};
                    }
                }
                if (integrity_->monitors(path, item->inode, parent)) {
                    watched = true;
                    break;
                }
            }
        }
        if (watched != *c.monitored) {
            return std::nullopt;
        }
    }
    if (c.seccomp_actions) {
        if (!ev.seccomp) {
            return std::nullopt;
        }
        std::string action = seccomp_action(ev.seccomp->code);
        if (action.starts_with("errno(")) {
            action = "errno";
        }
        if (!c.seccomp_actions->contains(action)) {
            return std::nullopt;
        }
    }
    if (c.syscalls && (ctx.syscall == nullptr || !c.syscalls->contains(*ctx.syscall))) {
        return std::nullopt;
    }
    if (c.keys && (!ev.key || !c.keys->contains(*ev.key))) {
        return std::nullopt;
    }
    if (c.success && ev.success != c.success) {
        return std::nullopt;
    }
    if (c.exits && (!ev.has_syscall || !c.exits->contains(ev.exit))) {
        return std::nullopt;
    }
    auto id_in = [](const std::optional<std::set<std::uint32_t>>& set,
                    const std::optional<std::uint32_t>& id) {
        return !set || (id && set->contains(*id));
    };
    if (!id_in(c.uids, ev.uid) || !id_in(c.euids, ev.euid) || !id_in(c.auids, ev.auid)) {
        return std::nullopt;
    }
    if (c.comm && !std::any_of(c.comm->begin(), c.comm->end(), [&](const std::string& pat) {
            return util::glob_matches(pat, ev.comm);
        })) {
        return std::nullopt;
    }
    if (c.operations && (static_cast<std::uint32_t>(ctx.operation()) & *c.operations) == 0) {
        return std::nullopt;
    }
    if ((c.paths || c.path_in) && !path_condition(c, ctx, m)) {
        return std::nullopt;
    }
    if (c.argv_contains) {
        const bool any = std::any_of(
            c.argv_contains->begin(), c.argv_contains->end(), [&](const std::string& a) {
                return std::find(ctx.argv.begin(), ctx.argv.end(), a) != ctx.argv.end();
            });
        if (!any) {
            return std::nullopt;
        }
    }
    // Programs are known by what their executable is (the host's file, by device and inode),
    // never by the name or argv a process gives itself.
    auto actor_matches = [&](const ProgramList& list) -> std::optional<std::string> {
        const proc::ProcessInfo* self = table_.peek(ev.pid);
        if (self == nullptr && ev.pid > 0) {
            self = table_.find(ev.pid);
        }
        if (self == nullptr) {
            return std::nullopt;
        }
        return match_proc(list, *self);
    };
    if (c.actor_in) {
        auto what = actor_matches(**c.actor_in);
        if (!what) {
            return std::nullopt;
        }
        m.matched = std::move(*what);
    }
    if (c.actor_not_in && actor_matches(**c.actor_not_in)) {
        return std::nullopt;
    }
    if (c.parent_in || c.parent_not_in) {
        if (!ctx.parent_done) {
            ctx.parent = table_.find(ev.ppid);
            ctx.parent_done = true;
        }
        if (c.parent_in && (ctx.parent == nullptr || !match_proc(**c.parent_in, *ctx.parent))) {
            return std::nullopt;
        }
        // An unknown parent is not a known manager: report rather than trust.
        if (c.parent_not_in && ctx.parent != nullptr &&
            match_proc(**c.parent_not_in, *ctx.parent)) {
            return std::nullopt;
        }
    }
    if (c.ancestor_in) {
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        if (!std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return match_proc(**c.ancestor_in, *p).has_value();
            })) {
            return std::nullopt;
        }
    }
    if (c.lineage_in) {
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        const bool self_in = actor_matches(**c.lineage_in).has_value();
        if (!self_in && !std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return match_proc(**c.lineage_in, *p).has_value();
            })) {
            return std::nullopt;
        }
    }
    if (c.lineage_named_in) {
        // By name, as the processes name their executables (a container's own paths): for
        // context such as "a package manager of the image did it", never to trust.
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        if (!(*c.lineage_named_in)->match(ev.exe) &&
            !std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return (*c.lineage_named_in)->match(p->exe).has_value();
            })) {
            return std::nullopt;
        }
    }
    if (c.in_container) {
        const proc::Attribution a = ctx.attribution_of(containers_, table_, role_fn_);
        // Unknown is neither: it never passes for the host, nor fires an in-container rule.
        if (a == proc::Attribution::Unknown ||
            (a == proc::Attribution::Container) != *c.in_container) {
            return std::nullopt;
        }
    }
    if (c.drift) {
        bool written = false;
        if (ctx.attribution_of(containers_, table_, role_fn_) == proc::Attribution::Container &&
            ctx.container && !ctx.container->id.empty()) {
            // The program the exec ran (item 0: a script itself, not its interpreter).
            for (const auto& p : ev.paths) {
                if (p.item == 0 && p.inode != 0) {
                    if (const std::string* at = written_.find(ctx.container->id, p.dev, p.inode)) {
                        written = true;
                        m.matched = "written in the container as " + *at;
                    }
                    break;
                }
            }
        }
        if (written != *c.drift) {
            return std::nullopt;
        }
    }
    if (c.file_on_host && m.file_on_host != *c.file_on_host) {
        return std::nullopt;
    }
    if (c.image_build) {
        const bool build =
            ctx.attribution_of(containers_, table_, role_fn_) == proc::Attribution::Container &&
            ctx.container && ctx.container->runtime == "buildkit";
        bool names_build = false;
        if (!build && ctx.container && names_) {
            if (auto n = names_->lookup(*ctx.container)) {
                names_build = n->image_build;
            }
        }
        if ((build || names_build) != *c.image_build) {
            return std::nullopt;
        }
    }
    if (c.host_namespaces) {
        auto shared = host_namespace_condition(*c.host_namespaces, ctx);
        if (!shared) {
            return std::nullopt;
        }
        m.matched = std::move(*shared);
    }
    if (c.requests) {
        auto asked = request_condition(*c.requests, ctx);
        if (!asked) {
            return std::nullopt;
        }
        m.matched = std::move(*asked);
    }
    return m;
}

std::optional<std::string> Engine::request_condition(std::uint32_t kinds, Context& ctx) {
    const proc::ProcessInfo* self = table_.peek(ctx.ev.pid);
    if (self == nullptr) {
        return std::nullopt;
    }
    std::vector<proc::RequestFinding> found;
    const bool in_container =
        ctx.attribution_of(containers_, table_, role_fn_) == proc::Attribution::Container;
    if (ctx.syscall != nullptr && *ctx.syscall == "mount") {
        // mount(2) of a block device from a container, refused or not: the kernel's PATH record
        // of the source is the device node (a node a container made with mknod names the host's
        // disk by its numbers). Its mode is the kernel's, its name the caller's.
        if (!in_container ||
            (kinds & static_cast<std::uint32_t>(proc::RequestKind::HostMount)) == 0) {
            return std::nullopt;
        }
        for (const auto& [path, item] : ctx.object_paths()) {
            if ((item->mode & S_IFMT) == S_IFBLK) {
                return "mount of the block device " + path.substr(0, 512);
            }
        }
        return std::nullopt;
    }
    if (ctx.syscall != nullptr && *ctx.syscall == "chroot") {
        // chroot(2) from a container onto the host's root (a bind mount of /) or onto a block
        // device the container mounted: by the directory's dev/inode in the kernel's PATH
        // record, whatever the container calls it.
        if (!in_container ||
            (kinds & static_cast<std::uint32_t>(proc::RequestKind::HostMount)) == 0 ||
            !ctx.container || ctx.container->id.empty()) {
            return std::nullopt;
        }
        for (const auto& [path, item] : ctx.object_paths()) {
            if ((item->mode & S_IFMT) != S_IFDIR) {
                continue;
            }
            if (host_root_ && item->dev == host_root_->first && item->inode == host_root_->second) {
                return "chroot into the host's root directory, mounted at " + path.substr(0, 512);
            }
            if (mounted_blk_.contains(ctx.container->id + '\x1f' + item->dev)) {
                return "chroot into " + path.substr(0, 512) + ", the block device " + item->dev +
                       " the container mounted";
            }
        }
        return std::nullopt;
    }
    if (in_container) {
        // The runtime starting the container (runc init): what the container was created with.
        // Live only (the runtimes' state files); the event waits while they are read.
        if (role_of(*self) != proc::RuntimeRole::OciRuntime || !names_ || !ctx.container ||
            ctx.container->id.empty()) {
            return std::nullopt;
        }
        bool pending = false;
        const auto n = names_->lookup(*ctx.container, &pending);
        if (!n) {
            ctx.spec_pending = pending;
            return std::nullopt;
        }
        found = proc::request_from_spec(n->spec);
        for (auto& f : found) {
            f.what += " in the spec of container " +
                      (n->name ? *n->name : ctx.container->id.substr(0, 12)) +
                      (n->image ? " (image " + *n->image + ")" : std::string());
        }
    } else {
        // A host client or runtime, by its executable's identity: what its command line asks
        // (read first, once per event for every rule that asks: most command lines ask
        // nothing, and the identity costs more).
        if (!ctx.argv_requests) {
            ctx.argv_requests = proc::request_from_argv(ctx.argv);
        }
        if (ctx.argv_requests->empty()) {
            return std::nullopt;
        }
        found = *ctx.argv_requests;
        const bool requester = role_of(*self) == proc::RuntimeRole::OciRuntime ||
                               (clients_ != nullptr && match_proc(*clients_, *self));
        if (!requester) {
            return std::nullopt;
        }
    }
    std::string what;
    for (const auto& f : found) {
        if ((static_cast<std::uint32_t>(f.kind) & kinds) != 0 && what.size() < 1024) {
            what += (what.empty() ? "" : "; ") + f.what;
        }
    }
    if (what.empty()) {
        return std::nullopt;
    }
    return what;
}

void Engine::release_spec_waits(bool all) {
    if (spec_waits_.empty()) {
        return;
    }
    const auto now = clock_.now();
    std::vector<SpecWait> keep;
    std::vector<SpecWait> ready;
    for (auto& w : spec_waits_) {
        bool pending = false;
        if (names_ && !names_->lookup(w.container, &pending) && pending && !all && now < w.until) {
            keep.push_back(std::move(w));
            continue;
        }
        ready.push_back(std::move(w));
    }
    spec_waits_.swap(keep);
    releasing_spec_waits_ = true;
    for (auto& w : ready) {
        const auto it = std::find_if(rules_->rules.begin(),
                                     rules_->rules.end(),
                                     [&](const Rule& r) { return r.id == w.rule_id && r.enabled; });
        if (it == rules_->rules.end()) {
            continue;  // reloaded away meanwhile
        }
        Context ctx = Context::of_event(w.event, &syscall_of(w.event));
        evaluate(*it, ctx);
        if (ctx.spec_pending) {
            ++stats_.spec_unanswered;  // not read in time: nothing is known of its spec
        }
    }
    releasing_spec_waits_ = false;
}

std::optional<std::string> Engine::host_namespace_condition(const std::set<std::string>& kinds,
                                                            Context& ctx) {
    // Live only: a replay's processes are another time's. The process must still be the one the
    // event is about: its cgroup names the container the event was attributed to (a pid reused
    // by a host process is in the host's namespaces, and no escape).
    if (!table_.use_proc() || ctx.ev.pid <= 0) {
        return std::nullopt;
    }
    const proc::Attribution a = ctx.attribution_of(containers_, table_, role_fn_);
    if (a == proc::Attribution::Container) {
        const auto cg = util::read_beneath(
            table_.proc_root(), std::to_string(ctx.ev.pid) + "/cgroup", kCgroupReadBytes);
        const auto now = cg ? proc::container_from_cgroup(
                                  *cg, [](std::string_view, std::string_view) { return true; })
                            : std::nullopt;
        if (!now || !ctx.container || now->id != ctx.container->id) {
            return std::nullopt;
        }
    }
    const auto shared = proc::namespaces_shared_with_self(table_.proc_root(), ctx.ev.pid, kinds);
    if (!shared || shared->empty()) {
        return std::nullopt;
    }
    std::string joined;
    for (const auto& k : *shared) {
        joined += (joined.empty() ? "" : ",") + k;
    }
    return joined;
}

}  // namespace adock::rules
