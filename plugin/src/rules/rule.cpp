// SPDX-License-Identifier: Apache-2.0
#include "rules/rule.hpp"

#include <glob.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "rules/fileop.hpp"
#include "util/audit_dev.hpp"
#include "util/glob.hpp"

namespace adock::rules {

const std::vector<std::uint8_t>& ProgramList::pattern_kinds() const {
    if (kinds_.size() != patterns.size() || kinds_of_ != patterns.data()) {
        kinds_.clear();
        for (const auto& pat : patterns) {
            std::uint8_t k = 0;
            if (pat.find('/') != std::string::npos) {
                k |= kFullPath;
            }
            if (util::has_glob_chars(pat)) {
                k |= kGlob;
            }
            kinds_.push_back(k);
        }
        kinds_of_ = patterns.data();
    }
    return kinds_;
}

std::optional<std::string> ProgramList::match(std::string_view path) const {
    if (path.empty()) {
        return std::nullopt;
    }
    const std::vector<std::uint8_t>& kinds = pattern_kinds();
    const std::string_view p = path;
    const auto slash = p.rfind('/');
    const std::size_t base_at = slash == std::string_view::npos ? 0 : slash + 1;
    const std::string_view base = p.substr(base_at);
    const std::string_view dir =
        slash == std::string_view::npos ? std::string_view() : p.substr(0, slash == 0 ? 1 : slash);
    const bool dir_ok = dirs.empty() || std::find(dirs.begin(), dirs.end(), dir) != dirs.end();
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        const std::string& pat = patterns[i];
        const bool full = (kinds[i] & kFullPath) != 0;
        if (!full && !dir_ok) {
            continue;
        }
        // A plain pattern (most: runc, /usr/sbin/runc) is compared; a glob goes to fnmatch.
        const bool hit = (kinds[i] & kGlob) != 0 ? util::glob_matches(pat, full ? p : base)
                                                 : pat == (full ? p : base);
        if (hit) {
            return pat;
        }
    }
    if (resolved_paths.contains(p)) {
        return std::string(p);
    }
    return std::nullopt;
}

std::optional<std::string> ProgramList::match_identity(const FileId& id) const {
    if (id.second == 0) {
        return std::nullopt;
    }
    auto it = identities.find(id);
    if (it != identities.end()) {
        return it->second;
    }
    auto l = learned.find(id);
    if (l != learned.end() && !l->second.empty()) {
        return *l->second.begin();
    }
    return std::nullopt;
}

const std::set<std::string>* ProgramList::learned_paths(const FileId& id) const {
    auto l = learned.find(id);
    return l == learned.end() ? nullptr : &l->second;
}

bool ProgramList::learn(std::string_view path, const FileId& id) const {
    constexpr std::size_t kMaxFiles = 4096;
    constexpr std::size_t kMaxPaths = 64;
    if (id.second == 0 || path.empty() || path.front() != '/' || !match(path)) {
        return false;
    }
    auto it = learned.find(id);
    if (it == learned.end()) {
        if (learned.size() >= kMaxFiles) {
            return false;
        }
        it = learned.emplace(id, std::set<std::string>{}).first;
    }
    if (it->second.size() >= kMaxPaths) {
        return false;
    }
    return it->second.emplace(path).second;
}

std::optional<std::string> ProgramList::match_file(std::string_view path,
                                                   const FileId& id,
                                                   const std::optional<FileId>& parent,
                                                   bool* on_host) const {
    if (on_host != nullptr) {
        *on_host = false;
    }
    if (auto m = match_identity(id)) {
        if (on_host != nullptr) {
            *on_host = true;
        }
        return "inode " + id.first + ":" + std::to_string(id.second) + " (" + *m + ")";
    }
    if (path.empty()) {
        return std::nullopt;
    }
    // Views of the path: most calls match nothing and copy nothing.
    const auto slash = path.rfind('/');
    const std::string_view dir = slash == 0 ? std::string_view("/") : path.substr(0, slash);
    const std::string_view base = path.substr(slash + 1);
    auto by_name = [this](std::string_view q) -> std::optional<std::string> {
        for (const auto& pat : patterns) {
            if (pat.find('/') != std::string::npos && util::glob_matches(pat, q)) {
                return pat;
            }
        }
        if (resolved_paths.contains(q)) {
            return std::string(q);
        }
        return std::nullopt;
    };
    if (parent && parent->second != 0) {
        // The event names the directory the file is in: a host directory we know (then the
        // host's path of the file decides), or another one (a container's, a layer store's).
        auto it = dir_identities.find(*parent);
        if (it != dir_identities.end()) {
            std::string host_path = it->second;
            host_path += '/';
            host_path += base;
            auto m = by_name(host_path);
            if (m && on_host != nullptr) {
                *on_host = true;
            }
            return m;
        }
        if (resolved_dirs.contains(dir)) {
            return std::nullopt;
        }
        return by_name(path);
    }
    if (resolved_paths.contains(path) && id.second != 0) {
        return std::nullopt;  // the host has a file of that name, and this is another file
    }
    return by_name(path);
}

namespace {

/// The regular file `path` resolves to: (identity, real path).
std::optional<std::pair<FileId, std::string>> host_file(const std::string& path) {
    std::array<char, PATH_MAX> real{};
    if (::realpath(path.c_str(), real.data()) == nullptr) {
        return std::nullopt;
    }

    struct stat st {};

    if (::stat(real.data(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    return std::make_pair(FileId{util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino)},
                          std::string(real.data()));
}

std::optional<FileId> host_dir(const std::string& path) {
    struct stat st {};

    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return std::nullopt;
    }
    return FileId{util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

bool has_glob(std::string_view s) {
    return s.find_first_of("*?[") != std::string_view::npos;
}

}  // namespace

void ProgramList::clear() const {
    identities.clear();
    learned.clear();
    resolved_paths.clear();
    dir_identities.clear();
    resolved_dirs.clear();
}

void ProgramList::resolve() const {
    clear();
    std::vector<std::string> candidates;
    const std::vector<std::string>& where = dirs.empty() ? search_dirs : dirs;
    for (const auto& pat : patterns) {
        if (pat.find('/') != std::string::npos) {
            if (!has_glob(pat)) {
                candidates.push_back(pat);
                continue;
            }
            glob_t g{};
            // No GLOB_TILDE (utent); nothing sets env or locale.
            // NOLINTNEXTLINE(concurrency-mt-unsafe)
            if (::glob(pat.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
                for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                    // gl_pathv is glob(3)'s array of gl_pathc paths.
                    // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic)
                    candidates.emplace_back(g.gl_pathv[i]);
                }
            }
            ::globfree(&g);
            continue;
        }
        for (const auto& d : where) {
            if (!has_glob(pat)) {
                candidates.push_back(d + "/" + pat);
                continue;
            }
            const std::string full = d + "/" + pat;
            glob_t g{};
            // No GLOB_TILDE (utent); nothing sets env or locale.
            // NOLINTNEXTLINE(concurrency-mt-unsafe)
            if (::glob(full.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
                for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                    // gl_pathv is glob(3)'s array of gl_pathc paths.
                    // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic)
                    candidates.emplace_back(g.gl_pathv[i]);
                }
            }
            ::globfree(&g);
        }
    }
    for (const auto& c : candidates) {
        auto f = host_file(c);
        if (!f) {
            continue;
        }
        resolved_paths.insert(c);
        resolved_paths.insert(f->second);
        identities.emplace(f->first, f->second);
    }
    // The directories of the full-path patterns and of what they resolved to.
    std::set<std::string> dirs_seen;
    auto add_dir = [&](const std::string& path) {
        const auto slash = path.rfind('/');
        if (slash == std::string::npos || slash == 0) {
            return;
        }
        const std::string dir = path.substr(0, slash);
        if (has_glob(dir)) {
            glob_t g{};
            // No GLOB_TILDE (utent); nothing sets env or locale.
            // NOLINTNEXTLINE(concurrency-mt-unsafe)
            if (::glob(dir.c_str(), GLOB_NOSORT | GLOB_ONLYDIR, nullptr, &g) == 0) {
                for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                    // gl_pathv is glob(3)'s array of gl_pathc paths.
                    // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic)
                    dirs_seen.emplace(g.gl_pathv[i]);
                }
            }
            ::globfree(&g);
        } else {
            dirs_seen.insert(dir);
        }
    };
    for (const auto& pat : patterns) {
        if (pat.find('/') != std::string::npos) {
            add_dir(pat);
        }
    }
    for (const auto& c : resolved_paths) {
        add_dir(c);
    }
    for (const auto& d : dirs_seen) {
        if (auto id = host_dir(d)) {
            std::array<char, PATH_MAX> real{};
            const std::string r =
                ::realpath(d.c_str(), real.data()) != nullptr ? std::string(real.data()) : d;
            resolved_dirs.insert(d);
            resolved_dirs.insert(r);
            dir_identities.emplace(*id, r);
        }
    }
}

void RuleSet::refresh_identities() const {
    for (const auto& l : all_lists) {
        l->resolve();
    }
}

void RuleSet::clear_identities() const {
    for (const auto& l : all_lists) {
        l->clear();
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
                std::set_intersection(names.begin(),
                                      names.end(),
                                      by_op.begin(),
                                      by_op.end(),
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

}  // namespace adock::rules
