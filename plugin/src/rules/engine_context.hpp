// SPDX-License-Identifier: Apache-2.0
// What the engine's files share and nothing else sees: the per-event facts (Engine::Context) and
// the few helpers more than one of them uses. Included only by rules/engine*.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/argv_budget.hpp"
#include "rules/engine.hpp"
#include "rules/fileop.hpp"

namespace adock::rules {
namespace detail {

/// How long an alert waits for its container's names to be read.
constexpr std::chrono::milliseconds kNameWait{300};

/// The event's time in milliseconds (stream clock), saturating on absurd seconds.
inline std::int64_t event_ms(const audit::Event& ev) {
    constexpr std::int64_t kMaxSec = INT64_MAX / 1000 - 1;
    const std::int64_t sec = std::clamp<std::int64_t>(ev.sec, -kMaxSec, kMaxSec);
    return sec * 1000 + static_cast<std::int64_t>(ev.milli % 1000);
}

/// argv within `budget` into an alert's process object, with the cut marked.
void set_argv(ProcessRef& r,
              const std::vector<std::string>& argv,
              audit::ArgvBudget budget,
              bool already_cut,
              const std::string& whole_sha256,
              std::size_t whole_argc);

/// kill_process, kill_thread, trap, errno(N), user_notif, trace, log, allow: the action bits of a
/// SECCOMP record's `code` (SECCOMP_RET_ACTION_FULL).
std::string seccomp_action(std::uint32_t code);

/// Fills the summary's kept places (Alert::summary_holes) with their text now: the
/// {integrity.*} ones always, the container's names only when `names` (the others stay open,
/// their offsets moved by what went in before them).
void fill_holes(Alert& a, bool names);

/// fill_holes() of the {integrity.*} places, once the file was examined (or will not be).
void fill_integrity(Alert& a);

}  // namespace detail

/// What a rule's conditions found when they held (holds()): what they matched and on which
/// file. One per rule: nothing a rule matched is seen by the next rule of the event.
struct Engine::Match {
    /// what actor_in / path_in / drift / ... matched (e.g. "runc")
    std::string matched;
    std::optional<std::string> file_path;  ///< the path a path condition matched
    std::optional<std::string> same_as;    ///< ... by dev/inode: the path it is known as
    bool file_on_host = false;             ///< path_in matched the host's file for certain
};

/// Facts about one event, computed on first use: most events never need the parent,
/// the ancestry, the container or the file paths.
struct Engine::Context {
    /// An event of the stream (or a kept copy of one): its command line is EXECVE's when it has
    /// one, else PROCTITLE's; `syscall` is its name, null for an event with no SYSCALL record.
    static Context of_event(const audit::Event& e, const std::string* syscall) {
        Context c(e, e.has_execve ? e.argv : e.proctitle);
        c.syscall = syscall;
        return c;
    }

    /// A file change the integrity monitor found (`e` describes the file only): no process, no
    /// ancestry, no container, no command line; its operation and whether something vouches for
    /// the file are known.
    static Context of_file_change(const audit::Event& e, FileOp op, bool trusted) {
        static const std::vector<std::string> kNoArgv;
        Context c(e, kNoArgv);
        c.op = op;
        c.op_done = true;
        c.trusted = trusted;
        c.ancestry_done = true;
        c.container_done = true;
        return c;
    }

    const audit::Event& ev;
    const std::vector<std::string>& argv;
    const std::string* syscall = nullptr;  ///< name; null for SECCOMP-only events
    bool parent_done = false;
    const proc::ProcessInfo* parent = nullptr;
    bool ancestry_done = false;
    std::vector<const proc::ProcessInfo*> ancestry;
    bool container_done = false;
    proc::Attribution attribution = proc::Attribution::Unknown;
    proc::SharedContainer container;  ///< Container: the container; Unknown: one with no id
    bool names_pending = false;       ///< the container's names are being read
    bool spec_pending = false;        ///< container_request: the spec is being read
    /// container_request: what the command line asks (computed once, for every rule asking).
    std::optional<std::vector<proc::RequestFinding>> argv_requests;
    bool op_done = false;
    FileOp op = FileOp::None;
    bool paths_done = false;
    /// Absolute paths of the event's PATH items that name the object (not PARENT directories),
    /// with the item they came from.
    std::vector<std::pair<std::string, const audit::PathItem*>> paths;
    std::optional<bool> trusted;  ///< integrity findings: something vouches for the file

    const std::vector<const proc::ProcessInfo*>& lineage(proc::ProcessTable& t, unsigned depth) {
        if (!ancestry_done) {
            ancestry = t.ancestry(ev.ppid, depth);
            ancestry_done = true;
        }
        return ancestry;
    }

    proc::Attribution attribution_of(proc::ContainerResolver& c,
                                     proc::ProcessTable& t,
                                     const proc::RoleOf& role) {
        if (!container_done) {
            attribution = c.attribute(t, ev.pid, role, &container);
            if (attribution == proc::Attribution::Unknown) {
                // Reported as unknown, not as the host: one empty container, never changed.
                static const proc::SharedContainer kUnknown =
                    std::make_shared<const ContainerRef>();
                container = kUnknown;
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

private:
    Context(const audit::Event& e, const std::vector<std::string>& a) : ev(e), argv(a) {}
};

}  // namespace adock::rules
