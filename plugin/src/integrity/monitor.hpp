// SPDX-License-Identifier: Apache-2.0
// Application control for the container runtime (seed 001): knows what the runtime binaries
// are by content, and checks executed programs against that on its own thread. The engine
// hands it exec alerts of rules with a `content` condition; it hashes (cached by device, inode,
// size, mtime and ctime), decides, and dispatches the alerts whose condition holds.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alert/alert.hpp"
#include "audit/event.hpp"
#include "config/config.hpp"
#include "integrity/baseline.hpp"
#include "integrity/digest.hpp"
#include "integrity/dpkg.hpp"
#include "util/bounded_queue.hpp"
#include "util/bytes.hpp"
#include "util/unique_fd.hpp"

namespace adock::integrity {

/// Content conditions a rule can ask for (bits).
enum class ContentCheck : std::uint32_t {
    /// The program's content is a runtime binary's, under another path and name: a renamed copy.
    RuntimeCopy = 1,
    /// The program is named like a runtime binary but its content is trusted by nothing: not the
    /// baseline, not the package manager's record, not the allowlist.
    UntrustedRuntime = 2,
    /// The program's content is one dpkg installed in a binary directory, run from another
    /// place or under another name (`cp /bin/sh /tmp/crond`): masquerading.
    PackageCopy = 4,
};

/// The integrity settings of the configuration (config.hpp documents them).
using IntegrityConfig = config::IntegritySettings;

/// A difference between the baseline and the disk, found by a scan.
struct Finding {
    std::string path;
    /// "content", "mode", "owner" (comma-joined when several), "missing", "new"
    std::string change;
    std::optional<FileFacts> before;
    std::optional<FileFacts> after;
    std::string trusted_by;  ///< what vouches for the file now ("" when nothing does)
};

struct IntegrityStats {
    unsigned long long checked = 0;     ///< candidates examined
    unsigned long long prechecked = 0;  ///< of which decided on the engine thread (precheck)
    unsigned long long precheck_batch_hits = 0;  ///< of those, answered by the batch's earlier stat
    /// of those, ruled out by the host's file at the exe path (not /proc/PID/exe)
    unsigned long long precheck_by_host_file = 0;
    unsigned long long hashed = 0;        ///< files read (cache misses)
    unsigned long long alerts = 0;        ///< conditions that held
    unsigned long long unverifiable = 0;  ///< program gone before it could be read
    unsigned long long dropped = 0;       ///< queue full
    unsigned long long scans = 0;
    unsigned long long drift = 0;  ///< findings of all scans
    std::size_t baseline_files = 0;
    std::size_t trusted_hashes = 0;
};

class IntegrityMonitor {
public:
    IntegrityMonitor(IntegrityConfig cfg, std::string proc_root);
    IntegrityMonitor(const IntegrityMonitor&) = delete;
    IntegrityMonitor& operator=(const IntegrityMonitor&) = delete;
    IntegrityMonitor(IntegrityMonitor&&) = delete;
    IntegrityMonitor& operator=(IntegrityMonitor&&) = delete;
    ~IntegrityMonitor();

    /// An exec event a rule with a `content` condition matched otherwise.
    struct Request {
        Request() = default;

        Request(audit::Event e, std::string id, std::uint32_t bits)
            : event(std::move(e)), rule_id(std::move(id)), checks(bits) {}

        audit::Event event;
        std::string rule_id;
        std::uint32_t checks = 0;  ///< ContentCheck bits
        /// Set: a tamper alert whose file to look at again. Held by pointer: an Alert is about
        /// 1.8 KB of members, and every exec check waiting in the queue would carry one empty.
        std::unique_ptr<Alert> reexamine;
        std::uint64_t inode = 0;
        /// The executed file's identity (PATH item 0: dev, inode): when the process is gone,
        /// a runtime binary of the host is still verified if it is that very file.
        std::pair<std::string, std::uint64_t> image;
        /// The running program, pinned when the engine submitted the check (an O_PATH of
        /// /proc/PID/exe): a program that exits at once (`kworker --version`) is still read.
        std::shared_ptr<util::UniqueFd> exe;
        /// The process is the host's (its paths are the host's paths), not a container's.
        bool host_process = false;
        /// What it counts against kQueueBytes while it waits (set by submit and examine).
        std::size_t bytes = 0;
    };

    /// The checks waiting for the worker are bounded in bytes as well as in number
    /// (queue_size): a check holds its exec's event (argv cut to the alert's budget, its paths,
    /// its cwd), so 4,096 of them could otherwise hold hundreds of MB. About 1 KB each on the
    /// bench stream: some 2,000 fit.
    static constexpr std::size_t kQueueBytes = 2 * util::kMiB;

    /// A request whose content condition held: the engine builds and sends the alert.
    struct Verdict {
        audit::Event event;
        std::string rule_id;
        IntegrityRef integrity;
        std::string note;  ///< appended to the alert's summary
    };

    /// Starts the worker, which first baselines the runtime binaries: `paths` as the host has
    /// them, `names` their plain names.
    void start(std::vector<std::string> paths, std::set<std::string> names);
    /// Stops after the queued checks.
    void stop();
    /// Ends the worker's long work early (dpkg's index, a scan), keeping the queue: a signal
    /// stopped the plugin. Content checks after a first baseline that was cut are not decided
    /// (counted unverifiable): half a baseline would take a runtime binary for an untrusted one.
    void cut_scans();

    /// What precheck() found for an exec's content check.
    struct Precheck {
        /// The check is decided (nothing to report): the program's size is no runtime binary's
        /// (nor, for package_copy, a package program's), or it was gone before it could be seen.
        bool decided = false;
        /// Otherwise the program pinned for the worker (may be null): pass it in Request::exe.
        std::shared_ptr<util::UniqueFd> exe;
    };

    /// Engine thread, before a Request is built: the check of one exec decided here when it can
    /// be without reading the program. It pins /proc/PID/exe (O_PATH), or for a process gone
    /// already the host's file at `exe` if it is the very file the exec ran (`image`, as the
    /// worker does), and rules the program out by its size (fstat) against the runtime binaries'
    /// sizes the worker published after its first baseline. Most execs end here: no copy of the
    /// event, no hand-off, no wake-up of the worker. Anything else (a program named like a
    /// runtime, a size that matches, no baseline yet) goes to the worker as before.
    [[nodiscard]] Precheck precheck(const audit::Event& ev,
                                    const std::string& exe,
                                    std::uint32_t checks,
                                    const std::pair<std::string, std::uint64_t>& image,
                                    bool host_process);
    /// Engine thread; never blocks. Held until flush_submissions() (the engine loop calls it
    /// after each input batch): one hand-off and one worker wake-up per batch, not per exec.
    /// False when the request could not be kept (counted as dropped).
    bool submit(Request&& r);
    /// Engine thread: hands the held requests to the worker at once; beyond its queue they are
    /// dropped and counted.
    void flush_submissions();
    /// Engine thread: the verdicts reached since the last call.
    std::vector<Verdict> take_verdicts();

    [[nodiscard]] bool has_verdicts() const {
        return has_verdicts_.load(std::memory_order_relaxed);
    }

    /// Engine thread: whether an alert's file is a monitored one (by path, or by inode for a
    /// bind mount's other name).
    /// `parent`: the event's PARENT item (dev "fe:00", inode), when it has one: a path of a
    /// monitored file in another directory than the host's (an image layer being unpacked, a
    /// chroot) is not that file.
    [[nodiscard]] bool monitors(const std::string& path,
                                std::uint64_t inode,
                                const std::pair<std::string, std::uint64_t>& parent = {}) const;
    /// Engine thread: re-examine the alert's file and attach before and after; the alert comes
    /// back through take_ready(). False when the queue is full (the caller sends it as it is).
    bool examine(Alert&& alert, std::uint64_t inode);
    /// Engine thread: alerts whose file was re-examined.
    std::vector<Alert> take_ready();

    /// Runs one scan on the calling thread (start-up work included) and stops: `--scan`.
    void scan_once(std::vector<std::string> paths, std::set<std::string> names);
    /// Blocks until every submitted request is decided and no scan runs (end of a replay, tests).
    void drain();

    /// Asks for a scan (SIGUSR2); it runs on the worker between checks.
    void request_scan() { scan_requested_ = true; }

    /// Engine thread: the scan findings reached since the last call.
    std::vector<Finding> take_findings();

    [[nodiscard]] IntegrityStats stats() const;

    /// Bytes of the checks waiting for the worker (kQueueBytes at most).
    [[nodiscard]] std::size_t queued_bytes() const { return queued_bytes_.load(); }

    /// Engine thread: a package_copy check is worth submitting for a program at `exe` (the index
    /// of dpkg's programs is read, and `exe` is not one of their own paths). False until the
    /// worker has read the index.
    [[nodiscard]] bool package_copy_candidate(const std::string& exe) const {
        const PackageBinaries* idx = packages_.load(std::memory_order_acquire);
        return idx != nullptr && !idx->is_package_path(exe);
    }

private:
    void run() noexcept;
    /// Compares the monitored files with the baseline and updates it. `report`: differences
    /// become findings (not on the very first baseline).
    void scan(const std::string& why);
    [[nodiscard]] std::vector<std::string> monitored() const;
    void handle(Request& r);
    void reexamine(Request& r);
    void publish_watch_list();
    /// Engine thread: the exec's program pinned (O_PATH /proc/PID/exe), once per exec.
    std::shared_ptr<util::UniqueFd> pin(const audit::Event& ev);
    /// Worker: hands the runtime binaries' sizes to precheck() (after the first baseline).
    void publish_sizes();

    /// The checks a program at `exe` needs, as handle() decides them.
    struct Wanted {
        bool copy = false;
        bool untrusted = false;
        bool package = false;
        bool runtime_path = false;
        bool named_runtime = false;
    };

    [[nodiscard]] Wanted wanted(const std::string& exe, std::uint32_t checks) const;
    /// The program an exec ran, O_PATH: the pinned /proc/PID/exe if it still is that program,
    /// else the host's file at the exe path if it is the very file (same device and inode).
    /// `try_proc`: open /proc/PID/exe when nothing is pinned. Returns the descriptor to use (the
    /// pin itself, or one held in `fd`), -1 for none; `st` receives the file's stat.
    [[nodiscard]] int program_of(const audit::Event& ev,
                                 const std::string& exe,
                                 int pinned,
                                 bool try_proc,
                                 const Wanted& w,
                                 const std::pair<std::string, std::uint64_t>& image,
                                 bool host_process,
                                 util::UniqueFd& fd,
                                 struct stat& st) const;
    /// Whether the exec may be looked at in the host's file at `exe`: a host process (not one
    /// named like a runtime), or a runtime binary's path; an absolute path, a known inode.
    [[nodiscard]] static bool host_file_allowed(const std::string& exe,
                                                const Wanted& w,
                                                const std::pair<std::string, std::uint64_t>& image,
                                                bool host_process);
    /// The stat of the host's file at `exe` (one fstatat, no descriptor, no automount), true only
    /// where host_file_allowed() and if it is the exec's own file (`image`'s device and inode).
    [[nodiscard]] static bool host_file_stat(const std::string& exe,
                                             const Wanted& w,
                                             const std::pair<std::string, std::uint64_t>& image,
                                             bool host_process,
                                             struct stat& st);
    /// The host's file at `exe` (O_PATH, no symlink on the way), only where the exec may be
    /// looked at there (a host process, or a runtime binary's path) and only if it is the very
    /// file the exec ran (`image`'s device and inode); else none. `st`: its stat.
    [[nodiscard]] static util::UniqueFd host_file(
        const std::string& exe,
        const Wanted& w,
        const std::pair<std::string, std::uint64_t>& image,
        bool host_process,
        struct stat& st);
    /// No runtime binary (w.copy) and no package program outside its place (w.package) has a
    /// file of `size` bytes: the program is no copy of one.
    [[nodiscard]] bool sizes_rule_out(const Wanted& w, std::uint64_t size) const;
    /// precheck()'s first try: the exec's program ruled out by size from the host's file, when
    /// that is the exec's own file and unchanged since the exec (no /proc lookup, one stat:
    /// host_file_stat()). When it does not decide, program_of() looks for the file itself.
    bool rule_out_by_host_file(const audit::Event& ev,
                               const std::string& exe,
                               std::uint32_t checks,
                               const Wanted& w,
                               const std::pair<std::string, std::uint64_t>& image,
                               bool host_process,
                               struct stat& st);
    /// Moves out one of the engine's inboxes (verdicts_, findings_, ready_).
    template <class T>
    std::vector<T> take(std::vector<T>& from);
    [[nodiscard]] std::optional<std::string> trusted_by(const FileFacts& f,
                                                        const std::string& path);
    void follow_package(const std::string& path, const FileFacts& f);

    IntegrityConfig cfg_;
    std::string proc_root_;
    /// Requests' pinned programs open now (declared before the queues that hold them).
    std::atomic<int> pinned_{0};
    static constexpr int kMaxPinned = 256;
    util::BoundedQueue<Request> queue_;
    /// Bytes of the requests in outbox_ and queue_ (Request::bytes), at most kQueueBytes.
    std::atomic<std::size_t> queued_bytes_{0};
    std::vector<Request> outbox_;  ///< engine thread: submitted, not handed to the worker yet

    // Worker thread only.
    std::vector<std::string> paths_;
    std::set<std::string> names_;
    Baseline baseline_;
    DpkgRecords dpkg_;
    std::map<std::string, std::string> runtime_hashes_;  ///< sha256 -> the runtime path it is
    std::set<std::uint64_t> runtime_sizes_;
    /// dpkg's programs by content (binary_masquerade), read once by the worker at start, then
    /// published read-only to the engine thread.
    std::unique_ptr<PackageBinaries> packages_owned_;
    std::atomic<const PackageBinaries*> packages_{nullptr};
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::pair<StatKey, FileFacts>> cache_;

    mutable std::mutex stats_mu_;
    IntegrityStats stats_;
    std::atomic<long> inflight_{0};  ///< submitted, not decided yet (the baseline counts as one)
    std::mutex verdicts_mu_;
    std::vector<Verdict> verdicts_;
    std::atomic<bool> has_verdicts_{false};
    std::vector<Finding> findings_;  ///< guarded by verdicts_mu_
    std::vector<Alert> ready_;       ///< guarded by verdicts_mu_
    mutable std::mutex watch_mu_;
    std::set<std::string> watched_paths_;  ///< guarded by watch_mu_: the baseline's paths
    std::map<std::uint64_t, std::string> watched_inodes_;  ///< guarded by watch_mu_
    /// The host's directories of the monitored files: path -> (dev, inode). Guarded by watch_mu_.
    std::map<std::string, std::pair<std::string, std::uint64_t>> watched_dirs_;
    std::atomic<bool> scan_requested_{false};
    std::atomic<bool> stopping_{false};  ///< stop(), cut_scans(): the worker's long work ends early
    /// with stop_cv_: a scan's rate wait ends at once on a stop
    std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    bool baseline_cut_ = false;  ///< worker: the first baseline was cut short
    bool sizes_ready_ = false;   ///< worker: the first baseline is done, sizes published

    // The runtime binaries' sizes, for precheck(): published by the worker, copied by the engine
    // thread when the version moves (0: not published yet, precheck() decides nothing).
    std::mutex sizes_mu_;
    std::vector<std::uint64_t> published_sizes_;  ///< guarded by sizes_mu_
    std::atomic<std::uint64_t> sizes_version_{0};
    std::vector<std::uint64_t> engine_sizes_;  ///< engine thread
    std::uint64_t engine_sizes_version_ = 0;   ///< engine thread
    /// The last pin precheck() made (the same exec's second rule pins nothing new). Engine thread.
    std::uint64_t last_pin_serial_ = 0;
    int last_pin_pid_ = -1;
    std::shared_ptr<util::UniqueFd> last_pin_;

    /// Files precheck() ruled out by size in the current batch (cleared by flush_submissions()
    /// and when the sizes change): the same program exec'd again is not statted again.
    struct RuledOut {
        std::string dev;
        std::uint64_t inode = 0;
        std::uint32_t checks = 0;
        std::string exe;
    };

    static constexpr std::size_t kMaxRuledOut = 64;
    std::vector<RuledOut> ruled_out_;
    std::atomic<unsigned long long> precheck_batch_hits_{0};
    std::atomic<unsigned long long> precheck_by_host_file_{0};
    /// Checks precheck() decided: counted with the worker's in stats().
    std::atomic<unsigned long long> prechecked_{0};
    std::atomic<unsigned long long> precheck_unverifiable_{0};

    /// Last member: run() uses nearly every member above (the queue, the baseline, the stats,
    /// the inboxes, stop_cv_), so it is joined (stop(), from the destructor, or at the latest
    /// when the members are destroyed) before any of them is.
    std::jthread worker_;
};

}  // namespace adock::integrity
