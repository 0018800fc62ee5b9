// SPDX-License-Identifier: Apache-2.0
// Checks of executed programs before the worker hashes them: which checks an exec wants, pinning
// the program at the event, finding the very file the exec ran, and precheck() on the engine
// thread (most programs ruled out by size, the runtime binaries' sizes published for it).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include <algorithm>

#include "integrity/monitor.hpp"
#include "util/audit_dev.hpp"
#include "util/log.hpp"
#include "util/safe_read.hpp"
#include "util/unique_fd.hpp"

namespace adock::integrity {
namespace {

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

namespace {

/// The open program is one of the files the exec event names (PATH items: the program, or a
/// script's interpreter), by device and inode; true when the event names none (nothing to
/// compare with).
bool ran_this_exec(const struct stat& st, const audit::Event& ev) {
    bool any = false;
    const std::string dev = util::audit_dev(st.st_dev);
    for (const auto& p : ev.paths) {
        if (p.inode == 0 || p.nametype == "PARENT") {
            continue;
        }
        any = true;
        if (p.inode == static_cast<std::uint64_t>(st.st_ino) && p.dev == dev) {
            return true;
        }
    }
    return !any;
}

}  // namespace

IntegrityMonitor::Wanted IntegrityMonitor::wanted(const std::string& exe,
                                                  std::uint32_t checks) const {
    Wanted w;
    w.runtime_path = std::find(paths_.begin(), paths_.end(), exe) != paths_.end();
    w.named_runtime = names_.contains(base_name(exe));
    // A copy elsewhere, whatever it is called (/tmp/.x/kworker, /tmp/x/runc).
    w.copy =
        (checks & static_cast<std::uint32_t>(ContentCheck::RuntimeCopy)) != 0 && !w.runtime_path;
    w.untrusted = (checks & static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime)) != 0 &&
                  w.named_runtime;
    const PackageBinaries* packages = packages_.load(std::memory_order_acquire);
    w.package = (checks & static_cast<std::uint32_t>(ContentCheck::PackageCopy)) != 0 &&
                !w.runtime_path && !w.named_runtime && packages != nullptr &&
                !packages->is_package_path(exe);
    return w;
}

int IntegrityMonitor::program_of(const audit::Event& ev,
                                 const std::string& exe,
                                 int pinned,
                                 bool try_proc,
                                 const Wanted& w,
                                 const std::pair<std::string, std::uint64_t>& image,
                                 bool host_process,
                                 util::UniqueFd& fd,
                                 struct stat& st) const {
    // The program as it runs (/proc/PID/exe). Never the path the record names: that is the
    // process's own view (a container's file system, a symlink swapped since), not the host's.
    fd = util::UniqueFd();
    if (pinned >= 0) {
        if (::fstat(pinned, &st) == 0 && ran_this_exec(st, ev)) {
            return pinned;  // the pin itself: no descriptor of our own
        }
    } else if (try_proc) {
        fd = util::UniqueFd(::open((proc_root_ + "/" + std::to_string(ev.pid) + "/exe").c_str(),
                                   O_PATH | O_CLOEXEC));
        if (fd.valid() && (::fstat(fd.get(), &st) != 0 || !ran_this_exec(st, ev))) {
            fd = util::UniqueFd();
        }
    }
    // Not valid now: gone, or it has exec'd again since (`bash -c prog` becomes prog), and its
    // program now says nothing about this exec.
    // (Not for a runtime-named program elsewhere: gone, it stays unverifiable, as before.)
    if (!fd.valid()) {
        // Gone already (runc lives for milliseconds, `kworker --version` too): the host's file.
        fd = host_file(exe, w, image, host_process, st);
    }
    return fd.get();
}

bool IntegrityMonitor::host_file_allowed(const std::string& exe,
                                         const Wanted& w,
                                         const std::pair<std::string, std::uint64_t>& image,
                                         bool host_process) {
    return (w.runtime_path || (host_process && !w.named_runtime)) && image.second != 0 &&
           exe.starts_with('/');
}

bool IntegrityMonitor::host_file_stat(const std::string& exe,
                                      const Wanted& w,
                                      const std::pair<std::string, std::uint64_t>& image,
                                      bool host_process,
                                      struct stat& st) {
    if (!host_file_allowed(exe, w, image, host_process)) {
        return false;
    }
    // One stat, no descriptor: what it finds counts only if it is the exec's own file (its
    // device and inode), so a symlink swapped in on the way can only make it miss, never
    // answer for another file. No automount is triggered; no file is opened.
    return ::fstatat(AT_FDCWD, exe.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) == 0 &&
           S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_ino) == image.second &&
           util::audit_dev(st.st_dev) == image.first;
}

util::UniqueFd IntegrityMonitor::host_file(const std::string& exe,
                                           const Wanted& w,
                                           const std::pair<std::string, std::uint64_t>& image,
                                           bool host_process,
                                           struct stat& st) {
    if (!host_file_allowed(exe, w, image, host_process)) {
        return {};
    }
    // The host's file at that path, only if it is the very file the exec ran (same device and
    // inode) and only for a process of the host (a container's path names its own file
    // system). Found with O_PATH (a FIFO or a device is never opened).
    // The kernel names a host process's executable by its real path: a symlink on the way now
    // (other than a runtime list's own spelling, /sbin -> usr/sbin) is not followed.
    util::UniqueFd path = util::openat2(
        AT_FDCWD,
        exe.c_str(),
        O_PATH | O_NOFOLLOW,
        w.runtime_path ? RESOLVE_NO_MAGICLINKS : RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (path.valid() && ::fstat(path.get(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<std::uint64_t>(st.st_ino) == image.second &&
        util::audit_dev(st.st_dev) == image.first) {
        return path;
    }
    return {};
}

std::shared_ptr<util::UniqueFd> IntegrityMonitor::pin(const audit::Event& ev) {
    if (last_pin_ && last_pin_serial_ == ev.serial && last_pin_pid_ == ev.pid) {
        return last_pin_;  // another rule's check of the same exec: pinned once
    }
    last_pin_.reset();
    if (ev.pid <= 0 || pinned_.load(std::memory_order_relaxed) >= kMaxPinned) {
        return nullptr;
    }
    // O_PATH: the kernel's file of the process, no open of it (nothing to block on here).
    util::UniqueFd fd(
        ::open((proc_root_ + "/" + std::to_string(ev.pid) + "/exe").c_str(), O_PATH | O_CLOEXEC));
    if (!fd.valid()) {
        return nullptr;
    }
    pinned_.fetch_add(1, std::memory_order_relaxed);
    last_pin_ = std::shared_ptr<util::UniqueFd>(new util::UniqueFd(std::move(fd)),
                                                [this](util::UniqueFd* p) {
                                                    delete p;
                                                    pinned_.fetch_sub(1, std::memory_order_relaxed);
                                                });
    last_pin_serial_ = ev.serial;
    last_pin_pid_ = ev.pid;
    return last_pin_;
}

IntegrityMonitor::Precheck IntegrityMonitor::precheck(
    const audit::Event& ev,
    const std::string& exe,
    std::uint32_t checks,
    const std::pair<std::string, std::uint64_t>& image,
    bool host_process) {
    Precheck out;
    const std::uint64_t version = sizes_version_.load(std::memory_order_acquire);
    if (version == 0) {
        out.exe = pin(ev);
        return out;  // no first baseline yet: the worker decides, after it
    }
    if (version != engine_sizes_version_) {
        const std::scoped_lock lock(sizes_mu_);
        engine_sizes_ = published_sizes_;
        engine_sizes_version_ = sizes_version_.load(std::memory_order_relaxed);
        ruled_out_.clear();
    }
    const Wanted w = wanted(exe, checks);
    if (w.untrusted) {
        out.exe = pin(ev);
        return out;  // named like a runtime: the worker hashes it (or says it is unverifiable)
    }
    if (!w.copy && !w.package) {
        ++prechecked_;
        out.decided = true;
        return out;
    }
    // The same file, the same name and checks, ruled out by its size earlier in this batch:
    // every event of a batch is already past, so a stat now says what it said then.
    const auto cached = std::find_if(ruled_out_.begin(), ruled_out_.end(), [&](const RuledOut& r) {
        return r.inode == image.second && r.checks == checks && r.dev == image.first &&
               r.exe == exe;
    });
    if (image.second != 0 && cached != ruled_out_.end()) {
        ++prechecked_;
        ++precheck_batch_hits_;
        out.decided = true;
        return out;
    }

    struct stat st {};

    if (rule_out_by_host_file(ev, exe, checks, w, image, host_process, st)) {
        out.decided = true;
        return out;
    }
    out.exe = pin(ev);
    util::UniqueFd owned;
    if (program_of(ev,
                   exe,
                   out.exe && out.exe->valid() ? out.exe->get() : -1,
                   /*try_proc=*/false,
                   w,
                   image,
                   host_process,
                   owned,
                   st) < 0) {
        // As the worker: gone before it could be seen, and nothing named like a runtime.
        ++prechecked_;
        ++precheck_unverifiable_;
        out.decided = true;
        return out;
    }
    if (sizes_rule_out(w, static_cast<std::uint64_t>(st.st_size))) {
        // a copy has the same size: most programs are ruled out without reading them
        ++prechecked_;
        out.decided = true;
        // Remembered for the batch when the file statted is the exec's own (not a script's
        // interpreter).
        if (image.second != 0 && static_cast<std::uint64_t>(st.st_ino) == image.second &&
            util::audit_dev(st.st_dev) == image.first && ruled_out_.size() < kMaxRuledOut) {
            ruled_out_.push_back(RuledOut{image.first, image.second, checks, exe});
        }
    }
    return out;
}

bool IntegrityMonitor::sizes_rule_out(const Wanted& w, std::uint64_t size) const {
    const PackageBinaries* packages = packages_.load(std::memory_order_acquire);
    const bool copy_size =
        w.copy && std::binary_search(engine_sizes_.begin(), engine_sizes_.end(), size);
    const bool package_size = w.package && packages != nullptr && packages->has_size(size);
    return !copy_size && !package_size;
}

bool IntegrityMonitor::rule_out_by_host_file(const audit::Event& ev,
                                             const std::string& exe,
                                             std::uint32_t checks,
                                             const Wanted& w,
                                             const std::pair<std::string, std::uint64_t>& image,
                                             bool host_process,
                                             struct stat& st) {
    // Before /proc/PID/exe (an exec'd program is mostly gone by now, and a lookup of a gone
    // process's /proc entry costs more than the host's file): the host's file by the exec's
    // own device and inode, if it has not changed since the exec. Its ctime is taken from the
    // same clock as the record's time and moves with every write, chmod or rename: one older
    // than the record (whose time is cut to the millisecond, never later than the exec's)
    // means the content now is the content the exec ran. A file created since with a reused
    // inode, or written since, is newer and goes the /proc way below.
    if (!host_file_stat(exe, w, image, host_process, st)) {
        return false;
    }
    constexpr std::int64_t kNsPerMs = 1'000'000;
    constexpr std::int64_t kMaxSec = INT64_MAX / (1000 * kNsPerMs) - 1;
    if (ev.sec <= 0 || ev.sec > kMaxSec) {
        return false;
    }
    const std::int64_t event_ns =
        (ev.sec * 1000 + static_cast<std::int64_t>(ev.milli % 1000)) * kNsPerMs;
    const std::int64_t ctime_ns =
        static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000 * kNsPerMs + st.st_ctim.tv_nsec;
    if (ctime_ns >= event_ns || !sizes_rule_out(w, static_cast<std::uint64_t>(st.st_size))) {
        return false;
    }
    ++prechecked_;
    ++precheck_by_host_file_;
    if (ruled_out_.size() < kMaxRuledOut) {
        ruled_out_.push_back(RuledOut{image.first, image.second, checks, exe});
    }
    return true;
}

void IntegrityMonitor::publish_sizes() {
    if (!sizes_ready_) {
        return;
    }
    {
        const std::scoped_lock lock(sizes_mu_);
        // a std::set: sorted
        published_sizes_.assign(runtime_sizes_.begin(), runtime_sizes_.end());
    }
    sizes_version_.fetch_add(1, std::memory_order_release);
}

}  // namespace adock::integrity
