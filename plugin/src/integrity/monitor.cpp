// SPDX-License-Identifier: Apache-2.0
#include "integrity/monitor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "util/log.hpp"
#include "util/unique_fd.hpp"
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

void IntegrityMonitor::stop() {
    queue_.close();
    if (worker_.joinable()) {
        worker_.join();
    }
}

bool IntegrityMonitor::submit(Request&& r) {
    ++inflight_;
    if (!queue_.try_push(std::move(r))) {
        --inflight_;
        const std::scoped_lock lock(stats_mu_);
        ++stats_.dropped;
        return false;
    }
    return true;
}

std::vector<IntegrityMonitor::Verdict> IntegrityMonitor::take_verdicts() {
    std::vector<Verdict> out;
    const std::scoped_lock lock(verdicts_mu_);
    out.swap(verdicts_);
    has_verdicts_ = false;
    return out;
}

void IntegrityMonitor::drain() {
    while (inflight_.load() > 0 && worker_.joinable()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

IntegrityStats IntegrityMonitor::stats() const {
    const std::scoped_lock lock(stats_mu_);
    return stats_;
}

void IntegrityMonitor::run() noexcept {
    try {
        build_baseline();
    } catch (const std::exception& e) {
        log::error(std::string("integrity: baseline failed: ") + e.what());
    }
    --inflight_;
    for (;;) {
        auto r = queue_.pop_for(std::chrono::milliseconds(500));
        if (!r) {
            if (queue_.closed()) {
                break;
            }
            continue;
        }
        try {
            handle(*r);
        } catch (const std::exception& e) {
            log::error(std::string("integrity: check failed: ") + e.what());
        }
        --inflight_;
    }
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

void IntegrityMonitor::build_baseline() {
    const std::uint64_t max_bytes = static_cast<std::uint64_t>(cfg_.max_file_mb) * 1024 * 1024;
    std::string error;
    Baseline previous;
    if (!previous.load(cfg_.state_file, error)) {
        log::error("integrity: " + error + "; rebuilding the baseline");
    }
    const std::set<std::string> wanted(paths_.begin(), paths_.end());
    const std::size_t md5sums = dpkg_.load(cfg_.dpkg_info_dir, wanted);
    std::size_t trusted = 0;
    for (const auto& p : paths_) {
        auto f = examine_path(p, max_bytes, error);
        if (!f) {
            log::warning("integrity: cannot read " + p + ": " + error);
            continue;
        }
        BaselineEntry e;
        e.facts = *f;
        const BaselineEntry* old = previous.find(p);
        if (auto why = trusted_by(*f, p)) {
            e.trusted_by = *why;
        } else if (dpkg_.find(p)) {
            log::warning("integrity: " + p + " differs from package " + dpkg_.find(p)->package +
                         "'s record (sha256 " + f->sha256 + "): not trusted");
        } else if (old != nullptr && old->facts.sha256 != f->sha256) {
            log::warning("integrity: " + p + " changed since the last baseline (sha256 " + old->facts.sha256 +
                         " -> " + f->sha256 + "), and no package vouches for it: not trusted");
        } else {
            e.trusted_by = old != nullptr ? old->trusted_by : std::string("baseline");  // trust on first use
        }
        if (!e.trusted_by.empty()) {
            runtime_hashes_[f->sha256] = p;
            runtime_sizes_.insert(f->size);
            ++trusted;
        }
        baseline_.set(p, std::move(e));
    }
    if (!baseline_.save(cfg_.state_file, error)) {
        log::warning("integrity: cannot save the baseline: " + error);
    }
    {
        const std::scoped_lock lock(stats_mu_);
        stats_.baseline_files = baseline_.entries().size();
        stats_.trusted_hashes = runtime_hashes_.size();
    }
    log::info("integrity: baseline of " + std::to_string(baseline_.entries().size()) + " runtime binaries (" +
              std::to_string(trusted) + " trusted; " + std::to_string(md5sums) + " dpkg md5sums files read) in " +
              cfg_.state_file);
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
    std::string error;
    if (!baseline_.save(cfg_.state_file, error)) {
        log::warning("integrity: cannot save the baseline: " + error);
    }
    log::info("integrity: " + path + " updated by " + *why + " (sha256 " + f.sha256 + "); baseline follows");
}

void IntegrityMonitor::handle(Request& r) {
    {
        const std::scoped_lock lock(stats_mu_);
        ++stats_.checked;
    }
    const std::string& exe = r.event.exe;
    const std::string name = base_name(exe);
    const bool is_runtime_path = std::find(paths_.begin(), paths_.end(), exe) != paths_.end();
    const bool named_runtime = names_.contains(name);
    const bool want_copy = (r.checks & static_cast<std::uint32_t>(ContentCheck::RuntimeCopy)) != 0 &&
                           !is_runtime_path && !named_runtime;
    const bool want_untrusted =
        (r.checks & static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime)) != 0 && named_runtime;
    if (!want_copy && !want_untrusted) {
        return;
    }
    // The program as it runs (/proc/PID/exe), else the path it was started from.
    util::UniqueFd fd(::open((proc_root_ + "/" + std::to_string(r.event.pid) + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        fd = util::UniqueFd(::open(exe.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    }
    const auto key = fd.valid() ? stat_key(fd.get()) : std::nullopt;
    if (!key) {
        const std::scoped_lock lock(stats_mu_);
        ++stats_.unverifiable;
        return;
    }
    if (want_copy && !want_untrusted && !runtime_sizes_.contains(key->size)) {
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
        v.integrity = IntegrityRef{facts->sha256, facts->size, known->second, true};
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
        v.integrity = IntegrityRef{facts->sha256, facts->size, std::nullopt, false};
        v.note = "; sha256 " + facts->sha256 +
                 " matches no runtime binary of the baseline, no package record and no allowlist entry";
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
