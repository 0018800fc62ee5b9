// SPDX-License-Identifier: Apache-2.0
#include "integrity/monitor.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <chrono>
#include <filesystem>

#include "util/log.hpp"
#include "util/safe_read.hpp"
#include "util/audit_dev.hpp"
#include "util/unique_fd.hpp"
#include "util/thread_name.hpp"
#include <thread>

namespace adock::integrity {
namespace {

constexpr std::size_t kMaxCache = 4096;


std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

IntegrityMonitor::IntegrityMonitor(IntegrityConfig cfg, std::string proc_root)
    : cfg_(std::move(cfg)), proc_root_(std::move(proc_root)), queue_(cfg_.queue_size) {}

IntegrityMonitor::~IntegrityMonitor() {
    stop();
}

void IntegrityMonitor::start(std::vector<std::string> paths, std::set<std::string> names) {
    paths_ = std::move(paths);
    names_ = std::move(names);
    inflight_ = 1;  // the baseline is work too: drain() waits for it
    worker_ = std::thread([this] { run(); });
}

void IntegrityMonitor::cut_scans() {
    {
        const std::scoped_lock lock(stop_mu_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
}

void IntegrityMonitor::stop() {
    // The start-up work (dpkg's index, a first baseline hashed at scan_rate_mb_s) can take
    // seconds on a cold cache: a stop must not wait for it (auditd restarts the plugin, an
    // upgrade replaces it). What was hashed is kept; the next scan goes on from there.
    cut_scans();
    queue_.close();
    if (worker_.joinable()) {
        worker_.join();
    }
}

bool IntegrityMonitor::submit(Request&& r) {
    if (outbox_.size() >= cfg_.queue_size) {
        flush_submissions();
        if (outbox_.size() >= cfg_.queue_size) {
            const std::scoped_lock lock(stats_mu_);
            ++stats_.dropped;
            return false;
        }
    }
    if (!r.reexamine && r.exe == nullptr) {
        r.exe = pin(r.event);  // the same exec's second rule shares the first one's pin
    }
    ++inflight_;
    outbox_.push_back(std::move(r));
    return true;
}

void IntegrityMonitor::flush_submissions() {
    ruled_out_.clear();  // the next batch stats again
    if (outbox_.empty()) {
        return;
    }
    const std::size_t taken = queue_.try_push_all(outbox_);
    const std::size_t dropped = outbox_.size() - taken;
    outbox_.clear();
    if (dropped > 0) {
        inflight_ -= static_cast<long>(dropped);
        const std::scoped_lock lock(stats_mu_);
        stats_.dropped += dropped;
    }
}

template <class T>
std::vector<T> IntegrityMonitor::take(std::vector<T>& from) {
    std::vector<T> out;
    const std::scoped_lock lock(verdicts_mu_);
    out.swap(from);
    has_verdicts_ = !verdicts_.empty() || !findings_.empty() || !ready_.empty();
    return out;
}

bool IntegrityMonitor::monitors(const std::string& path, std::uint64_t inode,
                                const std::pair<std::string, std::uint64_t>& parent) const {
    const std::scoped_lock lock(watch_mu_);
    if (inode != 0 && watched_inodes_.contains(inode)) {
        return true;
    }
    if (!watched_paths_.contains(path)) {
        return false;
    }
    if (inode != 0) {
        // The record names the file's inode: another inode than the monitored file's is a file
        // of that name elsewhere (a layer being unpacked, a chroot), not the host's.
        for (const auto& [ino, p] : watched_inodes_) {
            if (p == path) {
                return false;  // ino != inode: the inode match above would have said yes
            }
        }
    }
    if (parent.second != 0) {
        const auto slash = path.rfind('/');
        const std::string dir = slash == 0 ? std::string("/") : path.substr(0, slash);
        if (auto it = watched_dirs_.find(dir); it != watched_dirs_.end() && it->second != parent) {
            return false;  // the name of a monitored file, in another directory than the host's
        }
    }
    return true;
}

namespace {

std::map<std::string, std::pair<std::string, std::uint64_t>> dirs_of(const std::set<std::string>& paths) {
    std::map<std::string, std::pair<std::string, std::uint64_t>> out;
    for (const auto& p : paths) {
        const auto slash = p.rfind('/');
        if (slash == std::string::npos || slash == 0) {
            continue;
        }
        const std::string dir = p.substr(0, slash);
        if (out.contains(dir)) {
            continue;
        }
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            out[dir] = {util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
        }
    }
    return out;
}

}  // namespace

bool IntegrityMonitor::examine(Alert&& alert, std::uint64_t inode) {
    Request r;
    r.reexamine = std::move(alert);
    r.inode = inode;
    flush_submissions();  // in order with the execs before it
    ++inflight_;
    if (!queue_.try_push(std::move(r))) {
        --inflight_;
        const std::scoped_lock lock(stats_mu_);
        ++stats_.dropped;
        return false;
    }
    return true;
}

std::vector<Alert> IntegrityMonitor::take_ready() {
    return take(ready_);
}

void IntegrityMonitor::publish_watch_list() {
    std::set<std::string> paths;
    std::map<std::uint64_t, std::string> inodes;
    for (const auto& [p, e] : baseline_.entries()) {
        paths.insert(p);
        inodes[e.facts.inode] = p;
    }
    auto dirs = dirs_of(paths);
    const std::scoped_lock lock(watch_mu_);
    watched_paths_.swap(paths);
    watched_inodes_.swap(inodes);
    watched_dirs_.swap(dirs);
}

void IntegrityMonitor::reexamine(Request& r) {
    Alert& a = *r.reexamine;
    std::string path = a.file ? a.file->path : std::string();
    const BaselineEntry* old = baseline_.find(path);
    if (old == nullptr && r.inode != 0) {
        for (const auto& [p, e] : baseline_.entries()) {  // the host's name for a bind mount's
            if (e.facts.inode == r.inode) {
                path = p;
                old = &e;
                break;
            }
        }
    }
    IntegrityRef ir;
    if (old != nullptr) {
        ir.before = FileState{old->facts.sha256, old->facts.size, old->facts.mode, old->facts.uid, old->facts.gid};
    }
    std::string error;
    auto f = examine_path(path, static_cast<std::uint64_t>(cfg_.max_file_mb) * 1024 * 1024, error);
    if (f) {
        ir.sha256 = f->sha256;
        ir.size = f->size;
        ir.after = FileState{f->sha256, f->size, f->mode, f->uid, f->gid};
        const std::string vouch = trusted_by(*f, path).value_or("");
        const bool same_content = old != nullptr && old->facts.sha256 == f->sha256;
        // Trust is about content: a package's record, the allowlist, or content that did not
        // change. A mode or owner change is never vouched for (see the scan).
        const std::string content_trust = !vouch.empty() ? vouch : (same_content ? old->trusted_by : std::string());
        std::string change;
        if (old == nullptr) {
            change = "new";
        } else {
            if (!same_content) {
                change = "content";
            }
            if (old->facts.mode != f->mode) {
                change += change.empty() ? "mode" : ",mode";
            }
            if (old->facts.uid != f->uid || old->facts.gid != f->gid) {
                change += change.empty() ? "owner" : ",owner";
            }
        }
        ir.change = change.empty() ? "none" : change;
        const bool attributes_changed = change.find("mode") != std::string::npos || change.find("owner") != std::string::npos;
        ir.trusted = !content_trust.empty() && !attributes_changed;
        if (ir.trusted) {
            ir.trusted_by = content_trust;
        }
        // The baseline takes the new state (reported now, not again by the next scan); trust
        // only what a package or the allowlist vouches for, or content that did not change.
        const bool is_runtime = std::find(paths_.begin(), paths_.end(), path) != paths_.end();
        baseline_.set(path, BaselineEntry{*f, content_trust});
        if (is_runtime && !content_trust.empty()) {
            runtime_hashes_[f->sha256] = path;
            runtime_sizes_.insert(f->size);
            publish_sizes();
        }
        if (!baseline_.save(cfg_.state_file, error)) {
            log::warning("integrity: cannot save the baseline: " + error);
        }
        publish_watch_list();
    } else if (old != nullptr && !std::filesystem::exists(path)) {
        ir.change = "missing";
        baseline_.erase(path);
        publish_watch_list();
    }
    if (ir.change) {
        a.summary += "; now " + (ir.after ? "sha256 " + ir.after->sha256.substr(0, 16) + "..." : std::string("gone")) +
                     (ir.trusted ? " (" + ir.trusted_by.value_or("") + ")" : std::string(" (nothing vouches for it)"));
    }
    a.integrity = std::move(ir);
    const std::scoped_lock lock(verdicts_mu_);
    ready_.push_back(std::move(a));
    has_verdicts_ = true;
}

std::vector<IntegrityMonitor::Verdict> IntegrityMonitor::take_verdicts() {
    return take(verdicts_);
}

void IntegrityMonitor::drain() {
    flush_submissions();
    while (inflight_.load() > 0 && worker_.joinable()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

IntegrityStats IntegrityMonitor::stats() const {
    IntegrityStats out;
    {
        const std::scoped_lock lock(stats_mu_);
        out = stats_;
    }
    const auto prechecked = prechecked_.load(std::memory_order_relaxed);
    out.checked += prechecked;
    out.prechecked = prechecked;
    out.precheck_batch_hits = precheck_batch_hits_.load(std::memory_order_relaxed);
    out.unverifiable += precheck_unverifiable_.load(std::memory_order_relaxed);
    return out;
}

void IntegrityMonitor::run() noexcept {
    util::name_this_thread("adock-integrity");
    try {
        // dpkg's programs by content, for package_copy (the runtime binaries have checks of
        // their own). Once: a package installed later is not in it until the next start.
        auto idx = std::make_unique<PackageBinaries>();
        const std::set<std::string> runtime(paths_.begin(), paths_.end());
        const std::size_t n = idx->load(cfg_.dpkg_info_dir, runtime, &stopping_);
        if (!stopping_) {  // a cut index would take programs it did not reach for copies
            packages_owned_ = std::move(idx);
            packages_.store(packages_owned_.get(), std::memory_order_release);
            log::info("integrity: " + std::to_string(n) + " programs of dpkg's binary directories indexed by content");
        }
    } catch (const std::exception& e) {
        log::error(std::string("integrity: cannot index dpkg's programs: ") + e.what());
    }
    try {
        scan("start");
        if (!baseline_cut_ && !stopping_) {
            sizes_ready_ = true;  // precheck() may now rule programs out by size on the engine thread
            publish_sizes();
        }
    } catch (const std::exception& e) {
        log::error(std::string("integrity: start-up scan failed: ") + e.what());
    }
    --inflight_;
    auto next_scan = std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.scan_interval_s);
    for (;;) {
        auto r = queue_.pop_for(std::chrono::milliseconds(500));
        if (r) {
            try {
                handle(*r);
            } catch (const std::exception& e) {
                log::error(std::string("integrity: check failed: ") + e.what());
            }
            --inflight_;
        } else if (queue_.closed()) {
            break;
        }
        const auto now = std::chrono::steady_clock::now();
        const bool scheduled = cfg_.scan_interval_s > 0 && now >= next_scan;
        if (scan_requested_.exchange(false) || scheduled) {
            try {
                scan(scheduled ? "scheduled" : "on demand");
            } catch (const std::exception& e) {
                log::error(std::string("integrity: scan failed: ") + e.what());
            }
            next_scan = std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.scan_interval_s);
        }
    }
}

void IntegrityMonitor::scan_once(std::vector<std::string> paths, std::set<std::string> names) {
    paths_ = std::move(paths);
    names_ = std::move(names);
    scan("on demand (--scan)");
}

std::vector<Finding> IntegrityMonitor::take_findings() {
    return take(findings_);
}

std::vector<std::string> IntegrityMonitor::monitored() const {
    std::set<std::string> all(paths_.begin(), paths_.end());
    std::error_code ec;
    for (const auto& f : cfg_.files) {
        if (std::filesystem::exists(f, ec)) {
            all.insert(f);
        }
    }
    for (const auto& d : cfg_.dirs) {
        for (const auto& e : std::filesystem::directory_iterator(d, ec)) {
            if (e.is_regular_file(ec) && !e.is_symlink(ec)) {
                all.insert(e.path().string());
            }
        }
    }
    return {all.begin(), all.end()};
}

std::optional<std::string> IntegrityMonitor::trusted_by(const FileFacts& f, const std::string& path) {
    if (auto rec = dpkg_.find(path); rec && rec->md5 == f.md5) {
        return "package:" + rec->package;
    }
    if (std::find(cfg_.allowlist.begin(), cfg_.allowlist.end(), f.sha256) != cfg_.allowlist.end()) {
        return std::string("allowlist");
    }
    return std::nullopt;
}

void IntegrityMonitor::scan(const std::string& why) {
    const auto started = std::chrono::steady_clock::now();
    const std::uint64_t max_bytes = static_cast<std::uint64_t>(cfg_.max_file_mb) * 1024 * 1024;
    std::string error;
    const bool first = baseline_.entries().empty() && stats().scans == 0;
    if (first && !baseline_.load(cfg_.state_file, error)) {
        log::error("integrity: " + error + "; building a new baseline");
    }
    const bool report = !baseline_.entries().empty();  // nothing to compare with on a first baseline
    std::vector<std::string> files = monitored();
    for (const auto& [p, e] : baseline_.entries()) {
        if (!std::binary_search(files.begin(), files.end(), p)) {
            files.push_back(p);  // baselined before, gone or no longer listed: still checked
        }
    }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    const std::set<std::string> wanted(files.begin(), files.end());
    {
        // Known before anything is read: alerts on these files wait for this scan and then
        // carry before and after, instead of going out without them.
        std::set<std::string> paths(files.begin(), files.end());
        std::map<std::uint64_t, std::string> inodes;
        for (const auto& p : files) {
            struct stat st {};
            if (::stat(p.c_str(), &st) == 0) {
                inodes[static_cast<std::uint64_t>(st.st_ino)] = p;
            }
        }
        auto dirs = dirs_of(paths);
        const std::scoped_lock lock(watch_mu_);
        watched_paths_.swap(paths);
        watched_inodes_.swap(inodes);
        watched_dirs_.swap(dirs);
    }
    const std::size_t md5sums = dpkg_.load(cfg_.dpkg_info_dir, wanted, &stopping_);
    log::info("integrity: " + why + " scan of " + std::to_string(files.size()) + " files started");

    const double budget = static_cast<double>(cfg_.scan_rate_mb_s) * 1024 * 1024;  // bytes per second
    std::uint64_t bytes = 0;
    std::vector<Finding> found;
    std::size_t done = 0;
    std::size_t unchanged = 0;
    auto last_progress = started;
    bool stopped = false;
    for (const auto& p : files) {
        if (stopping_) {
            log::info("integrity: " + why + " scan stopped after " + std::to_string(done) + "/" +
                      std::to_string(files.size()) + " files (shutting down)");
            stopped = true;
            baseline_cut_ = !report;
            break;
        }
        ++done;
        const BaselineEntry* old = baseline_.find(p);
        std::optional<FileFacts> f;
        struct stat st {};
        if (old != nullptr && old->facts.ctime_ns != 0 && ::stat(p.c_str(), &st) == 0 &&
            static_cast<std::uint64_t>(st.st_ino) == old->facts.inode &&
            static_cast<std::uint64_t>(st.st_size) == old->facts.size &&
            st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec == old->facts.ctime_ns) {
            f = old->facts;  // unchanged since it was hashed: ctime moves with any change
            ++unchanged;
        } else {
            f = examine_path(p, max_bytes, error);
            if (f) {
                bytes += f->size;
            }
        }
        if (!f) {
            if (old != nullptr && !std::filesystem::exists(p)) {
                found.push_back({p, "missing", old->facts, std::nullopt, ""});
                baseline_.erase(p);
            } else if (std::filesystem::exists(p)) {
                log::warning("integrity: cannot read " + p + ": " + error);
            }
            continue;
        }
        // Only the package manager's record or the allowlist can vouch for a change found by a
        // scan; a mode or owner change is never vouched for (dpkg records content only).
        const std::string vouch = trusted_by(*f, p).value_or("");
        std::string trust = vouch;
        if (trust.empty() && old != nullptr && old->facts.sha256 == f->sha256) {
            trust = old->trusted_by;  // unchanged content keeps the trust it had
        }
        if (trust.empty() && !report) {
            trust = "baseline";  // the first baseline trusts what it finds (trust on first use)
            if (auto rec = dpkg_.find(p)) {
                trust.clear();  // ... unless its package says otherwise
                log::warning("integrity: " + p + " differs from package " + rec->package + "'s record: not trusted");
            }
        }
        if (report) {
            if (old == nullptr) {
                found.push_back({p, "new", std::nullopt, *f, vouch});
            } else {
                std::string change;
                auto add = [&change](const char* what) { change += change.empty() ? what : std::string(",") + what; };
                if (old->facts.sha256 != f->sha256) {
                    add("content");
                }
                if (old->facts.mode != f->mode) {
                    add("mode");
                }
                if (old->facts.uid != f->uid || old->facts.gid != f->gid) {
                    add("owner");
                }
                if (!change.empty()) {
                    found.push_back({p, change, old->facts, *f, change == "content" ? vouch : std::string()});
                }
            }
        }
        if (std::find(paths_.begin(), paths_.end(), p) != paths_.end() && !trust.empty()) {
            runtime_hashes_[f->sha256] = p;
            runtime_sizes_.insert(f->size);
            publish_sizes();
        }
        baseline_.set(p, BaselineEntry{*f, trust});
        // Rate limit: never read faster than the budget, so a scan cannot starve the host.
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const auto resume = std::chrono::steady_clock::now() +
                            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(bytes) / budget - elapsed));
        std::unique_lock lock(stop_mu_);
        stop_cv_.wait_until(lock, resume, [this] { return stopping_.load(); });
        if (std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(10)) {
            last_progress = std::chrono::steady_clock::now();
            log::info("integrity: scan progress " + std::to_string(done) + "/" + std::to_string(files.size()) +
                      " files");
        }
    }
    // A first baseline cut short is not saved: the next start would report the files it did
    // not reach as new. A later scan cut short keeps what it compared.
    if ((!stopped || report) && !baseline_.save(cfg_.state_file, error)) {
        log::warning("integrity: cannot save the baseline: " + error);
    }
    publish_watch_list();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
        const std::scoped_lock lock(stats_mu_);
        ++stats_.scans;
        stats_.drift += found.size();
        stats_.baseline_files = baseline_.entries().size();
        stats_.trusted_hashes = runtime_hashes_.size();
    }
    log::info("integrity: " + why + " scan done: " + std::to_string(files.size()) + " files (" +
              std::to_string(unchanged) + " unchanged since hashed), " + std::to_string(bytes / (1024 * 1024)) +
              " MiB read in " + std::to_string(static_cast<int>(secs * 1000)) +
              " ms, " + std::to_string(found.size()) + " differences from the baseline" +
              (report ? "" : " (first baseline)") + "; " + std::to_string(md5sums) + " dpkg md5sums read");
    if (!found.empty()) {
        const std::scoped_lock lock(verdicts_mu_);
        for (auto& f : found) {
            findings_.push_back(std::move(f));
        }
        has_verdicts_ = true;
    }
}

void IntegrityMonitor::follow_package(const std::string& path, const FileFacts& f) {
    // A runtime binary no longer as baselined: a package update is verified against the
    // package's record, and the baseline follows it.
    const std::set<std::string> wanted(paths_.begin(), paths_.end());
    dpkg_.load(cfg_.dpkg_info_dir, wanted);
    auto why = trusted_by(f, path);
    if (!why) {
        return;
    }
    BaselineEntry e{f, *why};
    baseline_.set(path, e);
    runtime_hashes_[f.sha256] = path;
    runtime_sizes_.insert(f.size);
    publish_sizes();
    std::string error;
    if (!baseline_.save(cfg_.state_file, error)) {
        log::warning("integrity: cannot save the baseline: " + error);
    }
    log::info("integrity: " + path + " updated by " + *why + " (sha256 " + f.sha256 + "); baseline follows");
}

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

IntegrityMonitor::Wanted IntegrityMonitor::wanted(const std::string& exe, std::uint32_t checks) const {
    Wanted w;
    w.runtime_path = std::find(paths_.begin(), paths_.end(), exe) != paths_.end();
    w.named_runtime = names_.contains(base_name(exe));
    // A copy elsewhere, whatever it is called (/tmp/.x/kworker, /tmp/x/runc).
    w.copy = (checks & static_cast<std::uint32_t>(ContentCheck::RuntimeCopy)) != 0 && !w.runtime_path;
    w.untrusted = (checks & static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime)) != 0 && w.named_runtime;
    const PackageBinaries* packages = packages_.load(std::memory_order_acquire);
    w.package = (checks & static_cast<std::uint32_t>(ContentCheck::PackageCopy)) != 0 && !w.runtime_path &&
                !w.named_runtime && packages != nullptr && !packages->is_package_path(exe);
    return w;
}

int IntegrityMonitor::program_of(const audit::Event& ev, const std::string& exe, int pinned, bool try_proc,
                                 const Wanted& w, const std::pair<std::string, std::uint64_t>& image,
                                 bool host_process, util::UniqueFd& fd, struct stat& st) const {
    // The program as it runs (/proc/PID/exe). Never the path the record names: that is the
    // process's own view (a container's file system, a symlink swapped since), not the host's.
    fd = util::UniqueFd();
    if (pinned >= 0) {
        if (::fstat(pinned, &st) == 0 && ran_this_exec(st, ev)) {
            return pinned;  // the pin itself: no descriptor of our own
        }
    } else if (try_proc) {
        fd = util::UniqueFd(::open((proc_root_ + "/" + std::to_string(ev.pid) + "/exe").c_str(), O_PATH | O_CLOEXEC));
        if (fd.valid() && (::fstat(fd.get(), &st) != 0 || !ran_this_exec(st, ev))) {
            fd = util::UniqueFd();
        }
    }
    // Not valid now: gone, or it has exec'd again since (`bash -c prog` becomes prog), and its
    // program now says nothing about this exec.
    // (Not for a runtime-named program elsewhere: gone, it stays unverifiable, as before.)
    if (!fd.valid() && (w.runtime_path || (host_process && !w.named_runtime)) && image.second != 0 &&
        exe.starts_with('/')) {
        // Gone already (runc lives for milliseconds, `kworker --version` too): the host's file
        // at that path, only if it is the very file the exec ran (same device and inode) and
        // only for a process of the host (a container's path names its own file system). Found
        // with O_PATH (a FIFO or a device is never opened).
        // The kernel names a host process's executable by its real path: a symlink on the way
        // now (other than a runtime list's own spelling, /sbin -> usr/sbin) is not followed.
        util::UniqueFd path = util::openat2(
            AT_FDCWD, exe.c_str(), O_PATH | O_NOFOLLOW,
            w.runtime_path ? RESOLVE_NO_MAGICLINKS : RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (path.valid() && ::fstat(path.get(), &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::uint64_t>(st.st_ino) == image.second && util::audit_dev(st.st_dev) == image.first) {
            fd = std::move(path);
        }
    }
    return fd.get();
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
    util::UniqueFd fd(::open((proc_root_ + "/" + std::to_string(ev.pid) + "/exe").c_str(), O_PATH | O_CLOEXEC));
    if (!fd.valid()) {
        return nullptr;
    }
    pinned_.fetch_add(1, std::memory_order_relaxed);
    last_pin_ = std::shared_ptr<util::UniqueFd>(new util::UniqueFd(std::move(fd)), [this](util::UniqueFd* p) {
        delete p;
        pinned_.fetch_sub(1, std::memory_order_relaxed);
    });
    last_pin_serial_ = ev.serial;
    last_pin_pid_ = ev.pid;
    return last_pin_;
}

IntegrityMonitor::Precheck IntegrityMonitor::precheck(const audit::Event& ev, const std::string& exe,
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
        return r.inode == image.second && r.checks == checks && r.dev == image.first && r.exe == exe;
    });
    if (image.second != 0 && cached != ruled_out_.end()) {
        ++prechecked_;
        ++precheck_batch_hits_;
        out.decided = true;
        return out;
    }
    out.exe = pin(ev);
    struct stat st {};
    util::UniqueFd owned;
    if (program_of(ev, exe, out.exe && out.exe->valid() ? out.exe->get() : -1, /*try_proc=*/false, w, image,
                   host_process, owned, st) < 0) {
        // As the worker: gone before it could be seen, and nothing named like a runtime.
        ++prechecked_;
        ++precheck_unverifiable_;
        out.decided = true;
        return out;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const PackageBinaries* packages = packages_.load(std::memory_order_acquire);
    const bool copy_size = w.copy && std::binary_search(engine_sizes_.begin(), engine_sizes_.end(), size);
    const bool package_size = w.package && packages != nullptr && packages->has_size(size);
    if (!copy_size && !package_size) {
        ++prechecked_;  // a copy has the same size: most programs are ruled out without reading them
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

void IntegrityMonitor::publish_sizes() {
    if (!sizes_ready_) {
        return;
    }
    {
        const std::scoped_lock lock(sizes_mu_);
        published_sizes_.assign(runtime_sizes_.begin(), runtime_sizes_.end());  // a std::set: sorted
    }
    sizes_version_.fetch_add(1, std::memory_order_release);
}

void IntegrityMonitor::handle(Request& r) {
    if (r.reexamine) {
        reexamine(r);
        return;
    }
    if (baseline_cut_ || (stopping_ && packages_.load(std::memory_order_acquire) == nullptr)) {
        // Only at a stop within the start-up work: a few checks, each said.
        {
            const std::scoped_lock lock(stats_mu_);
            ++stats_.unverifiable;
        }
        log::warning("integrity: " + r.rule_id + " on " + r.event.exe +
                     " not decided: the start-up baseline was cut short by the stop");
        return;
    }
    {
        const std::scoped_lock lock(stats_mu_);
        ++stats_.checked;
    }
    const std::string& exe = r.event.exe;
    const Wanted w = wanted(exe, r.checks);
    const bool is_runtime_path = w.runtime_path;
    const bool want_copy = w.copy;
    const bool want_untrusted = w.untrusted;
    const bool want_package = w.package;
    const PackageBinaries* packages = packages_.load(std::memory_order_acquire);
    if (!want_copy && !want_untrusted && !want_package) {
        return;
    }
    // The program as it runs, read through its descriptor (the O_PATH one reopened for reading).
    util::UniqueFd fd;
    {
        struct stat st {};
        util::UniqueFd owned;
        const int program = program_of(r.event, exe, r.exe && r.exe->valid() ? r.exe->get() : -1,
                                       /*try_proc=*/true, w, r.image, r.host_process, owned, st);
        if (program >= 0) {
            fd = util::UniqueFd(::open(("/proc/self/fd/" + std::to_string(program)).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
        }
    }
    const auto key = fd.valid() ? stat_key(fd.get()) : std::nullopt;
    if (!key) {
        {
            const std::scoped_lock lock(stats_mu_);
            ++stats_.unverifiable;
        }
        if (!want_untrusted) {
            return;
        }
        // Named like a runtime and gone before anyone could look: nothing vouches for it.
        Verdict v;
        v.integrity.trusted = false;
        v.note = "; unverifiable: the program was gone before its content could be read from /proc";
        v.event = std::move(r.event);
        v.rule_id = std::move(r.rule_id);
        {
            const std::scoped_lock lock(stats_mu_);
            ++stats_.alerts;
        }
        const std::scoped_lock lock(verdicts_mu_);
        verdicts_.push_back(std::move(v));
        has_verdicts_ = true;
        return;
    }
    if (!want_untrusted && !(want_copy && runtime_sizes_.contains(key->size)) &&
        !(want_package && packages->has_size(key->size))) {
        return;  // a copy has the same size: most programs are ruled out without reading them
    }
    const FileFacts* facts = nullptr;
    auto it = cache_.find({key->dev, key->inode});
    if (it != cache_.end() && it->second.first == *key) {
        facts = &it->second.second;
    } else {
        std::string error;
        auto f = examine_fd(fd.get(), static_cast<std::uint64_t>(cfg_.max_file_mb) * 1024 * 1024, error);
        if (!f) {
            log::warning("integrity: cannot read " + exe + ": " + error);
            const std::scoped_lock lock(stats_mu_);
            ++stats_.unverifiable;
            return;
        }
        {
            const std::scoped_lock lock(stats_mu_);
            ++stats_.hashed;
        }
        if (cache_.size() >= kMaxCache) {
            cache_.clear();
        }
        it = cache_.insert_or_assign({key->dev, key->inode}, std::make_pair(*key, std::move(*f))).first;
        facts = &it->second.second;
    }
    const auto known = runtime_hashes_.find(facts->sha256);
    Verdict v;
    if (want_copy && known != runtime_hashes_.end()) {
        v.integrity.sha256 = facts->sha256;
        v.integrity.size = facts->size;
        v.integrity.recognized_as = known->second;
        v.integrity.trusted = true;
        if (const BaselineEntry* e = baseline_.find(known->second)) {
            v.integrity.trusted_by = e->trusted_by;
        }
        v.note = "; its content is " + known->second + " (sha256 " + facts->sha256.substr(0, 16) + "...)";
    } else if (want_untrusted && known == runtime_hashes_.end()) {
        if (is_runtime_path) {
            follow_package(exe, *facts);
            if (runtime_hashes_.contains(facts->sha256)) {
                return;
            }
        } else if (trusted_by(*facts, exe)) {
            return;
        }
        v.integrity.sha256 = facts->sha256;
        v.integrity.size = facts->size;
        v.integrity.trusted = false;
        v.note = "; sha256 " + facts->sha256 +
                 " matches no runtime binary of the baseline, no package record and no allowlist entry";
    } else if (const PackageBinaries::Program* p = want_package ? packages->find(facts->md5) : nullptr) {
        v.integrity.sha256 = facts->sha256;
        v.integrity.size = facts->size;
        v.integrity.recognized_as = p->path;
        v.integrity.trusted = true;
        v.integrity.trusted_by = "package:" + p->package;
        v.note = "; its content is " + p->path + " of package " + p->package + " (md5 " + facts->md5 + ")";
    } else {
        return;
    }
    {
        const std::scoped_lock lock(stats_mu_);
        ++stats_.alerts;
    }
    v.event = std::move(r.event);
    v.rule_id = std::move(r.rule_id);
    const std::scoped_lock lock(verdicts_mu_);
    verdicts_.push_back(std::move(v));
    has_verdicts_ = true;
}

}  // namespace adock::integrity
