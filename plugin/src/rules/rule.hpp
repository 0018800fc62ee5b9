// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alert/alert.hpp"

namespace adock::rules {

/// A list of program patterns. A pattern with a '/' is matched (fnmatch) against the full
/// path, one without against the basename: `containerd-shim*` or `/usr/sbin/runc`.
struct ProgramList {
    std::string name;  ///< list name, or "" for an inline list
    std::vector<std::string> patterns;
    /// Files of the host that the plain names resolve to (dev:inode), so a hardlink, a bind mount
    /// or a copy that keeps the inode is recognised whatever it is called.
    std::set<std::pair<std::string, std::uint64_t>> identities;  ///< ("fe:00", inode)
    std::set<std::string> resolved_paths;

    /// The pattern (or resolved path) that matches `path`, if any.
    [[nodiscard]] std::optional<std::string> match(std::string_view path) const;
};

/// Which events a rule looks at; the engine indexes rules by this.
enum class EventClass { Exec, Syscall, Any };

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
    std::vector<const Rule*> syscall_rules;
    std::map<std::string, std::shared_ptr<const ProgramList>> lists;
    std::vector<std::string> files;  ///< loaded from

    void build_index();
};

/// Placeholders a summary template may use.
[[nodiscard]] const std::set<std::string>& summary_placeholders();

}  // namespace adock::rules
