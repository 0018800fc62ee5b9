// SPDX-License-Identifier: Apache-2.0
#include "proc/process_table.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <unordered_set>

#include "util/audit_dev.hpp"
#include "util/unique_fd.hpp"

namespace adock::proc {
namespace {

/// Reads a small /proc file (at most 64 KiB). nullopt when it does not exist.
std::optional<std::string> read_small(const std::string& path) {
    const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return std::nullopt;
    }
    std::string out;
    std::array<char, 4096> buf{};
    while (out.size() < 65536) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n <= 0) {
            break;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
}

/// Whether `title` (a PROCTITLE, cut at 128 bytes) is the beginning of `argv`.
bool is_prefix(const std::vector<std::string>& title, const std::vector<std::string>& argv) {
    if (title.empty() || title.size() > argv.size()) {
        return false;
    }
    for (std::size_t i = 0; i < title.size(); ++i) {
        const bool last = i + 1 == title.size();
        if (last ? !argv[i].starts_with(title[i]) : argv[i] != title[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

void bound_entry_argv(ProcessInfo& p, audit::ArgvBudget budget) {
    if (audit::argv_bytes(p.argv) <= budget.total_bytes &&
        std::none_of(p.argv.begin(), p.argv.end(), [&](const std::string& a) {
            return a.size() > budget.arg_bytes;
        })) {
        return;
    }
    audit::BoundedArgv b = audit::bound_argv(p.argv, budget, p.argv_sha256, p.argv_argc);
    p.argv = std::move(b.argv);
    p.argv_truncated = true;
    p.argv_sha256 = std::move(b.sha256);
    p.argv_argc = b.argc;
}

ProcessTable::ProcessTable(const config::ProcessTableConfig& cfg, std::string proc_root)
    : cfg_(cfg), proc_root_(std::move(proc_root)) {}

void ProcessTable::touch(Slot& slot) {
    lru_.splice(lru_.begin(), lru_, slot.lru);
}

ProcessInfo& ProcessTable::insert(ProcessInfo info) {
    bound_entry_argv(info, {cfg_.max_argv_bytes, cfg_.max_arg_bytes});
    const int pid = info.pid;
    auto it = by_pid_.find(pid);
    if (it != by_pid_.end()) {
        it->second.info = std::move(info);
        touch(it->second);
        return it->second.info;
    }
    while (by_pid_.size() >= cfg_.max_entries && !lru_.empty()) {
        by_pid_.erase(lru_.back());
        lru_.pop_back();
        ++stats_.evictions;
    }
    lru_.push_front(pid);
    auto [slot, inserted] = by_pid_.emplace(pid, Slot{std::move(info), lru_.begin()});
    return slot->second.info;
}

void ProcessTable::reparent(int pid, int ppid) {
    if (auto it = by_pid_.find(pid); it != by_pid_.end()) {
        it->second.info.ppid = ppid;
    }
}

const ProcessInfo* ProcessTable::peek(int pid) const {
    auto it = by_pid_.find(pid);
    return it == by_pid_.end() ? nullptr : &it->second.info;
}

ProcessInfo* ProcessTable::peek(int pid) {
    auto it = by_pid_.find(pid);
    return it == by_pid_.end() ? nullptr : &it->second.info;
}

ProcessInfo* ProcessTable::observe(const audit::Event& ev,
                                   std::optional<ProcessInfo>* previous,
                                   bool* forked) {
    if (forked != nullptr) {
        *forked = false;
    }
    if (!ev.has_syscall || ev.pid <= 0) {
        return nullptr;
    }
    if (ev.is_exec() && ev.success.value_or(false)) {
        ProcessInfo p;
        p.pid = ev.pid;
        p.ppid = ev.ppid;
        p.exe = ev.exe;
        p.comm = ev.comm;
        p.argv = ev.has_execve ? ev.argv : ev.proctitle;
        p.uid = ev.uid;
        p.auid = ev.auid;
        p.from_stream = true;
        p.exec_seen = true;
        for (const auto& path : ev.paths) {
            if (path.item == 0) {
                p.exec_inode = path.inode;
                p.exec_dev = path.dev;
                p.image = {path.dev, path.inode};
            }
        }
        // Who asked for it: the same process's before its exec, else its parent's.
        if (auto it = by_pid_.find(ev.pid);
            it != by_pid_.end() && it->second.info.ppid == ev.ppid) {
            p.initiator = it->second.info.initiator;
        } else if (auto pit = by_pid_.find(ev.ppid); pit != by_pid_.end()) {
            p.initiator = pit->second.info.initiator;
        }
        if (previous != nullptr) {
            previous->reset();
            if (auto it = by_pid_.find(ev.pid); it != by_pid_.end()) {
                *previous = std::move(it->second.info);
            }
        }
        ++stats_.from_stream;
        return &insert(std::move(p));
    }
    auto it = by_pid_.find(ev.pid);
    if (it != by_pid_.end()) {
        const ProcessInfo& known = it->second.info;
        // The same process while it runs the same executable under the same parent (a parent
        // of 1 is a reparenting). Another executable, or another parent, means the pid was
        // reused by a process whose exec we did not see (a fork): the old entry would lie
        // about it. comm is the process's own choice (PR_SET_NAME) and decides nothing.
        const bool same_exe = known.exe == ev.exe || ev.exe.empty();
        const bool same_parent = known.ppid == ev.ppid || ev.ppid <= 1;
        if (same_exe && same_parent) {
            touch(it->second);
            return &it->second.info;
        }
        ++stats_.reused_pids;
    }
    ProcessInfo p;
    p.pid = ev.pid;
    p.ppid = ev.ppid;
    p.exe = ev.exe;
    p.comm = ev.comm;
    p.argv = ev.proctitle;
    p.uid = ev.uid;
    p.auid = ev.auid;
    p.from_stream = true;
    // The executable it runs: the kernel's /proc/PID/exe while it lives, else (a fork that
    // never exec'd) its parent's.
    if (cfg_.use_proc) {
        p.image = image_of(p.pid);
    }
    if (auto pit = by_pid_.find(ev.ppid); pit != by_pid_.end()) {
        const ProcessInfo& parent = pit->second.info;
        p.initiator = parent.initiator;
        if (p.image.second == 0) {
            p.image = parent.image;
            p.image_inherited = p.image.second != 0;
        }
        // A fork running its parent's program: the parent's argv, whole (PROCTITLE keeps
        // only the first 128 bytes), when the record's title is the start of it.
        if (parent.exec_seen && p.image == parent.image && p.exe == parent.exe &&
            is_prefix(p.argv, parent.argv)) {
            p.argv = parent.argv;
        }
    }
    if (forked != nullptr) {
        *forked = true;  // first seen without its exec: a fork (or a clone) of its parent
    }
    return &insert(std::move(p));
}

FileId ProcessTable::image_of(int pid) const {
    const std::string exe_path = proc_root_ + "/" + std::to_string(pid) + "/exe";

    struct stat st {};

    if (::stat(exe_path.c_str(), &st) != 0) {
        return {};
    }
    return {util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

std::optional<ProcessInfo> ProcessTable::read_proc(int pid) const {
    const std::string base = proc_root_ + "/" + std::to_string(pid);
    auto stat = read_small(base + "/stat");
    if (!stat) {
        return std::nullopt;
    }
    ProcessInfo p;
    p.pid = pid;
    // /proc/PID/stat: pid (comm) state ppid ... ; comm may contain spaces and parentheses.
    const auto open = stat->find('(');
    const auto close = stat->rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) {
        return std::nullopt;
    }
    p.comm = stat->substr(open + 1, close - open - 1);
    const std::string_view rest = std::string_view(*stat).substr(close + 1);
    // rest: " S PPID ..."
    std::size_t pos = rest.find_first_not_of(' ');
    pos = rest.find(' ', pos);
    if (pos != std::string_view::npos) {
        const auto start = pos + 1;
        const auto end = rest.find(' ', start);
        int ppid = -1;
        std::from_chars(rest.data() + start,
                        rest.data() + (end == std::string_view::npos ? rest.size() : end),
                        ppid);
        p.ppid = ppid;
    }
    std::array<char, 4096> link{};
    const std::string exe_path = base + "/exe";
    const ssize_t n = ::readlink(exe_path.c_str(), link.data(), link.size() - 1);
    if (n > 0) {
        p.exe.assign(link.data(), static_cast<std::size_t>(n));
        constexpr std::string_view kDeleted = " (deleted)";
        if (p.exe.ends_with(kDeleted) && !p.exe.starts_with("/memfd:")) {
            p.exe.resize(p.exe.size() - kDeleted.size());
        }
    }
    p.image = image_of(pid);
    if (auto cmdline = read_small(base + "/cmdline")) {
        p.argv = audit::split_nul(*cmdline);
    }
    if (auto status = read_small(base + "/status")) {
        const auto uid_pos = status->find("\nUid:");
        if (uid_pos != std::string::npos) {
            std::uint32_t uid = 0;
            const char* s = status->data() + uid_pos + 5;
            while (*s == '\t' || *s == ' ') {
                ++s;
            }
            std::from_chars(s, status->data() + status->size(), uid);
            p.uid = uid;
        }
    }
    if (const auto loginuid = read_small(base + "/loginuid")) {
        const std::string_view text = *loginuid;
        std::uint32_t auid = 0;
        std::from_chars(text.data(), text.data() + text.size(), auid);
        p.auid = auid;
    }
    return p;
}

ProcessInfo* ProcessTable::find(int pid) {
    if (pid <= 0) {
        return nullptr;
    }
    auto it = by_pid_.find(pid);
    if (it != by_pid_.end()) {
        touch(it->second);
        return &it->second.info;
    }
    if (!cfg_.use_proc) {
        return nullptr;
    }
    ++stats_.proc_reads;
    auto p = read_proc(pid);
    if (!p) {
        ++stats_.proc_misses;
        return nullptr;
    }
    return &insert(std::move(*p));
}

std::vector<const ProcessInfo*> ProcessTable::ancestry(int ppid, unsigned depth) {
    std::vector<const ProcessInfo*> out;
    std::unordered_set<int> seen;
    int pid = ppid;
    while (pid > 0 && out.size() < depth && seen.insert(pid).second) {
        const ProcessInfo* p = find(pid);
        if (p == nullptr) {
            break;
        }
        out.push_back(p);
        if (pid == 1) {
            break;
        }
        pid = p->ppid;
    }
    return out;
}

ProcessTableStats ProcessTable::stats() const {
    ProcessTableStats s = stats_;
    s.size = by_pid_.size();
    return s;
}

}  // namespace adock::proc
