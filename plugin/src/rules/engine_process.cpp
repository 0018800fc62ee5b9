// SPDX-License-Identifier: Apache-2.0
// What an event teaches the engine before any rule runs: forks and execs (the process table),
// who asked a runtime for a container (initiators and the start waits), the files containers
// write and the block devices they mount, and the files of interest by dev/inode.
#include <sys/stat.h>

#include "proc/namespaces.hpp"
#include "rules/engine_context.hpp"
#include "util/audit_dev.hpp"

namespace adock::rules {

using detail::event_ms;
using detail::kNameWait;

namespace {

/// runc's re-execution of itself: execveat of a sealed copy (empty path, a memfd, /proc/self/exe).
bool self_clone_shape(const audit::Event& ev, const std::string& syscall) {
    if (syscall == "execveat" || ev.exe.starts_with("/memfd:") || ev.exe == "/") {
        return true;
    }
    for (const auto& p : ev.paths) {
        if (p.item == 0) {
            return p.name.empty() || p.name == "/proc/self/exe";
        }
    }
    return false;
}

std::string identity_key(const std::string& scope, const std::string& dev, std::uint64_t inode) {
    return scope + '\x1f' + dev + '/' + std::to_string(inode);
}

}  // namespace

void Engine::note_initiator(const audit::Event& ev, proc::ProcessInfo& self) {
    // Issue 15: who asked for it. A container client's command (by the executable's identity)
    // is a request; the host runtime's `exec` of a container (by identity, not a clone) takes
    // the one request that names that container, and what it starts inherits the answer.
    if (const auto client = clients_ != nullptr ? match_proc(*clients_, self) : std::nullopt) {
        std::vector<ClientRequest> reqs;
        if (auto req = parse_client_argv(*client, self.argv)) {
            reqs.push_back(std::move(*req));
        } else {
            reqs = parse_client_start(*client, self.argv);
        }
        if (!reqs.empty()) {
            InitiatorRef who;
            who.pid = self.pid;
            who.exe = self.exe;
            who.argv = self.argv;
            who.truncated = self.argv_truncated;
            who.auid = self.auid;
            who.uid = self.uid;
            if (!ev.auid_name.empty() && ev.auid == self.auid) {
                who.user = ev.auid_name;  // auditd's translation of this very record's auid
            }
            initiators_.note_client(reqs, std::move(who), event_ms(ev));
        }
        return;
    }
    if (self.runtime_clone || oci_runtimes_ == nullptr || !match_proc(*oci_runtimes_, self)) {
        return;
    }
    const bool exec = runtime_exec(self.argv);
    if (!exec && !runtime_create(self.argv)) {
        return;
    }
    auto ref = containers_.runtime_container(table_, self, role_fn_);
    if (!ref || ref->id.empty()) {
        return;
    }
    if (!exec) {
        // A container's start: its init and what that starts carry the answer, decided now or
        // once its name and image are read (the lookup starts here).
        StartWait w{initiators_.on_runtime_create(ref->id, event_ms(ev)),
                    *ref,
                    std::make_shared<proc::InitiatorSlot>(),
                    clock_.now() + kNameWait};
        w.slot->decided = false;
        self.initiator = w.slot;
        if (w.start.candidates.empty()) {
            (void)decide_start(w, true);  // no request waits: nobody asked (unmatched)
            return;
        }
        // The bounds: kMaxStartWaits starts holding at most kMaxStartCandidates requests (a
        // request used, expired or dropped meanwhile lives on in the starts that hold it). Beyond
        // them the oldest is decided with what is known.
        auto held = [this] {
            std::size_t n = 0;
            for (const auto& h : start_waits_) {
                n += h.start.candidates.size();
            }
            return n;
        };
        while (!start_waits_.empty() &&
               (start_waits_.size() >= kMaxStartWaits ||
                held() + w.start.candidates.size() > kMaxStartCandidates)) {
            (void)decide_start(start_waits_.front(), true);
            start_waits_.erase(start_waits_.begin());
        }
        // In the stream's order: an earlier start takes a request before a later one may.
        start_waits_.push_back(std::move(w));
        release_start_waits(false);
        return;
    }
    std::optional<std::string> name = ref->name;  // conmon's -n
    if (!name && names_) {
        if (auto n = names_->lookup(*ref)) {
            name = n->name;
        }
    }
    auto who = initiators_.on_runtime_exec(ref->id, name, event_ms(ev));
    self.initiator =
        who ? std::make_shared<proc::InitiatorSlot>(proc::InitiatorSlot{std::move(who), true})
            : nullptr;
}

bool Engine::decide_start(StartWait& w, bool force) {
    std::optional<std::string> name = w.container.name;  // conmon's -n
    std::optional<std::string> image;
    if (names_) {
        bool pending = false;
        if (auto n = names_->lookup(w.container, &pending)) {
            name = name ? name : n->name;
            image = n->image;
        } else if (pending && !force && clock_.now() < w.until) {
            return false;
        }
    }
    w.slot->ref = initiators_.decide(w.start, name, image);
    w.slot->decided = true;
    return true;
}

void Engine::release_start_waits(bool all) {
    // Oldest first, and none before an older one: an earlier start takes a request first.
    std::size_t done = 0;
    while (done < start_waits_.size() && decide_start(start_waits_[done], all)) {
        ++done;
    }
    start_waits_.erase(start_waits_.begin(),
                       start_waits_.begin() + static_cast<std::ptrdiff_t>(done));
}

void Engine::note_fork(const audit::Event& ev, proc::ProcessInfo& self) {
    // runc's init clones itself in nsexec (runc:[1:CHILD], runc:[2:INIT]) with CLONE_PARENT:
    // the clone has never exec'd, its parent (by the kernel) is the host's runtime, and it
    // runs the runtime's sealed copy. It is the runtime until it execs the container's
    // command, as the init it was cloned from is.
    const proc::ProcessInfo* parent = ev.ppid > 0 ? table_.peek(ev.ppid) : nullptr;
    if (parent == nullptr || role_of(*parent) != proc::RuntimeRole::OciRuntime) {
        return;
    }
    // By identity: the clone runs the very sealed copy (the memfd's dev/inode, from
    // /proc/PID/exe) that a recognised runtime init of the same runtime process was exec'd
    // from; or, when /proc has moved on (the clone has exec'd the container's command by the
    // time its event is read), the kernel's record: the same parent and the same executable
    // path as that init, in its setup window.
    const bool same =
        std::any_of(clone_images_.begin(), clone_images_.end(), [&](const CloneImage& c) {
            return c.ppid == ev.ppid &&
                   ((c.image.second != 0 && c.image == self.image) || c.exe == ev.exe);
        });
    if (same) {
        self.image = parent->image;
        self.runtime_clone = true;
        ++stats_.runtime_clones;
    }
}

void Engine::note_exec(const audit::Event& ev,
                       proc::ProcessInfo& self,
                       const std::optional<proc::ProcessInfo>& prev) {
    const std::string& sys = syscall_of(ev);
    if (prev && prev->ppid == ev.ppid && role_of(*prev) == proc::RuntimeRole::OciRuntime &&
        self_clone_shape(ev, sys)) {
        // The runtime re-executing itself from its sealed copy: still the runtime, not a
        // copy of it under another name.
        // Its nsexec clones run the same copy (a memfd, or a detached read-only bind mount of
        // the binary: exe "/"), without an exec of their own.
        if (clone_images_.size() >= kMaxCloneImages) {
            clone_images_.pop_front();
        }
        clone_images_.push_back({self.image, ev.ppid, ev.exe});
        if (self.image != prev->image && oci_runtimes_ != nullptr &&
            !oci_runtimes_->match_identity(self.image)) {
            self.image = prev->image;
        }
        self.runtime_clone = true;
        ++stats_.runtime_clones;
    }
    const proc::ProcessInfo* parent = ev.ppid > 0 ? table_.find(ev.ppid) : nullptr;
    if (prev && prev->attribution == proc::Attribution::Container) {
        // An exec does not leave the container: runc init becoming the container's command
        // (by then reparented to its shim or conmon), or any process exec'ing again.
        const proc::RuntimeRole pr = parent != nullptr ? role_of(*parent) : proc::RuntimeRole::None;
        if (prev->ppid == ev.ppid || ev.ppid <= 1 || pr == proc::RuntimeRole::Shim ||
            pr == proc::RuntimeRole::Conmon) {
            self.attribution = proc::Attribution::Container;
            self.container = prev->container;
            if (prev->initiator) {
                self.initiator = prev->initiator;
            }
        }
    }
    if (!host_identities_ && self.attribution != proc::Attribution::Container &&
        rules_ != nullptr) {
        // Replays: the runtime's files are known by the execs the stream shows of them, from
        // processes not in a container.
        const proc::Attribution pa = ev.ppid > 0 ? containers_.attribute(table_, ev.ppid, role_fn_)
                                                 : proc::Attribution::Unknown;
        if (pa != proc::Attribution::Container) {
            for (const auto& path : ev.paths) {
                if (path.item != 0 || path.inode == 0) {
                    continue;
                }
                // As it was named (/usr/bin/runc, a symlink) and as the kernel resolved it.
                const std::string abs = absolute_path(path.name, ev.cwd);
                for (const auto& list : rules_->all_lists) {
                    const bool named = list->learn(abs, {path.dev, path.inode});
                    const bool resolved =
                        ev.exe != abs && list->learn(ev.exe, {path.dev, path.inode});
                    if (named || resolved) {
                        ++stats_.identities_learned;
                    }
                }
            }
        }
    }
    note_initiator(ev, self);
    proc::ProcessInfo* me = table_.peek(ev.pid);
    if (me == nullptr) {
        return;
    }
    proc::SharedContainer ref;
    switch (containers_.attribute(table_, ev.pid, role_fn_, &ref)) {
        case proc::Attribution::Container:
            ++stats_.attributed_container;
            if (names_ && ref) {
                (void)names_->lookup(*ref);  // read its names now, before it does anything
            }
            if (probe_ && ref && role_of(*me) == proc::RuntimeRole::None) {
                probe_->request(ref->id, ev.pid);  // its root: past the runtime's pivot_root
            }
            break;
        case proc::Attribution::Host:
            ++stats_.attributed_host;
            break;
        default:
            ++stats_.attributed_unknown;
            break;
    }
}

void Engine::note_container_write(const audit::Event& ev) {
    if (!ev.has_syscall || ev.is_exec() || ev.paths.empty() || ev.pid <= 0 ||
        !ev.success.value_or(false)) {
        return;
    }
    const std::string& name = syscall_of(ev);
    constexpr auto kWrites = static_cast<std::uint32_t>(FileOp::Write) |
                             static_cast<std::uint32_t>(FileOp::Create) |
                             static_cast<std::uint32_t>(FileOp::Chmod);
    const bool mount = name == "mount";
    if (!mount && (static_cast<std::uint32_t>(classify(name, ev)) & kWrites) == 0) {
        return;
    }
    const proc::ProcessInfo* self = table_.peek(ev.pid);
    if (self == nullptr || role_of(*self) != proc::RuntimeRole::None) {
        return;  // the runtime's own container setup is the image being made ready
    }
    proc::SharedContainer ref;
    if (containers_.attribute(table_, ev.pid, role_fn_, &ref) != proc::Attribution::Container ||
        !ref || ref->id.empty()) {
        return;
    }
    if (mount) {
        note_container_mount(ev, ref->id);
        return;
    }
    for (const auto& p : ev.paths) {
        if (p.nametype != "PARENT" && p.inode != 0 && !p.name.empty()) {
            written_.learn(ref->id, p.dev, p.inode, absolute_path(p.name, ev.cwd));
        }
    }
}

void Engine::note_container_mount(const audit::Event& ev, const std::string& container) {
    for (const auto& p : ev.paths) {
        if ((p.mode & S_IFMT) != S_IFBLK || p.rdev.empty()) {
            continue;
        }
        std::string key = container + '\x1f' + p.rdev;
        if (mounted_blk_.contains(key)) {
            continue;
        }
        while (mounted_blk_.size() >= kMaxMountedBlk && !mounted_blk_order_.empty()) {
            mounted_blk_.erase(mounted_blk_order_.front());
            mounted_blk_order_.pop_front();
        }
        mounted_blk_order_.push_back(key);
        mounted_blk_.insert(std::move(key));
    }
}

void Engine::FileIdentities::learn(const std::string& scope,
                                   const std::string& dev,
                                   std::uint64_t inode,
                                   std::string path) {
    if (inode == 0 || dev.empty() || path.size() > kMaxPathBytes) {
        return;
    }
    std::string key = identity_key(scope, dev, inode);
    auto it = by_id.find(key);
    if (it != by_id.end()) {
        it->second = std::move(path);
        return;
    }
    while (by_id.size() >= max_entries && !order.empty()) {
        by_id.erase(order.front());
        order.pop_front();
    }
    order.push_back(key);
    by_id.emplace(std::move(key), std::move(path));
}

const std::string* Engine::FileIdentities::find(const std::string& scope,
                                                const std::string& dev,
                                                std::uint64_t inode) const {
    const auto it = by_id.find(identity_key(scope, dev, inode));
    return it == by_id.end() ? nullptr : &it->second;
}

void Engine::learn_identities(const audit::Event& ev) {
    if (path_patterns_.empty() || ev.paths.empty() || !ev.success.value_or(false)) {
        return;
    }
    // Taught by every item that names a monitored path as it is (an exec's file, a PARENT
    // directory, the source of a hard link, a chmod), not by one that names it as it was (a
    // DELETE: the inode lives on elsewhere, if at all).
    std::optional<bool> taught_by_setup;
    std::optional<std::string> scope;
    for (const auto& p : ev.paths) {
        const bool parent = p.nametype == "PARENT";
        if (p.name.empty() || p.inode == 0 || p.nametype == "DELETE") {
            continue;
        }
        // In a buffer kept between events: most items match nothing and cost no allocation.
        std::string& path = learn_scratch_;
        absolute_path_into(path, p.name, ev.cwd);
        if (parent && !path.ends_with('/')) {
            path += '/';
        }
        if (path == "/") {
            continue;
        }
        bool monitored = false;
        if (parent) {
            path += 'x';  // a name in the directory: does a pattern cover what it holds?
            monitored = path_patterns_.any(path);
            path.pop_back();
        } else {
            monitored = path_patterns_.any(path);
        }
        if (!monitored) {
            continue;
        }
        if (!taught_by_setup) {
            // The runtime and the container managers set the container up (runc init names the
            // host's /usr/sbin/runc, bind mounts): what they touch is not the container's view.
            const proc::ProcessInfo* self = table_.peek(ev.pid);
            taught_by_setup = self == nullptr || role_of(*self) != proc::RuntimeRole::None;
        }
        if (*taught_by_setup) {
            return;
        }
        if (!scope) {
            // Learned per container, as the container names its files: the host's
            // /usr/sbin/runc is not the container's even where a bind mount shows the inode.
            proc::SharedContainer c;
            (void)containers_.attribute(table_, ev.pid, role_fn_, &c);
            scope = c ? c->id : std::string();
        }
        identities_.learn(*scope, p.dev, p.inode, path);
    }
}

std::optional<std::string> Engine::identity_match(const PathPatterns& patterns,
                                                  const std::string& path,
                                                  const audit::PathItem& item,
                                                  const audit::Event& ev,
                                                  const std::string& scope) const {
    if (const std::string* known = identities_.find(scope, item.dev, item.inode);
        known != nullptr && *known != path) {
        if (patterns.any(*known)) {
            return *known;
        }
    }
    if (probe_ && !scope.empty()) {
        if (auto known = probe_->find(scope, item.dev, item.inode);
            known && *known != path && patterns.any(*known)) {
            return known;
        }
    }
    // The object's directory by its PARENT item: a file created, renamed or unlinked in the
    // real /usr/bin through a symlinked directory.
    const std::string base = path.substr(path.rfind('/') + 1);
    for (const auto& p : ev.paths) {
        if (p.nametype != "PARENT" || p.inode == 0) {
            continue;
        }
        std::optional<std::string> dir;
        if (const std::string* learned = identities_.find(scope, p.dev, p.inode);
            learned != nullptr) {
            dir = *learned;
        } else if (probe_ && !scope.empty()) {
            dir = probe_->find(scope, p.dev, p.inode);
        }
        if (dir && dir->ends_with('/')) {
            const std::string real = *dir + base;
            if (real != path && patterns.any(real)) {
                return real;
            }
        }
    }
    return std::nullopt;
}

}  // namespace adock::rules
