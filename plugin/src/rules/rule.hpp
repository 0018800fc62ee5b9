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
#include "rules/fileop.hpp"
#include "rules/fold.hpp"

namespace adock::rules {

/// A file of the host, by device ("fe:00", as PATH records print it) and inode.
using FileId = std::pair<std::string, std::uint64_t>;

/// A list of programs. Its patterns name the host's files: a pattern with a '/' is a full path
/// (or a glob of them), one without a basename looked for in `dirs` (else the search dirs).
/// A process belongs to the list when its executable *is* one of those files, by device and
/// inode (ProgramList::identities): what it is called, where, and its argv decide nothing. Path
/// matching (match()) remains for files named by events (path_in) and for replays, which cannot
/// look at the host.
struct ProgramList {
    std::string name;  ///< list name, or "" for an inline list
    std::vector<std::string> patterns;
    /// Where basename patterns are looked for (and, for path matching, the only directories a
    /// basename matches in): a shell copied to /tmp/containerd-shim-x is not the containerd shim.
    std::vector<std::string> dirs;
    /// The host files the patterns resolve to (dev, inode) -> the resolved path. Refreshed by
    /// resolve() (at load, then periodically and after an alert on a path_in list that may have
    /// replaced a file: dpkg installs a new runc under a new inode). In a replay, which cannot
    /// look at the host, learned from the stream instead (learn()).
    /// Only the engine thread touches a RuleSet once it is loaded.
    mutable std::map<FileId, std::string> identities;
    /// Replays: what the stream's execs showed each file as (one file may be seen at several
    /// paths: hardlinks). Bounded.
    mutable std::map<FileId, std::set<std::string>> learned;
    mutable std::set<std::string, std::less<>> resolved_paths;
    /// Identity of the directories holding the list's full-path patterns (/usr/sbin for
    /// /usr/sbin/runc) -> the directory: a new file created under that name is the host's only
    /// if the event's PARENT item is that directory (dockerd unpacking an image's
    /// /usr/local/bin/runc chrooted into its layer store is not).
    mutable std::map<FileId, std::string> dir_identities;
    mutable std::set<std::string, std::less<>> resolved_dirs;
    std::vector<std::string> search_dirs;  ///< where plain names are looked for

    /// Per pattern: kFullPath (it has a '/'), kGlob (fnmatch characters). Classified on first
    /// use after `patterns` is set, so match() compares plain patterns instead of globbing them.
    static constexpr std::uint8_t kFullPath = 1;
    static constexpr std::uint8_t kGlob = 2;
    [[nodiscard]] const std::vector<std::uint8_t>& pattern_kinds() const;

    mutable std::vector<std::uint8_t> kinds_;  ///< pattern_kinds(), for `kinds_of_`
    mutable const std::string* kinds_of_ = nullptr;

    /// (Re)resolves the patterns to the host's files (plain names in the dirs, full paths and
    /// globs of them).
    void resolve() const;
    /// Forgets what resolve() found (a replay describes another time, maybe another host).
    void clear() const;

    /// The pattern (or resolved path) that matches `path`, if any: by name.
    [[nodiscard]] std::optional<std::string> match(std::string_view path) const;

    /// A process or file by identity: the host path it resolved from (or, in a replay, the
    /// first path the stream showed it at).
    [[nodiscard]] std::optional<std::string> match_identity(const FileId& id) const;
    /// Replays: the paths the stream showed the file `id` at (null when never seen).
    [[nodiscard]] const std::set<std::string>* learned_paths(const FileId& id) const;

    /// Replays: `path` (an executed file, absolute) matches the list by name and `id` is taken
    /// as that file's identity. True when learned.
    bool learn(std::string_view path, const FileId& id) const;

    /// For file paths: the same file by device and inode; or by name (a full-path pattern or
    /// resolved path) where the event's directory (`parent`, its PARENT item, if any) is the
    /// host's directory of the file's name, or where nothing tells (no PARENT item, no host
    /// file of that name; replays). `on_host`: the match is the host's file for certain (by
    /// identity, or by a host directory), not only by name.
    [[nodiscard]] std::optional<std::string> match_file(std::string_view path,
                                                        const FileId& id,
                                                        const std::optional<FileId>& parent,
                                                        bool* on_host = nullptr) const;
};

/// Which events a rule looks at; the engine indexes rules by this.
enum class EventClass { Exec, Syscall, Seccomp, Integrity, Any };

/// The conditions of a rule or an exception; all present conditions must hold.
struct Conditions {
    /// exe, exec'd file identity
    std::optional<std::shared_ptr<const ProgramList>> actor_in;
    std::optional<std::shared_ptr<const ProgramList>> actor_not_in;
    std::optional<std::shared_ptr<const ProgramList>> parent_in;  ///< direct parent's exe
    std::optional<std::shared_ptr<const ProgramList>> parent_not_in;
    std::optional<std::shared_ptr<const ProgramList>> ancestor_in;  ///< any ancestor's exe
    std::optional<std::set<std::string>> keys;                      ///< audit key
    std::optional<bool> success;
    std::optional<bool> in_container;
    std::optional<std::vector<std::string>> argv_contains;         ///< any argument equals one
    std::optional<std::shared_ptr<const ProgramList>> lineage_in;  ///< actor or any ancestor
    /// Actor or an ancestor *named* like the list (their own paths; a container's): context,
    /// never trust.
    std::optional<std::shared_ptr<const ProgramList>> lineage_named_in;
    /// path_in matched the host's file for certain (by identity or a host directory), not a
    /// file of the same name elsewhere (a layer being unpacked, a chroot).
    std::optional<bool> file_on_host;
    /// The process runs in a container an image build runs (BuildKit, the classic builder).
    std::optional<bool> image_build;
    std::optional<std::vector<std::string>> comm;  ///< fnmatch patterns
    /// by name, decoded with arch
    std::optional<std::set<std::string>> syscalls;
    /// exit codes (-26 = ETXTBSY)
    std::optional<std::set<std::int64_t>> exits;
    std::optional<std::uint32_t> operations;                    ///< FileOp bits
    std::optional<PathPatterns> paths;                          ///< path_matches() patterns
    std::optional<std::shared_ptr<const ProgramList>> path_in;  ///< files by path or inode
    std::optional<std::set<std::uint32_t>> uids;
    std::optional<std::set<std::uint32_t>> euids;
    std::optional<std::set<std::uint32_t>> auids;  ///< 4294967295 = unset
    std::optional<std::set<int>> record_types;     ///< e.g. SECCOMP (1326)
    /// kill_process, errno, log, ...
    std::optional<std::set<std::string>> seccomp_actions;
    /// Content conditions (integrity::ContentCheck bits), decided off the engine thread by the
    /// integrity monitor: runtime_copy, untrusted_runtime. Only on exec rules.
    std::optional<std::uint32_t> content;
    /// Integrity findings: whether something (package record, allowlist, baseline) vouches for
    /// the file's new state.
    std::optional<bool> integrity_trusted;
    /// The event's file is one the integrity monitor watches (scan findings always are).
    std::optional<bool> monitored;
    /// An exec whose program has no file: a memfd, a deleted file, a detached mount (the
    /// kernel's exe: "/memfd:NAME (deleted)", "PATH (deleted)", "/"). From the record alone.
    std::optional<bool> fileless;
    /// The acting process shares one of these namespaces (mnt, pid, net, ...) with the host,
    /// read live from /proc/PID/ns against the plugin's own; never holds in a replay or when the
    /// process is gone. Checked last (after in_container): for the rare events that ask.
    std::optional<std::set<std::string>> host_namespaces;
    /// What a request for a container asks for (proc::RequestKind bits): the command line of a
    /// container client or OCI runtime (by identity: lists container_clients, oci_runtimes), or
    /// for the runtime starting a container (runc init, in the container) that container's spec,
    /// read live off the engine thread (the event waits for it, bounded). Checked last.
    std::optional<std::uint32_t> requests;
    /// exec rules: the program is a file the container's own processes wrote, created or
    /// chmod'ed since the plugin watched it (container_fim's records, by dev/inode): not the
    /// image's. From the stream alone; `{matched}` names the path it was written as.
    std::optional<bool> drift;
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
    /// The window's key (by_fields(): container.id, seccomp.syscall, event.syscall, process.exe,
    /// file.path, process.uid, source), resolved by the loader
    std::vector<const ByField*> by;
    unsigned window_s = 60;
    /// Fields whose distinct values the window keeps (bounded) and reports in its summary.
    std::vector<const FoldField*> distinct = default_fold_fields();
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
    /// Live, in a container: the alert's file is compared with the container's image (the
    /// integrity worker; integrity/image_diff.hpp) before the alert goes out.
    bool image_diff = false;
    std::string source;  ///< file:line where it was defined
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
    std::vector<std::string> files;                             ///< loaded from
    std::vector<std::shared_ptr<const ProgramList>> all_lists;  ///< named and inline, for refresh

    void build_index();
    /// Re-resolves every list's files (see ProgramList::resolve).
    void refresh_identities() const;
    /// Forgets every list's host files: replays learn identities from the stream.
    void clear_identities() const;
};

}  // namespace adock::rules
