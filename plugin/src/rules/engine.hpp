// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "alert/alert_sink.hpp"
#include "audit/argv_budget.hpp"
#include "audit/event.hpp"
#include "config/config.hpp"
#include "proc/containers.hpp"
#include "proc/process_table.hpp"
#include "proc/root_probe.hpp"
#include "rules/engine_stats.hpp"
#include "rules/fold.hpp"
#include "rules/initiator.hpp"
#include "rules/rate_limit.hpp"
#include "rules/rule.hpp"
#include "util/clock.hpp"

namespace adock::integrity {
class IntegrityMonitor;
class ImageDiffWorker;
}  // namespace adock::integrity

namespace adock::rules {

/// gethostname(), "unknown" when it fails: the host alerts name when the config does not.
[[nodiscard]] std::string local_host_name();

/// Correlates events with the process table and containers, runs the rules, and hands
/// alerts to an AlertSink (the outputs' dispatcher, live). Runs on the engine thread only.
class Engine {
public:
    /// `clock`: the steady time name waits, the rate limit's fallback and aggregation windows are
    /// decided by (tests pass a ManualClock); it must outlive the engine.
    Engine(const config::Config& cfg,
           std::shared_ptr<const RuleSet> rules,
           AlertSink& out,
           const util::Clock& clock = util::real_clock());
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    Engine(Engine&&) = delete;
    Engine& operator=(Engine&&) = delete;

    void on_event(const audit::Event& ev);

    /// Periodic work on the engine thread: closes aggregation windows that have ended.
    /// `now`: the engine's clock's time (the caller read it).
    void tick(std::chrono::steady_clock::time_point now);

    /// What a process is to the container machinery, by its executable's identity.
    [[nodiscard]] proc::RuntimeRole role_of(const proc::ProcessInfo& p) const;

    /// Closes every aggregation window (end of input, shutdown).
    void flush();

    /// Called for every SECCOMP record, and for a SYSCALL record when `waits(pid)` says the
    /// observer waits for that process's attribution (every one without `waits`), with the
    /// acting process's attribution (--seccomp-profile, and the live plugin's learning): the
    /// attribution is computed only then, not for every event.
    using SeccompObserver = std::function<void(
        const audit::Event&, proc::Attribution, const std::optional<ContainerRef>&)>;
    using SeccompWaits = std::function<bool(int pid)>;

    void set_seccomp_observer(SeccompObserver f, SeccompWaits waits = {}) {
        seccomp_observer_ = std::move(f);
        seccomp_waits_ = std::move(waits);
    }

    /// The integrity monitor deciding `content` conditions (null: they never hold).
    void set_integrity(integrity::IntegrityMonitor* monitor) { integrity_ = monitor; }

    /// Sends the alerts whose content condition the monitor found to hold.
    void collect_verdicts();
    /// Sends the alerts compared with their container's image (image_diff rules, live).
    void collect_image_diffs();

    /// Swaps rules and settings (SIGHUP); the process table is kept.
    void reconfigure(const config::Config& cfg, std::shared_ptr<const RuleSet> rules);

    [[nodiscard]] const EngineStats& stats() const { return stats_; }

    [[nodiscard]] const InitiatorStats& initiator_stats() const { return initiators_.stats(); }

    /// Client requests waiting for a runtime start, and their bytes.
    [[nodiscard]] std::size_t initiator_pending() const { return initiators_.pending(); }

    [[nodiscard]] std::size_t initiator_pending_bytes() const {
        return initiators_.pending_bytes();
    }

    [[nodiscard]] proc::ProcessTableStats process_stats() const { return table_.stats(); }

    /// The image comparisons' figures (all zero when they do not run: replays, use_proc off).
    [[nodiscard]] ImageDiffStats image_diff_stats() const;

    /// The root probe's figures (all zero when it does not run: replays, use_proc off).
    [[nodiscard]] proc::RootProbe::Stats probe_stats() const {
        return probe_ ? probe_->stats() : proc::RootProbe::Stats{};
    }

    /// Waits for the queued name reads (tests), at most `ms`: what waits on them (a start's
    /// initiator, parked alerts) is then decided by them, not by the wall clock's 300 ms.
    void drain_names(unsigned ms) {
        if (names_) {
            names_->drain(ms);
        }
    }

    /// Waits for the queued root probes (tests), at most `ms`.
    void drain_probes(unsigned ms) {
        if (probe_) {
            probe_->drain(ms);
        }
    }

    [[nodiscard]] std::size_t rule_count() const;

    /// Syscall names cached (bounded; tests).
    [[nodiscard]] std::size_t syscall_names_cached() const { return syscall_names_.size(); }

private:
    struct Context;
    struct Match;

    struct Parked {
        Alert alert;
        std::chrono::steady_clock::time_point until;
        /// The acting process's initiator while its container's start is undecided: filled in
        /// when the alert is released.
        std::shared_ptr<const proc::InitiatorSlot> initiator;
    };

    /// A runtime's create of a container whose start and run requests wait (live) for the
    /// container's name and image (at most kNameWait, kMaxStartWaits).
    struct StartWait {
        InitiatorCorrelator::Start start;
        ContainerRef container;
        std::shared_ptr<proc::InitiatorSlot> slot;
        std::chrono::steady_clock::time_point until;
    };

    /// A runtime exec a container_request rule waits on: the container's spec is being read.
    struct SpecWait {
        std::string rule_id;
        ContainerRef container;  ///< whose spec
        audit::Event event;      ///< bounded (audit::bound_event)
        std::chrono::steady_clock::time_point until;
    };

    struct Aggregation {
        Alert last;                      ///< the latest repeat (argv cut to kWindowArgvBytes)
        unsigned long long repeats = 0;  ///< matches after the first
        /// Distinct values of the rule's aggregate.distinct fields, the first match's included:
        /// the summary shows what the repeats were, not only the last.
        std::vector<DistinctTracker> distinct;
        std::int64_t end_sec = 0;                        ///< window end, stream time
        std::chrono::steady_clock::time_point end_wall;  ///< window end, wall clock
        unsigned window_s = 0;
    };

    /// Files and directories of interest by identity (issue 11, M2): a path that lexically
    /// matches a rule's `path` pattern, seen in a PATH record with its dev/inode (an exec of
    /// /usr/bin/passwd, a PARENT item naming /usr/bin), so a later write to the same inode by
    /// another name (a symlinked directory, a hard link) matches the rule too.
    struct FileIdentities {
        /// `scope`: the container's id ("" on the host): each container names its own files.
        void learn(const std::string& scope,
                   const std::string& dev,
                   std::uint64_t inode,
                   std::string path);
        [[nodiscard]] const std::string* find(const std::string& scope,
                                              const std::string& dev,
                                              std::uint64_t inode) const;
        std::unordered_map<std::string, std::string> by_id;  ///< "scope\x1fdev/inode" -> path
        std::deque<std::string> order;                       ///< oldest first, for eviction
        static constexpr std::size_t kMax = 4096;
        std::size_t max_entries = kMax;
        static constexpr std::size_t kMaxPathBytes = 1024;
    };

    void learn_identities(const audit::Event& ev);
    /// Files a container's own processes wrote, created or chmod'ed (not the runtime's setup),
    /// by the container and dev/inode: an exec of one is drift (container_drift_exec).
    void note_container_write(const audit::Event& ev);
    /// A container's successful mount(2) of a block device: remembered for chroot.
    void note_container_mount(const audit::Event& ev, const std::string& container);
    /// The path a file of the event is known as by dev/inode (itself, or its PARENT directory
    /// and its base name) when that path matches one of `patterns`.
    std::optional<std::string> identity_match(const PathPatterns& patterns,
                                              const std::string& path,
                                              const audit::PathItem& item,
                                              const audit::Event& ev,
                                              const std::string& scope) const;
    /// Whether `c` holds for the event, and what it matched. Starts from `m`: an exception or a
    /// variant is tested on the rule's match (its `file_on_host` is about the rule's file).
    /// Writes only the event's lazily computed facts into `ctx`, never what a rule matched.
    [[nodiscard]] std::optional<Match> holds(const Conditions& c, Context& ctx, Match m);
    [[nodiscard]] std::optional<Match> holds(const Conditions& c, Context& ctx);
    void note_exec(const audit::Event& ev,
                   proc::ProcessInfo& self,
                   const std::optional<proc::ProcessInfo>& prev);
    void note_fork(const audit::Event& ev, proc::ProcessInfo& self);
    void note_initiator(const audit::Event& ev, proc::ProcessInfo& self);
    /// Decides `w` when its container's names are known, or not being read, or `force`
    /// (its time is up, the end of input). True: decided.
    bool decide_start(StartWait& w, bool force);
    /// Decides the start waits that can be (all of them with `all`).
    void release_start_waits(bool all);
    [[nodiscard]] std::optional<std::string> match_proc(const ProgramList& list,
                                                        const proc::ProcessInfo& p) const;
    void bind_lists();
    /// Sends an alert, or holds it (briefly, bounded) until its container's names are read.
    void send(Alert&& a);
    bool enrich(Alert& a, bool* pending);
    void release_parked(bool all);
    /// paths / path_in: one of the event's object paths matches; records it (and what path_in
    /// matched) in `m`.
    bool path_condition(const Conditions& c, Context& ctx, Match& m);
    /// host_namespace: the process (still the event's, by its cgroup) shares one of `kinds`
    /// with the host; the ones it shares ("mnt,pid"), nullopt when none.
    std::optional<std::string> host_namespace_condition(const std::set<std::string>& kinds,
                                                        Context& ctx);
    /// container_request: the client's or runtime's argv, or the started container's spec,
    /// asks for one of `kinds`: what it asks, nullopt when nothing (ctx.spec_pending while unread).
    std::optional<std::string> request_condition(std::uint32_t kinds, Context& ctx);
    void release_spec_waits(bool all);
    void evaluate(const Rule& rule, Context& ctx);
    Alert build_alert(const Rule& rule, Context& ctx, const Match& m);
    void finish_alert(const Rule& rule, Context& ctx, const Match& m, Alert& a);
    void collect_findings();
    void render_summary(const Rule& rule, Context& ctx, const Match& m, Alert& a);
    const std::string& syscall_of(const audit::Event& ev);

    /// What an image_diff rule's alert is compared with its image by: the devices that may be
    /// the container's overlay (the file's, its directory's, the acting program's) and the
    /// file as the container sees it.
    struct ImageProbe {
        std::vector<std::string> devs;
        std::string path;
    };

    [[nodiscard]] std::optional<ImageProbe> image_probe(const Rule& rule,
                                                        Context& ctx,
                                                        const Alert& a);
    void aggregate(const Rule& rule,
                   Alert&& alert,
                   std::int64_t sec,
                   std::int64_t ms,
                   const ImageProbe* probe = nullptr);
    void close_window(Aggregation& agg);
    void close_expired(std::int64_t sec, std::chrono::steady_clock::time_point now);
    /// Sends an alert the engine created, through the per-source rate limit.
    /// `probe`: compared with the container's image first (off this thread).
    void emit(Alert&& a, std::int64_t ms, const ImageProbe* probe = nullptr);
    void send_rate_summaries(std::vector<Alert>&& summaries);

    std::string host_;
    unsigned ancestry_depth_;
    audit::ArgvBudget alert_argv_;     ///< the acting process's argv in an alert
    audit::ArgvBudget ancestor_argv_;  ///< each ancestor's argv in an alert
    std::shared_ptr<const RuleSet> rules_;
    AlertSink& out_;
    const util::Clock& clock_;  ///< the steady time of name waits, rate-limit and window ends
    proc::ProcessTable table_;
    proc::ContainerResolver containers_;
    /// Names are read only where the host's state describes the stream (not in a replay).
    std::unique_ptr<proc::NameResolver> names_;
    /// Live: each container's monitored directories and their entries by dev/inode, read from
    /// its root off the engine thread (M2: another name for /usr/bin).
    std::unique_ptr<proc::RootProbe> probe_;
    std::vector<Parked> parked_;
    std::vector<SpecWait> spec_waits_;
    bool releasing_spec_waits_ = false;  ///< a released wait is decided, never held again
    static constexpr std::size_t kMaxSpecWaits = 256;
    /// The host's files define identities (live); a replay learns them from the stream.
    bool host_identities_ = true;
    const ProgramList* oci_runtimes_ = nullptr;
    const ProgramList* managers_ = nullptr;
    const ProgramList* clients_ = nullptr;  ///< container_clients: docker, podman, ctr, ... CLIs
    /// client requests awaiting the runtime's exec or create
    InitiatorCorrelator initiators_;
    std::vector<StartWait> start_waits_;  ///< container starts waiting for their names
    static constexpr std::size_t kMaxStartWaits = 64;
    static constexpr std::size_t kMaxStartCandidates = 256;  ///< requests the start waits hold
    proc::RoleOf role_fn_;
    EngineStats stats_;
    SeccompObserver seccomp_observer_;  ///< empty: no one learns from SECCOMP records
    SeccompWaits seccomp_waits_;        ///< empty: every SYSCALL record goes to the observer
    AlertRateLimiter limiter_;
    /// (arch << 32 | nr) -> name, for the names libaudit knows only (bounded by its tables and
    /// kMaxSyscallNames).
    std::unordered_map<std::uint64_t, std::string> syscall_names_;
    std::string unknown_syscall_;  ///< the last uncached name syscall_of() returned
    static constexpr std::size_t kMaxSyscallNames = 4096;
    std::unordered_map<std::string, Aggregation> windows_;  ///< open aggregation windows
    std::int64_t next_expiry_sec_ = INT64_MAX;              ///< earliest end_sec, or max
    integrity::IntegrityMonitor* integrity_ = nullptr;
    /// Live: compares image_diff rules' files with their container's image, on its own thread
    /// (never behind the integrity monitor's scans). Null in a replay.
    std::unique_ptr<integrity::ImageDiffWorker> image_diff_;
    FileIdentities identities_;
    std::string learn_scratch_;  ///< learn_identities()'s path, its buffer kept between events
    FileIdentities written_;     ///< note_container_write: scope = container id
    /// Block devices a container's own processes mounted (mount(2) succeeded: the source's
    /// rdev), "container id \x1f rdev": a chroot onto one is a chroot into that disk. FIFO.
    std::unordered_set<std::string> mounted_blk_;
    std::deque<std::string> mounted_blk_order_;
    static constexpr std::size_t kMaxMountedBlk = 1024;
    /// Live: the host's root directory (the plugin's own "/", dev and inode), which a container
    /// reaches through a bind mount (-v /:/host) and may chroot into.
    std::optional<std::pair<std::string, std::uint64_t>> host_root_;

    /// The sealed copies (memfd dev/inode) recognised runtime inits were exec'd from, newest
    /// last: runc's nsexec clones of an init run the same file without an exec of their own.
    struct CloneImage {
        FileId image;     ///< the sealed copy
        int ppid = 0;     ///< the runtime process the init is the child of
        std::string exe;  ///< the init's executable as the kernel's record names it
    };

    std::deque<CloneImage> clone_images_;
    static constexpr std::size_t kMaxCloneImages = 64;
    static constexpr std::size_t kCgroupReadBytes = 8192;
    PathPatterns path_patterns_;  ///< every rule's `path` patterns: what is learned
    /// a rule saw a listed file replaced: re-resolve at the next tick
    bool refresh_pending_ = false;
    std::chrono::steady_clock::time_point next_refresh_{};
};

}  // namespace adock::rules
