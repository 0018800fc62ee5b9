// SPDX-License-Identifier: Apache-2.0
#include "rules/rule.hpp"

#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <iterator>

#include "rules/fileop.hpp"

namespace adock::rules {

std::optional<std::string> ProgramList::match(std::string_view path) const {
    if (path.empty()) {
        return std::nullopt;
    }
    const std::string p(path);
    const auto slash = p.rfind('/');
    const std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
    const std::string dir = slash == std::string::npos ? std::string() : p.substr(0, slash == 0 ? 1 : slash);
    const bool dir_ok = dirs.empty() || std::find(dirs.begin(), dirs.end(), dir) != dirs.end();
    for (const auto& pat : patterns) {
        const bool full = pat.find('/') != std::string::npos;
        if (!full && !dir_ok) {
            continue;
        }
        if (::fnmatch(pat.c_str(), full ? p.c_str() : base.c_str(), 0) == 0) {
            return pat;
        }
    }
    if (resolved_paths.contains(p)) {
        return p;
    }
    return std::nullopt;
}

std::optional<std::string> ProgramList::match_file(std::string_view path, const std::string& dev,
                                                    std::uint64_t inode) const {
    if (!path.empty()) {
        const std::string p(path);
        for (const auto& pat : patterns) {
            if (pat.find('/') != std::string::npos && ::fnmatch(pat.c_str(), p.c_str(), 0) == 0) {
                return pat;
            }
        }
        if (resolved_paths.contains(p)) {
            return p;
        }
    }
    if (inode != 0 && identities.contains({dev, inode})) {
        return "inode " + dev + ":" + std::to_string(inode) + " of " + (name.empty() ? "the list" : name);
    }
    return std::nullopt;
}

namespace {

std::string dev_string(dev_t dev) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%02x:%02x", major(dev), minor(dev));
    return buf.data();
}

}  // namespace

void ProgramList::resolve() const {
    identities.clear();
    resolved_paths.clear();
    for (const auto& pat : patterns) {
        if (pat.find_first_of("*?[") != std::string::npos) {
            continue;
        }
        std::vector<std::string> candidates;
        if (pat.find('/') != std::string::npos) {
            candidates.push_back(pat);
        } else {
            for (const auto& d : search_dirs) {
                candidates.push_back(d + "/" + pat);
            }
        }
        for (const auto& c : candidates) {
            std::array<char, PATH_MAX> real{};
            if (::realpath(c.c_str(), real.data()) == nullptr) {
                continue;
            }
            struct stat st {};
            if (::stat(real.data(), &st) != 0 || !S_ISREG(st.st_mode)) {
                continue;
            }
            resolved_paths.insert(c);
            resolved_paths.insert(real.data());
            identities.emplace(dev_string(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
        }
    }
}

void RuleSet::refresh_identities() const {
    for (const auto& l : all_lists) {
        l->resolve();
    }
}

void RuleSet::build_index() {
    exec_rules.clear();
    seccomp_rules.clear();
    integrity_rules.clear();
    syscall_rules_by_name.clear();
    syscall_rules_any.clear();
    for (const auto& r : rules) {
        if (!r.enabled) {
            continue;
        }
        // An `any` rule about file operations other than exec cannot match an exec or a
        // seccomp record: it is indexed for syscalls (and integrity findings) only.
        const auto exec_bit = static_cast<std::uint32_t>(FileOp::Exec);
        const bool file_ops_only = r.match.operations && (*r.match.operations & exec_bit) == 0;
        if (r.event == EventClass::Exec || (r.event == EventClass::Any && !file_ops_only)) {
            exec_rules.push_back(&r);
        }
        if (r.event == EventClass::Seccomp || (r.event == EventClass::Any && !r.match.operations)) {
            seccomp_rules.push_back(&r);
        }
        if (r.event == EventClass::Integrity || (r.event == EventClass::Any && r.match.monitored)) {
            integrity_rules.push_back(&r);  // findings have no process: only rules about files
        }
        if (r.event != EventClass::Syscall && r.event != EventClass::Any) {
            continue;
        }
        // The narrowest syscall set the rule names: its syscalls, else its operations' syscalls.
        std::set<std::string> names;
        if (r.match.syscalls) {
            names = *r.match.syscalls;
        }
        if (r.match.operations) {
            std::set<std::string> by_op;
            for (auto& n : syscalls_for(*r.match.operations)) {
                by_op.insert(std::move(n));
            }
            if (r.match.syscalls) {
                std::set<std::string> both;
                std::set_intersection(names.begin(), names.end(), by_op.begin(), by_op.end(),
                                      std::inserter(both, both.begin()));
                names = std::move(both);
            } else {
                names = std::move(by_op);
            }
        }
        if (!r.match.syscalls && !r.match.operations) {
            syscall_rules_any.push_back(&r);
            continue;
        }
        for (const auto& n : names) {
            syscall_rules_by_name[n].push_back(&r);
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
                                              "container.image",
                                              "event.key",
                                              "event.result",
                                              "syscall",
                                              "file.path",
                                              "file.operation",
                                              "seccomp.syscall",
                                              "seccomp.action",
                                              "integrity.change",
                                              "integrity.trust",
                                              "rule.id"};
    return kNames;
}

}  // namespace adock::rules
