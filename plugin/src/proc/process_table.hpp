// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "alert/alert.hpp"
#include "audit/argv_budget.hpp"
#include "audit/event.hpp"
#include "config/config.hpp"

namespace adock::proc {

/// A file by device ("fe:00") and inode; inode 0: unknown.
using FileId = std::pair<std::string, std::uint64_t>;

/// Where a process runs: decided once, when the process is first learned (its exec, or its
/// first event), from its parent's entry or the kernel's cgroup; never from argv or names.
enum class Attribution : std::uint8_t { Pending, Unknown, Host, Container };

/// Who asked a daemon for a process (issue 15), shared by the processes that inherit it: decided
/// at the runtime's exec at once; at a container's start (runc create) once its name and image
/// are read (live), until then `decided` is false.
struct InitiatorSlot {
    std::shared_ptr<const InitiatorRef> ref;  ///< null: unknown (nobody, or no request fits)
    bool decided = true;
};

/// One container's identity, shared by the entries of its processes and by the events that read
/// it: a table of thousands of a container's processes would otherwise hold a copy each (about
/// 270 bytes, and the 64 hex digits of its id on the heap). Never changed once made.
using SharedContainer = std::shared_ptr<const ContainerRef>;

/// The shared identity of `ref`; null for none.
[[nodiscard]] inline SharedContainer share(std::optional<ContainerRef>&& ref) {
    return ref ? std::make_shared<const ContainerRef>(std::move(*ref)) : nullptr;
}

/// What we know of one process.
struct ProcessInfo {
    int pid = -1;
    int ppid = -1;
    std::string exe;
    std::string comm;
    std::vector<std::string> argv;  ///< within processes.max_argv_bytes (see insert())
    /// argv was cut to the entry's budget: the whole argv's SHA-256 and argument count, so
    /// alerts naming this process can still say what it was.
    bool argv_truncated = false;
    std::string argv_sha256;
    std::size_t argv_argc = 0;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> auid;
    /// Learned from the stream (true) or read from /proc (false).
    bool from_stream = false;
    /// The stream showed this process's exec: exe and argv are its image. Otherwise (learned
    /// from another syscall) it may be a fork that runs its parent's image.
    bool exec_seen = false;
    /// The exec'd file as the kernel saw it (PATH item 0), for recognising copies and hardlinks.
    std::uint64_t exec_inode = 0;
    std::string exec_dev;
    /// The executable this process runs, by identity: PATH item 0 of its exec, the host file
    /// of /proc/PID/exe, or (a fork that never exec'd) its parent's. For runc re-executing
    /// itself from a sealed copy (`runc init` from a memfd) the runtime's own identity.
    FileId image;
    /// This process is a runtime's re-execution of itself (runc init): not a copy under
    /// another name.
    bool runtime_clone = false;
    /// image is its parent's (a fork that never exec'd), not from its own exec record.
    bool image_inherited = false;
    Attribution attribution = Attribution::Pending;
    /// When attribution is Container; members unknown stay empty.
    SharedContainer container;
    /// The client command that asked a daemon for this process (docker exec, docker run, ...):
    /// set on the runtime's `exec` or `create` by the engine, inherited by what it starts (forks
    /// and execs), shared.
    std::shared_ptr<InitiatorSlot> initiator;
};

/// Cuts an entry's argv to `budget` (the byte budget per table entry), keeping the whole
/// argv's hash and count: 8192 entries of 6 MiB argv would be 48 GiB.
void bound_entry_argv(ProcessInfo& p, audit::ArgvBudget budget);

struct ProcessTableStats {
    std::size_t size = 0;
    unsigned long long from_stream = 0;
    unsigned long long proc_reads = 0;
    unsigned long long proc_misses = 0;
    unsigned long long evictions = 0;
    /// entries replaced: the pid now belongs to another process
    unsigned long long reused_pids = 0;
};

/// Bounded table of processes, learned from the stream first and /proc second.
/// Eviction is least-recently-used, so short-lived parents stay as long as they are useful
/// and memory never grows past max_entries.
class ProcessTable {
public:
    ProcessTable(const config::ProcessTableConfig& cfg, std::string proc_root);

    /// Records what an event teaches: an exec replaces the entry for its pid; any other syscall
    /// event fills in a process we have not seen, or one whose pid was reused (another
    /// executable, or another parent than the entry's). Returns the entry for ev.pid, or null.
    /// `previous`: for an exec, the entry the pid had before (same process), moved out.
    ProcessInfo* observe(const audit::Event& ev,
                         std::optional<ProcessInfo>* previous = nullptr,
                         bool* forked = nullptr);

    /// The entry for pid without reading /proc (null when the table does not hold it).
    ProcessInfo* peek(int pid);
    [[nodiscard]] const ProcessInfo* peek(int pid) const;

    /// The process is the same, reparented (its parent exited; a subreaper took it): the
    /// entry keeps what it knew and takes the new parent.
    void reparent(int pid, int ppid);

    /// The process, from the table or (when allowed and alive) from /proc. nullptr if unknown.
    ProcessInfo* find(int pid);

    /// Ancestors of a process with parent `ppid`, parent first, at most `depth`.
    std::vector<const ProcessInfo*> ancestry(int ppid, unsigned depth);

    [[nodiscard]] ProcessTableStats stats() const;

    [[nodiscard]] const std::string& proc_root() const { return proc_root_; }

    [[nodiscard]] bool use_proc() const { return cfg_.use_proc; }

    void set_config(const config::ProcessTableConfig& cfg) { cfg_ = cfg; }

    /// Reads /proc/<pid> into a ProcessInfo (exposed for tests with a fake proc root).
    [[nodiscard]] std::optional<ProcessInfo> read_proc(int pid) const;
    /// The identity of /proc/<pid>/exe (inode 0 when gone).
    [[nodiscard]] FileId image_of(int pid) const;

private:
    struct Slot {
        ProcessInfo info;
        std::list<int>::iterator lru;
    };

    ProcessInfo& insert(ProcessInfo info);
    void touch(Slot& slot);

    config::ProcessTableConfig cfg_;
    std::string proc_root_;
    std::unordered_map<int, Slot> by_pid_;
    std::list<int> lru_;  ///< most recent first
    ProcessTableStats stats_;
};

}  // namespace adock::proc
