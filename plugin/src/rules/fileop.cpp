// SPDX-License-Identifier: Apache-2.0
#include "rules/fileop.hpp"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "util/glob.hpp"

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

void absolute_path_into(std::string& out,
                        std::string_view name,
                        const std::optional<std::string>& cwd) {
    if (!name.empty() && name.front() == '/') {
        out.assign(name);
    } else if (cwd && !cwd->empty()) {
        out.assign(*cwd);
        out += '/';
        out += name;
        if (out.front() != '/') {
            out.insert(out.begin(), '/');  // a relative cwd: the result is rooted all the same
        }
    } else {
        out.assign(name);
        return;
    }
    // Folded in place: every component read is preceded by at least one '/' and is written
    // back behind exactly one, so what is written never overtakes what is still to be read.
    const std::size_t n = out.size();
    std::size_t w = 0;  // out[0, w) is the folded prefix: "" or "/a/b"
    std::size_t r = 0;
    while (r < n) {
        while (r < n && out[r] == '/') {
            ++r;
        }
        const std::size_t start = r;
        while (r < n && out[r] != '/') {
            ++r;
        }
        const std::string_view part(out.data() + start, r - start);
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            while (w > 0 && out[w - 1] != '/') {
                --w;
            }
            w -= w > 0 ? 1 : 0;  // and its '/'
            continue;
        }
        out[w++] = '/';
        std::memmove(out.data() + w, out.data() + start, r - start);
        w += r - start;
    }
    out.resize(w);
    if (out.empty()) {
        out.push_back('/');  // (not `= "/"`: GCC 12 warns -Wrestrict on it)
    }
}

std::string absolute_path(std::string_view name, const std::optional<std::string>& cwd) {
    std::string out;
    absolute_path_into(out, name, cwd);
    return out;
}

bool path_matches(std::string_view pattern, std::string_view path) {
    if (!pattern.empty() && pattern.back() == '/') {
        return path.starts_with(pattern) || path == pattern.substr(0, pattern.size() - 1);
    }
    return util::glob_matches(pattern, path);
}

PathPatterns::PathPatterns(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {
    for (const auto& p : patterns_) {
        if (!p.empty() && p.back() == '/') {
            prefixes_.push_back(p);
            exact_.insert(p.substr(0, p.size() - 1));  // the directory itself
        } else if (!util::has_glob_chars(p)) {
            exact_.insert(p);
        } else {
            globs_.emplace_back(p);
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
    return std::any_of(
        globs_.begin(), globs_.end(), [&](const util::Glob& g) { return g.matches(path); });
}

}  // namespace adock::rules
