// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "alert/alert.hpp"

namespace adock::rules {

/// A list of program patterns. A pattern with a '/' is matched (fnmatch) against the full
/// path, one without against the basename: `containerd-shim*` or `/usr/sbin/runc`.
struct ProgramList {
    std::string name;  ///< list name, or "" for an inline list
    std::vector<std::string> patterns;
    /// When set, a basename pattern only matches a program in one of these directories: a
    /// shell copied to /tmp/containerd-shim-x is not the containerd shim.
    std::vector<std::string> dirs;
    /// Files of the host that the plain names resolve to (dev:inode), so a hardlink, a bind mount
    /// or a copy that keeps the inode is recognised whatever it is called.
    /// Refreshed by resolve() (at load, then periodically and after an alert on a path_in
    /// list that may have replaced a file: dpkg installs a new runc under a new inode).
    /// Only the engine thread touches a RuleSet once it is loaded.
    mutable std::set<std::pair<std::string, std::uint64_t>> identities;  ///< ("fe:00", inode)
    mutable std::set<std::string> resolved_paths;
    std::vector<std::string> search_dirs;  ///< where plain names are looked for

    /// (Re)resolves plain names and full paths to the host's files.
    void resolve() const;

    /// The pattern (or resolved path) that matches `path`, if any.
    [[nodiscard]] std::optional<std::string> match(std::string_view path) const;

    /// For file paths: full-path patterns and resolved paths only (a file merely *named* runc
    /// somewhere is not the runtime), or the same file by device and inode.
    [[nodiscard]] std::optional<std::string> match_file(std::string_view path, const std::string& dev,
                                                        std::uint64_t inode) const;
};

/// Which events a rule looks at; the engine indexes rules by this.
enum class EventClass { Exec, Syscall, Seccomp, Integrity, Any };

/// The conditions of a rule or an exception; all present conditions must hold.
struct Conditions {
    std::optional<std::shared_ptr<const ProgramList>> actor_in;        ///< exe, exec'd file identity
    std::optional<std::shared_ptr<const ProgramList>> actor_not_in;
    std::optional<std::shared_ptr<const ProgramList>> parent_in;       ///< direct parent's exe
    std::optional<std::shared_ptr<const ProgramList>> parent_not_in;
    std::optional<std::shared_ptr<const ProgramList>> ancestor_in;     ///< any ancestor's exe
    std::optional<std::set<std::string>> keys;                        ///< audit key
    std::optional<bool> success;
    std::optional<bool> in_container;
    std::optional<std::vector<std::string>> argv_contains;            ///< any argument equals one
    std::optional<std::shared_ptr<const ProgramList>> lineage_in;      ///< actor or any ancestor
    std::optional<std::vector<std::string>> comm;                     ///< fnmatch patterns
    std::optional<std::set<std::string>> syscalls;                    ///< by name, decoded with arch
    std::optional<std::set<std::int64_t>> exits;                      ///< exit codes (-26 = ETXTBSY)
    std::optional<std::uint32_t> operations;                          ///< FileOp bits
    std::optional<std::vector<std::string>> paths;                    ///< path_matches() patterns
    std::optional<std::shared_ptr<const ProgramList>> path_in;         ///< files by path or inode
    std::optional<std::set<std::uint32_t>> uids;
    std::optional<std::set<std::uint32_t>> euids;
    std::optional<std::set<std::uint32_t>> auids;                     ///< 4294967295 = unset
    std::optional<std::set<int>> record_types;                        ///< e.g. SECCOMP (1326)
    std::optional<std::set<std::string>> seccomp_actions;             ///< kill_process, errno, log, ...
    /// Content conditions (integrity::ContentCheck bits), decided off the engine thread by the
    /// integrity monitor: runtime_copy, untrusted_runtime. Only on exec rules.
    std::optional<std::uint32_t> content;
    /// Integrity findings: whether something (package record, allowlist, baseline) vouches for
    /// the file's new state.
    std::optional<bool> integrity_trusted;
    /// The event's file is one the integrity monitor watches (scan findings always are).
    std::optional<bool> monitored;
};

/// A different severity and extra tags when more conditions hold (the first that holds wins):
/// a runtime binary written from inside a container is an escape, by dpkg an update.
struct Variant {
    Conditions when;
    std::optional<Severity> severity;
    std::vector<std::string> add_tags;
    std::vector<std::string> add_mitre;
};

/// Folds repeats: the first alert of a key goes out at once; repeats within `window_s` are
/// counted and reported in one alert (`count`) when the window closes.
struct Aggregate {
    /// container.id, seccomp.syscall, event.syscall, process.exe, file.path, process.uid, source
    /// (the container, or on the host the user and the executable)
    std::vector<std::string> by;
    unsigned window_s = 60;
    /// Fields whose distinct values the window keeps (bounded) and reports in its summary.
    std::vector<std::string> distinct{"process.cmdline", "file.path"};
};

struct Rule {
    std::string id;
    std::string description;
    bool enabled = true;
    Severity severity = Severity::High;
    std::vector<std::string> mitre;
    std::vector<std::string> tags;
    std::string summary;  ///< template with {placeholders}
    EventClass event = EventClass::Exec;
    Conditions match;
    std::vector<Conditions> exceptions;
    std::vector<Variant> variants;
    std::optional<Aggregate> aggregate;
    std::string remediation;  ///< what to do, carried in the alert
    std::string source;       ///< file:line where it was defined
};

/// Compiled, immutable rules, indexed by event class. Shared read-only with the engine.
struct RuleSet {
    RuleSet() = default;
    RuleSet(const RuleSet&) = delete;
    RuleSet& operator=(const RuleSet&) = delete;
    RuleSet(RuleSet&&) = delete;
    RuleSet& operator=(RuleSet&&) = delete;
    ~RuleSet() = default;

    std::vector<Rule> rules;
    std::vector<const Rule*> exec_rules;
    std::vector<const Rule*> seccomp_rules;
    std::vector<const Rule*> integrity_rules;  ///< event: integrity (scan findings)
    /// Syscall rules that name their syscalls (directly or through `operation`), by name.
    std::unordered_map<std::string, std::vector<const Rule*>> syscall_rules_by_name;
    /// Syscall rules that can match any syscall.
    std::vector<const Rule*> syscall_rules_any;
    std::map<std::string, std::shared_ptr<const ProgramList>> lists;
    std::vector<std::string> files;  ///< loaded from
    std::vector<std::shared_ptr<const ProgramList>> all_lists;  ///< named and inline, for refresh

    void build_index();
    /// Re-resolves every list's files (see ProgramList::resolve).
    void refresh_identities() const;
};

/// Placeholders a summary template may use.
[[nodiscard]] const std::set<std::string>& summary_placeholders();

}  // namespace adock::rules
