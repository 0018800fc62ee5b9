// SPDX-License-Identifier: Apache-2.0
#include "rules/engine.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "audit/argv_budget.hpp"
#include "integrity/image_diff_worker.hpp"
#include "integrity/monitor.hpp"
#include "proc/namespaces.hpp"
#include "util/audit_dev.hpp"
#include "util/safe_read.hpp"
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

/// argv within `budget` into an alert's process object, with the cut marked.
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

/// argv bytes of the alert an aggregation window keeps (4096 windows): the distinct command
/// lines are kept apart, the whole argv's hash stays.
constexpr std::size_t kWindowArgvBytes = 1024;

void shrink_for_window(Alert& a) {
    if (audit::argv_bytes(a.process.argv) > kWindowArgvBytes) {
        const std::vector<std::string> argv = std::move(a.process.argv);
        set_argv(a.process, argv, {kWindowArgvBytes, kWindowArgvBytes}, a.process.truncated, a.process.argv_sha256, a.process.argc);
    }
}

/// Bytes of one placeholder's text in a summary: summaries are built from bounded text.
constexpr std::size_t kSummaryFieldBytes = 1024;

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
/// How long a container's file event waits, once, for the probe of its root.
constexpr unsigned kProbeWaitMs = 25;
/// Files containers wrote that an exec is looked up in (container_drift_exec): a container that
/// writes more files than this between dropping a program and running it evicts it.
constexpr std::size_t kMaxWrittenFiles = 16384;
/// How long an alert waits for its container's names to be read.
constexpr std::chrono::milliseconds kNameWait{300};
/// At the end (shutdown): the queued image comparisons finish within this, or go uncompared.
constexpr std::chrono::milliseconds kImageDiffWait{2000};

/// Every enabled rule's `path` patterns: the paths whose dev/inode the engine learns.
std::vector<std::string> collect_path_patterns(const RuleSet& rules);

/// The event's time in milliseconds (stream clock), saturating on absurd seconds.
std::int64_t event_ms(const audit::Event& ev) {
    constexpr std::int64_t kMaxSec = INT64_MAX / 1000 - 1;
    const std::int64_t sec = std::clamp<std::int64_t>(ev.sec, -kMaxSec, kMaxSec);
    return sec * 1000 + static_cast<std::int64_t>(ev.milli % 1000);
}

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
    proc::Attribution attribution = proc::Attribution::Unknown;
    std::optional<ContainerRef> container;  ///< Container: the container; Unknown: one with no id
    bool file_on_host = false;              ///< path_in matched the host's file for certain
    bool names_pending = false;             ///< the container's names are being read
    bool spec_pending = false;              ///< container_request: the spec is being read
    /// container_request: what the command line asks (computed once, for every rule asking).
    std::optional<std::vector<proc::RequestFinding>> argv_requests;
    bool op_done = false;
    FileOp op = FileOp::None;
    bool paths_done = false;
    /// Absolute paths of the event's PATH items that name the object (not PARENT directories),
    /// with the item they came from.
    std::vector<std::pair<std::string, const audit::PathItem*>> paths;
    std::optional<std::string> file_path;  ///< the path a path condition matched
    std::optional<std::string> same_as;    ///< ... by dev/inode: the path it is known as
    std::string matched;                   ///< what actor_in / path_in matched (e.g. "runc")
    std::optional<bool> trusted;           ///< integrity findings: something vouches for the file

    const std::vector<const proc::ProcessInfo*>& lineage(proc::ProcessTable& t, unsigned depth) {
        if (!ancestry_done) {
            ancestry = t.ancestry(ev.ppid, depth);
            ancestry_done = true;
        }
        return ancestry;
    }
    proc::Attribution attribution_of(proc::ContainerResolver& c, proc::ProcessTable& t, const proc::RoleOf& role) {
        if (!container_done) {
            attribution = c.attribute(t, ev.pid, role, &container);
            if (attribution == proc::Attribution::Unknown) {
                container = ContainerRef{};  // reported as unknown, not as the host
            }
            container_done = true;
        }
        return attribution;
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

Engine::Engine(const config::Config& cfg, std::shared_ptr<const RuleSet> rules, AlertSink& out)
    : host_(cfg.host.empty() ? local_host_name() : cfg.host),
      ancestry_depth_(cfg.processes.ancestry_depth),
      alert_argv_{cfg.engine.alert_argv_bytes, cfg.processes.max_arg_bytes},
      ancestor_argv_{cfg.engine.ancestor_argv_bytes, cfg.processes.max_arg_bytes},
      rules_(std::move(rules)),
      out_(out),
      table_(cfg.processes, cfg.proc_root),
      containers_(proc::ContainerDirs{cfg.containerd_state_dir, cfg.docker_containers_dir, cfg.podman_storage_dir}),
      host_identities_(cfg.processes.use_proc),
      limiter_(cfg.engine.alert_rate_burst, cfg.engine.alert_rate_window_s),
      path_patterns_(collect_path_patterns(*rules_)) {
    if (cfg.processes.use_proc) {
        names_ = std::make_unique<proc::NameResolver>(
            proc::ContainerDirs{cfg.containerd_state_dir, cfg.docker_containers_dir, cfg.podman_storage_dir});
        probe_ = std::make_unique<proc::RootProbe>(cfg.proc_root, path_patterns_.patterns());
    }
    role_fn_ = [this](const proc::ProcessInfo& p) { return role_of(p); };
    written_.max_entries = kMaxWrittenFiles;
    if (cfg.processes.use_proc) {
        struct stat st {};
        if (::stat("/", &st) == 0) {
            host_root_.emplace(util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
        }
        if (auto roots = integrity::image_storage_roots(cfg); !roots.empty()) {
            integrity::ImageDiffLimits limits;
            limits.max_hash_bytes = static_cast<std::uint64_t>(cfg.integrity.max_file_mb) * 1024 * 1024;
            image_diff_ = std::make_unique<integrity::ImageDiffWorker>(std::move(roots), limits);
        }
    }
    bind_lists();
}

void Engine::bind_lists() {
    if (!host_identities_) {
        rules_->clear_identities();  // a replay: what this host has now says nothing of the stream
    }
    auto find = [this](const char* name) -> const ProgramList* {
        auto it = rules_->lists.find(name);
        return it == rules_->lists.end() ? nullptr : it->second.get();
    };
    oci_runtimes_ = find("oci_runtimes");
    managers_ = find("container_managers");
    clients_ = find("container_clients");
}

void Engine::reconfigure(const config::Config& cfg, std::shared_ptr<const RuleSet> rules) {
    host_ = cfg.host.empty() ? local_host_name() : cfg.host;
    ancestry_depth_ = cfg.processes.ancestry_depth;
    alert_argv_ = {cfg.engine.alert_argv_bytes, cfg.processes.max_arg_bytes};
    ancestor_argv_ = {cfg.engine.ancestor_argv_bytes, cfg.processes.max_arg_bytes};
    table_.set_config(cfg.processes);
    limiter_.configure(cfg.engine.alert_rate_burst, cfg.engine.alert_rate_window_s);
    rules_ = std::move(rules);
    path_patterns_ = collect_path_patterns(*rules_);
    if (probe_) {
        probe_->set_paths(path_patterns_.patterns());
    }
    bind_lists();
}

proc::RuntimeRole Engine::role_of(const proc::ProcessInfo& p) const {
    if (p.runtime_clone) {
        return proc::RuntimeRole::OciRuntime;
    }
    // Roles decide attribution: by identity live, by the very path the stream showed in a replay.
    if (oci_runtimes_ != nullptr && match_proc(*oci_runtimes_, p)) {
        return proc::RuntimeRole::OciRuntime;
    }
    if (managers_ == nullptr) {
        return proc::RuntimeRole::None;
    }
    auto m = match_proc(*managers_, p);
    if (!m) {
        return proc::RuntimeRole::None;
    }
    // The role of the host's file it is (its resolved path), not of what the process is called.
    const auto slash = m->rfind('/');
    const std::string base = slash == std::string::npos ? *m : m->substr(slash + 1);
    if (base.starts_with("containerd-shim") || base == "docker-containerd-shim") {
        return proc::RuntimeRole::Shim;
    }
    if (base == "conmon") {
        return proc::RuntimeRole::Conmon;
    }
    if (base == "runc" || base == "crun" || base == "docker-runc") {
        return proc::RuntimeRole::OciRuntime;
    }
    return proc::RuntimeRole::Manager;
}

std::optional<std::string> Engine::match_proc(const ProgramList& list, const proc::ProcessInfo& p) const {
    if (p.image.second != 0) {
        if (host_identities_) {
            return list.match_identity(p.image);  // live: the host's file, whatever it is called
        }
        // A replay knows the file only as the paths execs showed it at; the same inode under
        // another name says nothing certain (another host, another file system, a container's
        // own file), so it is not taken for that file. Live, identity is the host's.
        const std::set<std::string>* seen = list.learned_paths(p.image);
        if (seen == nullptr || seen->empty()) {
            return std::nullopt;
        }
        if (seen->contains(p.exe)) {
            return p.exe;  // its exec showed that path
        }
        if (p.runtime_clone) {
            return *seen->begin();  // the runtime re-exec'd itself
        }
        // A fork running its parent's program: what its parent is (forks of runc init).
        const proc::ProcessInfo* up = &p;
        for (int depth = 0; up != nullptr && up->image_inherited && depth < 16; ++depth) {
            up = table_.peek(up->ppid);
            if (up != nullptr && up->image == p.image && (seen->contains(up->exe) || up->runtime_clone)) {
                return seen->contains(up->exe) ? up->exe : *seen->begin();
            }
        }
        // A replay never takes one file for another: inodes of a log are not ours.
        if (p.image_inherited && p.exe != "/" && p.attribution != proc::Attribution::Container) {
            // Its parent's program by guess (a process the stream never showed exec'ing): the
            // path the kernel gives it says more.
            return list.match(p.exe);
        }
        return std::nullopt;
    }
    // Replays only: a process whose executable the stream never showed (started before the
    // log began) is taken by its path, unless it runs in a container (then its paths are the
    // container's, and its names its own choice).
    if (!host_identities_ && p.attribution != proc::Attribution::Container) {
        return list.match(p.exe);
    }
    return std::nullopt;
}

namespace {

/// The kernel's exe for a program with no file behind it: a memfd ("/memfd:NAME (deleted)"), a
/// file deleted since (" (deleted)"), a detached mount ("/", runc's sealed bind-mount copy).
bool fileless_program(std::string_view exe) {
    return exe.starts_with("/memfd:") || exe.ends_with(" (deleted)") || exe == "/";
}

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

std::vector<std::string> collect_path_patterns(const RuleSet& rules) {
    std::vector<std::string> out;
    auto add = [&](const Conditions& c) {
        if (c.paths) {
            for (const auto& p : c.paths->patterns()) {
                if (std::find(out.begin(), out.end(), p) == out.end()) {
                    out.push_back(p);
                }
            }
        }
    };
    for (const auto& r : rules.rules) {
        if (r.enabled) {
            add(r.match);
            for (const auto& v : r.variants) {
                add(v.when);
            }
        }
    }
    return out;
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
        StartWait w{initiators_.on_runtime_create(ref->id, event_ms(ev)), *ref, std::make_shared<proc::InitiatorSlot>(),
                    std::chrono::steady_clock::now() + kNameWait};
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
        while (!start_waits_.empty() && (start_waits_.size() >= kMaxStartWaits ||
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
    self.initiator = who ? std::make_shared<proc::InitiatorSlot>(proc::InitiatorSlot{std::move(who), true}) : nullptr;
}

bool Engine::decide_start(StartWait& w, bool force) {
    std::optional<std::string> name = w.container.name;  // conmon's -n
    std::optional<std::string> image;
    if (names_) {
        bool pending = false;
        if (auto n = names_->lookup(w.container, &pending)) {
            name = name ? name : n->name;
            image = n->image;
        } else if (pending && !force && std::chrono::steady_clock::now() < w.until) {
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
    start_waits_.erase(start_waits_.begin(), start_waits_.begin() + static_cast<std::ptrdiff_t>(done));
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
    const bool same = std::any_of(clone_images_.begin(), clone_images_.end(), [&](const CloneImage& c) {
        return c.ppid == ev.ppid && ((c.image.second != 0 && c.image == self.image) || c.exe == ev.exe);
    });
    if (same) {
        self.image = parent->image;
        self.runtime_clone = true;
        ++stats_.runtime_clones;
    }
}

void Engine::note_exec(const audit::Event& ev, proc::ProcessInfo& self, const std::optional<proc::ProcessInfo>& prev) {
    const std::string& sys = syscall_of(ev);
    if (prev && prev->ppid == ev.ppid && role_of(*prev) == proc::RuntimeRole::OciRuntime && self_clone_shape(ev, sys)) {
        // The runtime re-executing itself from its sealed copy: still the runtime, not a
        // copy of it under another name.
        // Its nsexec clones run the same copy (a memfd, or a detached read-only bind mount of
        // the binary: exe "/"), without an exec of their own.
        if (clone_images_.size() >= kMaxCloneImages) {
            clone_images_.pop_front();
        }
        clone_images_.push_back({self.image, ev.ppid, ev.exe});
        if (self.image != prev->image && oci_runtimes_ != nullptr && !oci_runtimes_->match_identity(self.image)) {
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
        if (prev->ppid == ev.ppid || ev.ppid <= 1 || pr == proc::RuntimeRole::Shim || pr == proc::RuntimeRole::Conmon) {
            self.attribution = proc::Attribution::Container;
            self.container = prev->container;
            if (prev->initiator) {
                self.initiator = prev->initiator;
            }
        }
    }
    if (!host_identities_ && self.attribution != proc::Attribution::Container && rules_ != nullptr) {
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
                    const bool resolved = ev.exe != abs && list->learn(ev.exe, {path.dev, path.inode});
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
    std::optional<ContainerRef> ref;
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
    if (!ev.has_syscall || ev.is_exec() || ev.paths.empty() || ev.pid <= 0 || !ev.success.value_or(false)) {
        return;
    }
    const std::string& name = syscall_of(ev);
    constexpr auto kWrites = static_cast<std::uint32_t>(FileOp::Write) | static_cast<std::uint32_t>(FileOp::Create) |
                             static_cast<std::uint32_t>(FileOp::Chmod);
    const bool mount = name == "mount";
    if (!mount && (static_cast<std::uint32_t>(classify(name, ev)) & kWrites) == 0) {
        return;
    }
    const proc::ProcessInfo* self = table_.peek(ev.pid);
    if (self == nullptr || role_of(*self) != proc::RuntimeRole::None) {
        return;  // the runtime's own container setup is the image being made ready
    }
    std::optional<ContainerRef> ref;
    if (containers_.attribute(table_, ev.pid, role_fn_, &ref) != proc::Attribution::Container || !ref ||
        ref->id.empty()) {
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
        std::string path = absolute_path(p.name, ev.cwd);
        if (parent && !path.ends_with('/')) {
            path += '/';
        }
        if (path == "/" || !path_patterns_.any(parent ? path + "x" : path)) {
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
            std::optional<ContainerRef> c;
            (void)containers_.attribute(table_, ev.pid, role_fn_, &c);
            scope = c ? c->id : std::string();
        }
        identities_.learn(*scope, p.dev, p.inode, std::move(path));
    }
}

std::optional<std::string> Engine::identity_match(const PathPatterns& patterns,
                                                  const std::string& path,
                                                  const audit::PathItem& item,
                                                  const audit::Event& ev,
                                                  const std::string& scope) const {
    if (const std::string* known = identities_.find(scope, item.dev, item.inode); known != nullptr && *known != path) {
        if (patterns.any(*known)) {
            return *known;
        }
    }
    if (probe_ && !scope.empty()) {
        if (auto known = probe_->find(scope, item.dev, item.inode); known && *known != path && patterns.any(*known)) {
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
        if (const std::string* learned = identities_.find(scope, p.dev, p.inode); learned != nullptr) {
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

std::size_t Engine::rule_count() const {
    return static_cast<std::size_t>(std::count_if(rules_->rules.begin(), rules_->rules.end(), [](const Rule& r) {
        return r.enabled;
    }));
}

const std::string& Engine::syscall_of(const audit::Event& ev) {
    const std::uint64_t k = (static_cast<std::uint64_t>(ev.arch) << 32U) | static_cast<std::uint32_t>(ev.syscall);
    auto it = syscall_names_.find(k);
    if (it != syscall_names_.end()) {
        return it->second;
    }
    std::string name = audit::syscall_name(ev.arch, ev.syscall);
    // Only names libaudit knows are cached (its tables bound them); a number it does not know
    // ("unknown(N)": any number a broad -S all rule logs, or a crafted arch) is named afresh
    // each time in one scratch string, valid until the next call: distinct numbers cost what
    // one does.
    if (name.starts_with("unknown(") || syscall_names_.size() >= kMaxSyscallNames) {
        ++stats_.syscall_names_uncached;
        unknown_syscall_ = std::move(name);
        return unknown_syscall_;
    }
    return syscall_names_.emplace(k, std::move(name)).first->second;
}

void Engine::on_event(const audit::Event& ev) {
    ++stats_.events;
    if (integrity_ != nullptr && integrity_->has_verdicts()) {
        collect_verdicts();
    }
    if (image_diff_ && image_diff_->has_ready()) {
        collect_image_diffs();
    }
    {
        std::optional<proc::ProcessInfo> prev;
        const bool exec = ev.is_exec() && ev.success.value_or(false);
        if (!exec && ev.has_syscall && ev.pid > 0 && ev.ppid > 1) {
            // Reparented, not reused: same executable, and the new parent is a subreaper of the
            // container machinery (runc exited; the shim or conmon took its process). A pid
            // reused by another process under any other parent gets a new entry.
            const proc::ProcessInfo* known = table_.peek(ev.pid);
            if (known != nullptr && known->ppid != ev.ppid && known->exe == ev.exe) {
                const proc::ProcessInfo* np = table_.peek(ev.ppid);
                const proc::RuntimeRole r = np != nullptr ? role_of(*np) : proc::RuntimeRole::None;
                if (r == proc::RuntimeRole::Shim || r == proc::RuntimeRole::Conmon) {
                    table_.reparent(ev.pid, ev.ppid);
                }
            }
        }
        bool forked = false;
        proc::ProcessInfo* self = table_.observe(ev, exec ? &prev : nullptr, &forked);
        if (exec && self != nullptr) {
            note_exec(ev, *self, prev);
        } else if (forked && self != nullptr) {
            note_fork(ev, *self);
        }
    }
    if (names_ && names_->answered()) {
        release_parked(false);
    }
    learn_identities(ev);
    note_container_write(ev);
    if (seccomp_observer_ &&
        (ev.seccomp || (ev.has_syscall && ev.pid > 0 && (!seccomp_waits_ || seccomp_waits_(ev.pid))))) {
        std::optional<ContainerRef> ref;
        const proc::Attribution a = containers_.attribute(table_, ev.pid, role_fn_, &ref);
        seccomp_observer_(ev, a, ref);
    }
    send_rate_summaries(limiter_.due(event_ms(ev), std::chrono::steady_clock::time_point::min()));
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
                same_as = identity_match(*c.paths, path, *item, ctx.ev, ctx.container ? ctx.container->id : std::string());
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
            auto m = (*c.path_in)->match_file(path, FileId{item->dev, item->inode}, parent, &on_host);
            ok = m.has_value();
            if (ok) {
                ctx.matched = *m;
                ctx.file_on_host = on_host;
            }
        }
        if (ok) {
            ctx.file_path = path;
            ctx.same_as = same_as;
            return true;
        }
    }
    return false;
}

bool Engine::holds(const Conditions& c, Context& ctx) {
    const audit::Event& ev = ctx.ev;
    if (c.fileless && (ev.has_syscall && fileless_program(ev.exe)) != *c.fileless) {
        return false;
    }
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
        if (c.parent_in && (ctx.parent == nullptr || !match_proc(**c.parent_in, *ctx.parent))) {
            return false;
        }
        // An unknown parent is not a known manager: report rather than trust.
        if (c.parent_not_in && ctx.parent != nullptr && match_proc(**c.parent_not_in, *ctx.parent)) {
            return false;
        }
    }
    if (c.ancestor_in) {
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        if (!std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return match_proc(**c.ancestor_in, *p).has_value();
            })) {
            return false;
        }
    }
    if (c.lineage_in) {
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        const bool self_in = actor_matches(**c.lineage_in).has_value();
        if (!self_in && !std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return match_proc(**c.lineage_in, *p).has_value();
            })) {
            return false;
        }
    }
    if (c.lineage_named_in) {
        // By name, as the processes name their executables (a container's own paths): for
        // context such as "a package manager of the image did it", never to trust.
        const auto& anc = ctx.lineage(table_, ancestry_depth_);
        if (!(*c.lineage_named_in)->match(ev.exe) && !std::any_of(anc.begin(), anc.end(), [&](const proc::ProcessInfo* p) {
                return (*c.lineage_named_in)->match(p->exe).has_value();
            })) {
            return false;
        }
    }
    if (c.in_container) {
        const proc::Attribution a = ctx.attribution_of(containers_, table_, role_fn_);
        // Unknown is neither: it never passes for the host, nor fires an in-container rule.
        if (a == proc::Attribution::Unknown || (a == proc::Attribution::Container) != *c.in_container) {
            return false;
        }
    }
    if (c.drift) {
        bool written = false;
        if (ctx.attribution_of(containers_, table_, role_fn_) == proc::Attribution::Container && ctx.container &&
            !ctx.container->id.empty()) {
            // The program the exec ran (item 0: a script itself, not its interpreter).
            for (const auto& p : ev.paths) {
                if (p.item == 0 && p.inode != 0) {
                    if (const std::string* at = written_.find(ctx.container->id, p.dev, p.inode)) {
                        written = true;
                        ctx.matched = "written in the container as " + *at;
                    }
                    break;
                }
            }
        }
        if (written != *c.drift) {
            return false;
        }
    }
    if (c.file_on_host && ctx.file_on_host != *c.file_on_host) {
        return false;
    }
    if (c.image_build) {
        const bool build = ctx.attribution_of(containers_, table_, role_fn_) == proc::Attribution::Container &&
                           ctx.container && ctx.container->runtime == "buildkit";
        bool names_build = false;
        if (!build && ctx.container && names_) {
            if (auto n = names_->lookup(*ctx.container)) {
                names_build = n->image_build;
            }
        }
        if ((build || names_build) != *c.image_build) {
            return false;
        }
    }
    if (c.host_namespaces && !host_namespace_condition(*c.host_namespaces, ctx)) {
        return false;
    }
    if (c.requests && !request_condition(*c.requests, ctx)) {
        return false;
    }
    return true;
}

bool Engine::request_condition(std::uint32_t kinds, Context& ctx) {
    const proc::ProcessInfo* self = table_.peek(ctx.ev.pid);
    if (self == nullptr) {
        return false;
    }
    std::vector<proc::RequestFinding> found;
    const bool in_container = ctx.attribution_of(containers_, table_, role_fn_) == proc::Attribution::Container;
    if (ctx.syscall != nullptr && *ctx.syscall == "mount") {
        // mount(2) of a block device from a container, refused or not: the kernel's PATH record
        // of the source is the device node (a node a container made with mknod names the host's
        // disk by its numbers). Its mode is the kernel's, its name the caller's.
        if (!in_container || (kinds & static_cast<std::uint32_t>(proc::RequestKind::HostMount)) == 0) {
            return false;
        }
        for (const auto& [path, item] : ctx.object_paths()) {
            if ((item->mode & S_IFMT) == S_IFBLK) {
                ctx.matched = "mount of the block device " + path.substr(0, 512);
                return true;
            }
        }
        return false;
    }
    if (ctx.syscall != nullptr && *ctx.syscall == "chroot") {
        // chroot(2) from a container onto the host's root (a bind mount of /) or onto a block
        // device the container mounted: by the directory's dev/inode in the kernel's PATH
        // record, whatever the container calls it.
        if (!in_container || (kinds & static_cast<std::uint32_t>(proc::RequestKind::HostMount)) == 0 ||
            !ctx.container || ctx.container->id.empty()) {
            return false;
        }
        for (const auto& [path, item] : ctx.object_paths()) {
            if ((item->mode & S_IFMT) != S_IFDIR) {
                continue;
            }
            if (host_root_ && item->dev == host_root_->first && item->inode == host_root_->second) {
                ctx.matched = "chroot into the host's root directory, mounted at " + path.substr(0, 512);
                return true;
            }
            if (mounted_blk_.contains(ctx.container->id + '\x1f' + item->dev)) {
                ctx.matched = "chroot into " + path.substr(0, 512) + ", the block device " + item->dev +
                              " the container mounted";
                return true;
            }
        }
        return false;
    }
    if (in_container) {
        // The runtime starting the container (runc init): what the container was created with.
        // Live only (the runtimes' state files); the event waits while they are read.
        if (role_of(*self) != proc::RuntimeRole::OciRuntime || !names_ || !ctx.container ||
            ctx.container->id.empty()) {
            return false;
        }
        bool pending = false;
        const auto n = names_->lookup(*ctx.container, &pending);
        if (!n) {
            ctx.spec_pending = pending;
            return false;
        }
        found = proc::request_from_spec(n->spec);
        for (auto& f : found) {
            f.what += " in the spec of container " + (n->name ? *n->name : ctx.container->id.substr(0, 12)) +
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
            return false;
        }
        found = *ctx.argv_requests;
        const bool requester = role_of(*self) == proc::RuntimeRole::OciRuntime ||
                               (clients_ != nullptr && match_proc(*clients_, *self));
        if (!requester) {
            return false;
        }
    }
    std::string what;
    for (const auto& f : found) {
        if ((static_cast<std::uint32_t>(f.kind) & kinds) != 0 && what.size() < 1024) {
            what += (what.empty() ? "" : "; ") + f.what;
        }
    }
    if (what.empty()) {
        return false;
    }
    ctx.matched = std::move(what);
    return true;
}

void Engine::release_spec_waits(bool all) {
    if (spec_waits_.empty()) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
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
        const auto it = std::find_if(rules_->rules.begin(), rules_->rules.end(), [&](const Rule& r) {
            return r.id == w.rule_id && r.enabled;
        });
        if (it == rules_->rules.end()) {
            continue;  // reloaded away meanwhile
        }
        Context ctx(w.event, w.event.argv);
        ctx.syscall = &syscall_of(w.event);
        evaluate(*it, ctx);
        if (ctx.spec_pending) {
            ++stats_.spec_unanswered;  // not read in time: nothing is known of its spec
        }
    }
    releasing_spec_waits_ = false;
}

bool Engine::host_namespace_condition(const std::set<std::string>& kinds, Context& ctx) {
    // Live only: a replay's processes are another time's. The process must still be the one the
    // event is about: its cgroup names the container the event was attributed to (a pid reused
    // by a host process is in the host's namespaces, and no escape).
    if (!table_.use_proc() || ctx.ev.pid <= 0) {
        return false;
    }
    const proc::Attribution a = ctx.attribution_of(containers_, table_, role_fn_);
    if (a == proc::Attribution::Container) {
        const auto cg = util::read_beneath(table_.proc_root(), std::to_string(ctx.ev.pid) + "/cgroup", kCgroupReadBytes);
        const auto now = cg ? proc::container_from_cgroup(*cg, [](std::string_view, std::string_view) { return true; })
                            : std::nullopt;
        if (!now || !ctx.container || now->id != ctx.container->id) {
            return false;
        }
    }
    const auto shared = proc::namespaces_shared_with_self(table_.proc_root(), ctx.ev.pid, kinds);
    if (!shared || shared->empty()) {
        return false;
    }
    std::string joined;
    for (const auto& k : *shared) {
        joined += (joined.empty() ? "" : ",") + k;
    }
    ctx.matched = std::move(joined);
    return true;
}

void Engine::evaluate(const Rule& rule, Context& ctx) {
    ctx.file_path.reset();
    ctx.same_as.reset();
    ctx.spec_pending = false;
    if (!holds(rule.match, ctx)) {
        if (ctx.spec_pending && rule.match.requests && !releasing_spec_waits_) {
            // The container's spec is being read (names resolver): the event waits for it.
            if (spec_waits_.size() >= kMaxSpecWaits) {
                ++stats_.spec_wait_dropped;
                return;
            }
            ++stats_.spec_waits;
            SpecWait w{rule.id, *ctx.container, ctx.ev, std::chrono::steady_clock::now() + kNameWait};
            audit::bound_event(w.event, alert_argv_);
            spec_waits_.push_back(std::move(w));
        }
        return;
    }
    const std::optional<std::string> file_path = ctx.file_path;
    const std::optional<std::string> same_as = ctx.same_as;
    const std::string matched = ctx.matched;
    for (const auto& ex : rule.exceptions) {
        if (holds(ex, ctx)) {
            ++stats_.suppressed;
            return;
        }
    }
    ctx.file_path = file_path;
    ctx.same_as = same_as;
    ctx.matched = matched;
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
        if (*rule.match.content == static_cast<std::uint32_t>(integrity::ContentCheck::PackageCopy) &&
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
        auto pre = integrity_->precheck(ctx.ev, runtime_path ? *runtime_path : ctx.ev.exe, *rule.match.content,
                                        image, host_process);
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
        audit::bound_event(req.event, alert_argv_);  // waits for the monitor: within the per-event budget
        (void)integrity_->submit(std::move(req));
        return;
    }
    ++stats_.matches;
    Alert a = build_alert(rule, ctx);
    finish_alert(rule, ctx, a);
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

std::optional<Engine::ImageProbe> Engine::image_probe(const Rule& rule, Context& ctx, const Alert& a) {
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
        if (!dev.empty() && std::find(probe.devs.begin(), probe.devs.end(), dev) == probe.devs.end()) {
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
    if (!limiter_.admit(a, ms, std::chrono::steady_clock::now())) {
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
            send(std::move(a));
        }
    }
}

Engine::~Engine() = default;

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
        emit(std::move(a), event_ms(v.event));
    }
}

Alert Engine::build_alert(const Rule& rule, Context& ctx) {
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
        if (const proc::ProcessInfo* self = table_.peek(ev.pid); self != nullptr && self->exec_seen &&
                                                               self->exe == ev.exe && !self->argv.empty()) {
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
                set_argv(a.process, self->argv, alert_argv_, self->argv_truncated, self->argv_sha256, self->argv_argc);
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
    a.container = ctx.container;
    if (a.container && !a.container->id.empty() && names_) {
        (void)enrich(a, &ctx.names_pending);  // known ones now, so the summary shows them
    }
    if (ev.has_syscall && (ev.has_execve || ctx.operation() == FileOp::Exec)) {
        a.file = FileRef{ev.exe, "exec"};
    } else if (ctx.operation() != FileOp::None) {
        std::string path = ctx.file_path.value_or("");
        if (path.empty() && !ctx.object_paths().empty()) {
            path = ctx.object_paths().front().first;
        }
        a.file = FileRef{path, file_op_name(ctx.operation())};
        if (ctx.same_as && ctx.file_path && *ctx.file_path == path) {
            a.file->same_as = ctx.same_as;
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

void Engine::render_summary(const Rule& rule, Context& ctx, Alert& a) {
    const audit::Event& ev = ctx.ev;
    const proc::ProcessInfo* parent = ctx.ancestry.empty() ? nullptr : ctx.ancestry.front();
    const ProcessRef* parent_ref = a.ancestry.empty() ? nullptr : &a.ancestry.front();
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
        const std::string name = t.substr(open + 1, close - open - 1);
        s.clear();
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
            s += parent_ref != nullptr ? join(parent_ref->argv) : std::string("?");
        } else if (name == "matched") {
            s += ctx.matched;
        } else if (name == "container.id") {
            s += a.container ? (a.container->id.empty() ? std::string("unknown") : a.container->id) : std::string("host");
        } else if (name == "container.name") {
            s += a.container && a.container->name ? *a.container->name
                                                  : std::string(ctx.names_pending ? "{container.name}" : "-");
        } else if (name == "container.image") {
            s += a.container && a.container->image ? *a.container->image
                                                   : std::string(ctx.names_pending ? "{container.image}" : "-");
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
        out += audit::bounded_text(s, kSummaryFieldBytes);
        pos = close + 1;
    }
}

void Engine::aggregate(const Rule& rule, Alert&& alert, std::int64_t sec, std::int64_t ms, const ImageProbe* probe) {
    std::string key = rule.id;
    for (const auto& f : rule.aggregate->by) {
        key += '\x1f';
        if (f == "container.id") {
            key += alert.container ? alert.container->id : std::string("host");
        } else if (f == "seccomp.syscall") {
            key += alert.seccomp ? alert.seccomp->syscall : std::string();
        } else if (f == "event.syscall") {
            // execve and execveat are one act (runc init re-executes itself with execveat).
            const std::string_view s = alert.syscall ? std::string_view(*alert.syscall) : std::string_view();
            key += s == "execveat" ? std::string_view("execve") : s;
        } else if (f == "process.exe") {
            key += alert.process.exe;
        } else if (f == "file.path") {
            key += alert.file ? alert.file->path : std::string();
        } else if (f == "process.uid") {
            key += alert.process.uid ? std::to_string(*alert.process.uid) : std::string("?");
        } else if (f == "source") {
            key += fold_source(alert);
        }
    }
    auto it = windows_.find(key);
    if (it != windows_.end()) {
        ++it->second.repeats;
        ++stats_.aggregated;
        for (auto& d : it->second.distinct) {
            d.add(alert);
        }
        it->second.last = std::move(alert);
        shrink_for_window(it->second.last);
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
    shrink_for_window(agg.last);
    for (const auto& f : rule.aggregate->distinct) {
        agg.distinct.emplace_back(f);
        agg.distinct.back().add(alert);
    }
    agg.end_wall = std::chrono::steady_clock::now() + std::chrono::seconds(agg.window_s);
    alert.count = 1;
    next_expiry_sec_ = std::min(next_expiry_sec_, agg.end_sec);
    windows_.emplace(std::move(key), std::move(agg));
    emit(std::move(alert), ms, probe);
}

void Engine::close_window(Aggregation& agg) {
    if (agg.repeats == 0) {
        return;
    }
    Alert a = std::move(agg.last);
    a.count = agg.repeats;
    a.summary += " (repeated " + std::to_string(agg.repeats) + " more time" + (agg.repeats == 1 ? "" : "s") +
                 " within " + std::to_string(agg.window_s) + " s of the first alert";
    for (const auto& d : agg.distinct) {
        d.describe(a.summary);
        DistinctValues r = d.report();
        if (!r.values.empty()) {
            a.distinct.push_back(std::move(r));
        }
    }
    a.summary += ")";
    emit(std::move(a), agg.end_sec > INT64_MAX / 1000 - 1 ? INT64_MAX - 1000 : agg.end_sec * 1000);
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

namespace {

/// The {container.name} and {container.image} a summary kept while the names were read.
void fill_names(Alert& a) {
    const std::pair<const char*, const std::optional<std::string>*> fields[] = {
        {"{container.name}", a.container ? &a.container->name : nullptr},
        {"{container.image}", a.container ? &a.container->image : nullptr}};
    for (const auto& [placeholder, value] : fields) {
        const std::string_view ph(placeholder);
        const std::string text = value != nullptr && value->has_value() ? **value : std::string("-");
        for (auto pos = a.summary.find(ph); pos != std::string::npos; pos = a.summary.find(ph, pos + text.size())) {
            a.summary.replace(pos, ph.size(), text);
        }
    }
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
            parked_.push_back({std::move(a), std::chrono::steady_clock::now() + kNameWait, std::move(undecided)});
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
    const auto now = std::chrono::steady_clock::now();
    std::vector<Parked> keep;
    for (auto& p : parked_) {
        bool pending = false;
        const bool named = p.alert.container && !p.alert.container->id.empty() && names_ && enrich(p.alert, &pending);
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

void Engine::tick(std::chrono::steady_clock::time_point now) {
    release_spec_waits(false);
    release_parked(false);
    collect_verdicts();
    collect_image_diffs();
    if (!windows_.empty()) {
        close_expired(INT64_MIN, now);
    }
    send_rate_summaries(limiter_.due(INT64_MIN, now));
    if (host_identities_ && (refresh_pending_ || now >= next_refresh_)) {
        // Files named by the rules may have been replaced (package updates): new inodes. Live
        // only: a replay's identities are what its stream taught (re-resolving them from this
        // host would forget them, at whatever point of the stream the clock says).
        rules_->refresh_identities();
        refresh_pending_ = false;
        next_refresh_ = now + kRefreshInterval;
    }
}

void Engine::flush() {
    if (image_diff_) {
        // The queued comparisons (at most 256): done within kImageDiffWait, the rest handed
        // back uncompared; every alert goes out.
        image_diff_->drain(static_cast<unsigned>(kImageDiffWait.count()));
        image_diff_->cut();
        image_diff_->drain(static_cast<unsigned>(kImageDiffWait.count()));
        collect_image_diffs();
    }
    if (names_ && !spec_waits_.empty()) {
        names_->drain(static_cast<unsigned>(kNameWait.count()));
    }
    release_spec_waits(true);
    if (names_ && (!parked_.empty() || !start_waits_.empty())) {
        names_->drain(static_cast<unsigned>(kNameWait.count()));
    }
    release_parked(true);
    for (auto& [key, agg] : windows_) {
        close_window(agg);
    }
    windows_.clear();
    next_expiry_sec_ = INT64_MAX;
    send_rate_summaries(limiter_.flush());
}

}  // namespace adock::rules
