// SPDX-License-Identifier: Apache-2.0
#include "rules/rule.hpp"

#include <fnmatch.h>

namespace adock::rules {

std::optional<std::string> ProgramList::match(std::string_view path) const {
    if (path.empty()) {
        return std::nullopt;
    }
    const std::string p(path);
    const auto slash = p.rfind('/');
    const std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
    for (const auto& pat : patterns) {
        const bool full = pat.find('/') != std::string::npos;
        if (::fnmatch(pat.c_str(), full ? p.c_str() : base.c_str(), 0) == 0) {
            return pat;
        }
    }
    if (resolved_paths.contains(p)) {
        return p;
    }
    return std::nullopt;
}

void RuleSet::build_index() {
    exec_rules.clear();
    syscall_rules.clear();
    for (const auto& r : rules) {
        if (!r.enabled) {
            continue;
        }
        if (r.event == EventClass::Exec || r.event == EventClass::Any) {
            exec_rules.push_back(&r);
        }
        if (r.event == EventClass::Syscall || r.event == EventClass::Any) {
            syscall_rules.push_back(&r);
        }
    }
}

const std::set<std::string>& summary_placeholders() {
    static const std::set<std::string> kNames{"process.exe",
                                              "process.pid",
                                              "process.comm",
                                              "process.cmdline",
                                              "parent.exe",
                                              "parent.pid",
                                              "parent.cmdline",
                                              "matched",
                                              "container.id",
                                              "container.name",
                                              "event.key",
                                              "rule.id"};
    return kNames;
}

}  // namespace adock::rules
