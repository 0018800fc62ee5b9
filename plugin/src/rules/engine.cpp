// SPDX-License-Identifier: Apache-2.0
// The engine's frame: built from a config and rules, it takes each event (on_event: the process
// table first, then the rules the index picks), and does the periodic work (tick, flush). What
// it does for each part lives beside it: engine_process.cpp (the process and container facts
// an event teaches), engine_conditions.cpp (whether a rule's conditions hold),
// engine_alerts.cpp (building and sending alerts), engine_aggregate.cpp (folding repeats),
// engine_integrity.cpp (the integrity monitor's and image comparisons' results).
#include <sys/stat.h>
#include <unistd.h>

#include <array>

#include "integrity/image_diff_worker.hpp"
#include "integrity/monitor.hpp"
#include "rules/engine_context.hpp"
#include "util/audit_dev.hpp"

namespace adock::rules {

using detail::event_ms;
using detail::kNameWait;

std::string local_host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) {
        return "unknown";
    }
    return buf.data();
}

namespace {

constexpr std::chrono::seconds kRefreshInterval{60};
/// Files containers wrote that an exec is looked up in (container_drift_exec): a container that
/// writes more files than this between dropping a program and running it evicts it.
constexpr std::size_t kMaxWrittenFiles = 16384;
/// At the end (shutdown): the queued image comparisons finish within this, or go uncompared.
constexpr std::chrono::milliseconds kImageDiffWait{2000};

/// Every enabled rule's `path` patterns: the paths whose dev/inode the engine learns.
std::vector<std::string> collect_path_patterns(const RuleSet& rules);

}  // namespace

Engine::Engine(const config::Config& cfg,
               std::shared_ptr<const RuleSet> rules,
               AlertSink& out,
               const util::Clock& clock)
    : host_(cfg.host.empty() ? local_host_name() : cfg.host),
      ancestry_depth_(cfg.processes.ancestry_depth),
      alert_argv_{cfg.engine.alert_argv_bytes, cfg.processes.max_arg_bytes},
      ancestor_argv_{cfg.engine.ancestor_argv_bytes, cfg.processes.max_arg_bytes},
      rules_(std::move(rules)),
      out_(out),
      clock_(clock),
      table_(cfg.processes, cfg.proc_root),
      containers_(proc::ContainerDirs{
          cfg.containerd_state_dir, cfg.docker_containers_dir, cfg.podman_storage_dir}),
      host_identities_(cfg.processes.use_proc),
      limiter_(cfg.engine.alert_rate_burst, cfg.engine.alert_rate_window_s),
      path_patterns_(collect_path_patterns(*rules_)) {
    if (cfg.processes.use_proc) {
        names_ = std::make_unique<proc::NameResolver>(proc::ContainerDirs{
            cfg.containerd_state_dir, cfg.docker_containers_dir, cfg.podman_storage_dir});
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
            limits.max_hash_bytes =
                static_cast<std::uint64_t>(cfg.integrity.max_file_mb) * 1024 * 1024;
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

std::optional<std::string> Engine::match_proc(const ProgramList& list,
                                              const proc::ProcessInfo& p) const {
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
            if (up != nullptr && up->image == p.image &&
                (seen->contains(up->exe) || up->runtime_clone)) {
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

}  // namespace

std::size_t Engine::rule_count() const {
    return static_cast<std::size_t>(std::count_if(
        rules_->rules.begin(), rules_->rules.end(), [](const Rule& r) { return r.enabled; }));
}

const std::string& Engine::syscall_of(const audit::Event& ev) {
    const std::uint64_t k =
        (static_cast<std::uint64_t>(ev.arch) << 32U) | static_cast<std::uint32_t>(ev.syscall);
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
    if (seccomp_observer_ && (ev.seccomp || (ev.has_syscall && ev.pid > 0 &&
                                             (!seccomp_waits_ || seccomp_waits_(ev.pid))))) {
        proc::SharedContainer shared;
        const proc::Attribution a = containers_.attribute(table_, ev.pid, role_fn_, &shared);
        // A copy for the observer (seccomp learning, opt-in), as before the table shared it.
        const std::optional<ContainerRef> ref = shared ? std::optional(*shared) : std::nullopt;
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
    Context ctx = Context::of_event(ev, name);
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

Engine::~Engine() = default;

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
