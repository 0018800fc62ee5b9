// SPDX-License-Identifier: Apache-2.0
// The monitor's life and its worker thread: start, stop, the submissions the engine hands it and
// the queue to the worker, run() (dpkg's index, the start-up scan, then checks and scans) and
// handle() (one executed program checked: hash, cache, verdict), and what the engine takes back
// (verdicts, findings, re-examined alerts, stats). The scans and the baseline are in
// monitor_scan.cpp; what an exec wants checked and precheck() on the engine thread in
// monitor_exec.cpp.
#include "integrity/monitor.hpp"

#include <fcntl.h>

#include <chrono>
#include <thread>

#include "audit/argv_budget.hpp"
#include "util/log.hpp"
#include "util/thread_name.hpp"

namespace adock::integrity {
namespace {

constexpr std::size_t kMaxCache = 4096;

/// Strings as they are held: their text and a std::string each. audit::argv_bytes() counts the
/// text and one separator a string, so the object is counted less that byte.
std::size_t strings_bytes(const std::vector<std::string>& v) {
    return audit::argv_bytes(v) + v.size() * (sizeof(std::string) - 1);
}

/// What a waiting check holds, near enough: the request, its event's text, a re-examined
/// alert's largest parts.
std::size_t request_bytes(const IntegrityMonitor::Request& r) {
    const audit::Event& e = r.event;
    std::size_t n = sizeof(r) + r.rule_id.size() + r.image.first.size() + e.auid_name.size() +
                    e.comm.size() + e.exe.size() + e.argv_sha256.size() +
                    (e.key ? e.key->size() : 0) + (e.cwd ? e.cwd->size() : 0) +
                    strings_bytes(e.argv) + strings_bytes(e.proctitle) +
                    e.record_types.size() * sizeof(int);
    for (const auto& p : e.paths) {
        n += sizeof(p) + p.name.size() + p.nametype.size() + p.dev.size() + p.rdev.size();
    }
    if (r.reexamine) {
        const Alert& a = *r.reexamine;
        n += sizeof(a) + a.summary.size() + a.process.exe.size() + strings_bytes(a.process.argv);
        for (const auto& anc : a.ancestry) {
            n += sizeof(anc) + anc.exe.size() + strings_bytes(anc.argv);
        }
        n += a.file ? a.file->path.size() : 0;
    }
    return n;
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
    ++inflight_;  // the baseline is work too: drain() waits for it (and for checks before it)
    worker_ = std::jthread([this] { run(); });
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
    r.bytes = request_bytes(r);
    const auto full = [&] {
        return outbox_.size() >= cfg_.queue_size || queued_bytes_.load() + r.bytes > kQueueBytes;
    };
    if (full()) {
        flush_submissions();
        if (full()) {
            const std::scoped_lock lock(stats_mu_);
            ++stats_.dropped;
            return false;
        }
    }
    if (!r.reexamine && r.exe == nullptr) {
        r.exe = pin(r.event);  // the same exec's second rule shares the first one's pin
    }
    ++inflight_;
    queued_bytes_ += r.bytes;
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
    for (std::size_t i = taken; i < outbox_.size(); ++i) {
        queued_bytes_ -= outbox_[i].bytes;
    }
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

bool IntegrityMonitor::monitors(const std::string& path,
                                std::uint64_t inode,
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

bool IntegrityMonitor::examine(Alert&& alert, std::uint64_t inode) {
    Request r;
    r.reexamine = std::make_unique<Alert>(std::move(alert));
    r.inode = inode;
    r.bytes = request_bytes(r);
    flush_submissions();  // in order with the execs before it
    const std::size_t bytes = r.bytes;
    if (queued_bytes_.load() + bytes <= kQueueBytes) {
        ++inflight_;
        queued_bytes_ += bytes;
        if (queue_.try_push(std::move(r))) {
            return true;
        }
        queued_bytes_ -= bytes;
        --inflight_;
    }
    const std::scoped_lock lock(stats_mu_);
    ++stats_.dropped;
    return false;
}

std::vector<Alert> IntegrityMonitor::take_ready() {
    return take(ready_);
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
    out.precheck_by_host_file = precheck_by_host_file_.load(std::memory_order_relaxed);
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
            log::info("integrity: " + std::to_string(n) +
                      " programs of dpkg's binary directories indexed by content");
        }
    } catch (const std::exception& e) {
        log::error(std::string("integrity: cannot index dpkg's programs: ") + e.what());
    }
    try {
        scan("start");
        if (!baseline_cut_ && !stopping_) {
            // precheck() may now rule programs out by size on the engine thread
            sizes_ready_ = true;
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
            queued_bytes_ -= r->bytes;
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
            next_scan =
                std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.scan_interval_s);
        }
    }
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
        const int program = program_of(r.event,
                                       exe,
                                       r.exe && r.exe->valid() ? r.exe->get() : -1,
                                       /*try_proc=*/true,
                                       w,
                                       r.image,
                                       r.host_process,
                                       owned,
                                       st);
        if (program >= 0) {
            fd = util::UniqueFd(::open(("/proc/self/fd/" + std::to_string(program)).c_str(),
                                       O_RDONLY | O_CLOEXEC | O_NONBLOCK));
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
        auto f =
            examine_fd(fd.get(), static_cast<std::uint64_t>(cfg_.max_file_mb) * 1024 * 1024, error);
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
        it = cache_.insert_or_assign({key->dev, key->inode}, std::make_pair(*key, std::move(*f)))
                 .first;
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
        v.note = "; its content is " + known->second + " (sha256 " + facts->sha256.substr(0, 16) +
                 "...)";
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
        v.note =
            "; sha256 " + facts->sha256 +
            " matches no runtime binary of the baseline, no package record and no allowlist entry";
    } else if (const PackageBinaries::Program* p =
                   want_package ? packages->find(facts->md5) : nullptr) {
        v.integrity.sha256 = facts->sha256;
        v.integrity.size = facts->size;
        v.integrity.recognized_as = p->path;
        v.integrity.trusted = true;
        v.integrity.trusted_by = "package:" + p->package;
        v.note = "; its content is " + p->path + " of package " + p->package + " (md5 " +
                 facts->md5 + ")";
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

void IntegrityMonitor::scan_once(std::vector<std::string> paths, std::set<std::string> names) {
    paths_ = std::move(paths);
    names_ = std::move(names);
    scan("on demand (--scan)");
}

std::vector<Finding> IntegrityMonitor::take_findings() {
    return take(findings_);
}

}  // namespace adock::integrity
