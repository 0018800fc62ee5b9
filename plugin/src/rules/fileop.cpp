// SPDX-License-Identifier: Apache-2.0
#include "rules/fileop.hpp"

#include <fcntl.h>
#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <utility>

namespace adock::rules {
namespace {

struct OpName {
    FileOp op;
    const char* name;
};

constexpr std::array<OpName, 10> kOps{{{FileOp::Chmod, "chmod"},
                                       {FileOp::Chown, "chown"},
                                       {FileOp::Link, "link"},
                                       {FileOp::Rename, "rename"},
                                       {FileOp::Write, "write"},
                                       {FileOp::Unlink, "unlink"},
                                       {FileOp::Utimes, "utimes"},
                                       {FileOp::Exec, "exec"},
                                       {FileOp::Create, "create"},
                                       {FileOp::Connect, "connect"}}};

/// Syscall names (x86_64 and i386 spellings) and the operation they always perform. Opens are
/// classified from their flags instead.
struct SyscallOp {
    const char* name;
    FileOp op;
};

constexpr std::array<SyscallOp, 34> kSyscalls{{
    {"chmod", FileOp::Chmod},      {"fchmod", FileOp::Chmod},
    {"fchmodat", FileOp::Chmod},   {"fchmodat2", FileOp::Chmod},
    {"chown", FileOp::Chown},      {"fchown", FileOp::Chown},
    {"fchownat", FileOp::Chown},   {"lchown", FileOp::Chown},
    {"chown32", FileOp::Chown},    {"fchown32", FileOp::Chown},
    {"lchown32", FileOp::Chown},   {"link", FileOp::Link},
    {"linkat", FileOp::Link},      {"symlink", FileOp::Link},
    {"symlinkat", FileOp::Link},   {"rename", FileOp::Rename},
    {"renameat", FileOp::Rename},  {"renameat2", FileOp::Rename},
    {"unlink", FileOp::Unlink},    {"unlinkat", FileOp::Unlink},
    {"rmdir", FileOp::Unlink},     {"utime", FileOp::Utimes},
    {"utimes", FileOp::Utimes},    {"futimesat", FileOp::Utimes},
    {"utimensat", FileOp::Utimes}, {"utimensat_time64", FileOp::Utimes},
    {"truncate", FileOp::Write},   {"truncate64", FileOp::Write},
    {"ftruncate", FileOp::Write},  {"ftruncate64", FileOp::Write},
    {"execve", FileOp::Exec},      {"execveat", FileOp::Exec},
    {"creat", FileOp::Write},      {"connect", FileOp::Connect},
}};
constexpr std::array<const char*, 4> kCreating{"mknod", "mknodat", "mkdir", "mkdirat"};
constexpr std::array<const char*, 3> kOpens{"open", "openat", "openat2"};

bool created_a_name(const audit::Event& ev) {
    for (const auto& p : ev.paths) {
        if (p.nametype == "CREATE") {
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<FileOp> parse_file_op(std::string_view name) {
    for (const auto& o : kOps) {
        if (name == o.name) {
            return o.op;
        }
    }
    return std::nullopt;
}

const char* file_op_name(FileOp op) {
    for (const auto& o : kOps) {
        if (o.op == op) {
            return o.name;
        }
    }
    return "none";
}

const std::vector<std::string>& file_op_names() {
    static const std::vector<std::string> kNames = [] {
        std::vector<std::string> v;
        for (const auto& o : kOps) {
            v.emplace_back(o.name);
        }
        return v;
    }();
    return kNames;
}

std::vector<std::string> syscalls_for(std::uint32_t mask) {
    std::vector<std::string> out;
    for (const auto& s : kSyscalls) {
        if ((mask & static_cast<std::uint32_t>(s.op)) != 0) {
            out.emplace_back(s.name);
        }
    }
    const auto writes =
        static_cast<std::uint32_t>(FileOp::Write) | static_cast<std::uint32_t>(FileOp::Create);
    if ((mask & writes) != 0) {
        for (const char* o : kOpens) {
            out.emplace_back(o);
        }
    }
    if ((mask & static_cast<std::uint32_t>(FileOp::Create)) != 0) {
        for (const char* c : kCreating) {
            out.emplace_back(c);
        }
        out.emplace_back("creat");
    }
    return out;
}

FileOp classify(std::string_view syscall, const audit::Event& ev) {
    for (const auto& s : kSyscalls) {
        if (syscall == s.name) {
            if (s.op == FileOp::Write && syscall == "creat") {
                return created_a_name(ev) ? FileOp::Create : FileOp::Write;
            }
            return s.op;
        }
    }
    for (const char* c : kCreating) {
        if (syscall == c) {
            return FileOp::Create;
        }
    }
    std::optional<std::uint64_t> flags;
    if (syscall == "open" && ev.args.size() > 1) {
        flags = ev.args[1];
    } else if (syscall == "openat" && ev.args.size() > 2) {
        flags = ev.args[2];
    } else if (syscall != "openat2") {
        return FileOp::None;
    }
    if (created_a_name(ev)) {
        return FileOp::Create;
    }
    constexpr std::uint64_t kWriting = O_WRONLY | O_RDWR | O_TRUNC | O_CREAT;
    if (flags && (*flags & kWriting) != 0) {
        return FileOp::Write;
    }
    return FileOp::None;
}

std::string absolute_path(std::string_view name, const std::optional<std::string>& cwd) {
    std::string joined;
    if (!name.empty() && name.front() == '/') {
        joined = name;
    } else if (cwd && !cwd->empty()) {
        joined = *cwd;
        joined += '/';
        joined += name;
    } else {
        return std::string(name);
    }
    std::vector<std::string_view> parts;
    std::string_view rest = joined;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view part = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            if (!parts.empty()) {
                parts.pop_back();
            }
            continue;
        }
        parts.push_back(part);
    }
    std::string out;
    out.reserve(joined.size());
    for (const auto& p : parts) {
        out += '/';
        out += p;
    }
    return out.empty() ? std::string("/") : out;
}

bool path_matches(std::string_view pattern, std::string_view path) {
    if (!pattern.empty() && pattern.back() == '/') {
        return path.starts_with(pattern) || path == pattern.substr(0, pattern.size() - 1);
    }
    if (pattern.find_first_of("*?[\\") == std::string_view::npos) {
        return pattern == path;  // a plain path (most patterns): no fnmatch, no copies
    }
    return ::fnmatch(std::string(pattern).c_str(), std::string(path).c_str(), 0) == 0;
}

PathPatterns::PathPatterns(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {
    for (const auto& p : patterns_) {
        if (!p.empty() && p.back() == '/') {
            prefixes_.push_back(p);
            exact_.insert(p.substr(0, p.size() - 1));  // the directory itself
        } else if (p.find_first_of("*?[\\") == std::string::npos) {
            exact_.insert(p);
        } else {
            globs_.push_back(p);
        }
    }
}

bool PathPatterns::any(std::string_view path) const {
    if (exact_.contains(path)) {
        return true;
    }
    for (const auto& p : prefixes_) {
        if (path.starts_with(p)) {
            return true;
        }
    }
    if (globs_.empty()) {
        return false;
    }
    const std::string subject(path);
    return std::any_of(globs_.begin(), globs_.end(), [&](const std::string& g) {
        return ::fnmatch(g.c_str(), subject.c_str(), 0) == 0;
    });
}

}  // namespace adock::rules
