// SPDX-License-Identifier: Apache-2.0
// The baseline: what is monitored, the scans (rate-limited hashing, drift found against the
// baseline), re-examining a monitored file after a write, a package update the baseline follows,
// and the watch list the engine asks monitors() about.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "integrity/monitor.hpp"
#include "util/audit_dev.hpp"
#include "util/bytes.hpp"
#include "util/log.hpp"

namespace adock::integrity {
namespace {

std::map<std::string, std::pair<std::string, std::uint64_t>> dirs_of(
    const std::set<std::string>& paths) {
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
        ir.before = FileState{
            old->facts.sha256, old->facts.size, old->facts.mode, old->facts.uid, old->facts.gid};
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
        const std::string content_trust =
            !vouch.empty() ? vouch : (same_content ? old->trusted_by : std::string());
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
        const bool attributes_changed =
            change.find("mode") != std::string::npos || change.find("owner") != std::string::npos;
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
        a.summary +=
            "; now " +
            (ir.after ? "sha256 " + ir.after->sha256.substr(0, 16) + "..." : std::string("gone")) +
            (ir.trusted ? " (" + ir.trusted_by.value_or("") + ")"
                        : std::string(" (nothing vouches for it)"));
    }
    a.integrity = std::move(ir);
    const std::scoped_lock lock(verdicts_mu_);
    ready_.push_back(std::move(a));
    has_verdicts_ = true;
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

std::optional<std::string> IntegrityMonitor::trusted_by(const FileFacts& f,
                                                        const std::string& path) {
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
    // nothing to compare with on a first baseline
    const bool report = !baseline_.entries().empty();
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

    // bytes per second
    const double budget = static_cast<double>(cfg_.scan_rate_mb_s) * 1024 * 1024;
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
                log::warning("integrity: " + p + " differs from package " + rec->package +
                             "'s record: not trusted");
            }
        }
        if (report) {
            if (old == nullptr) {
                found.push_back({p, "new", std::nullopt, *f, vouch});
            } else {
                std::string change;
                auto add = [&change](const char* what) {
                    change += change.empty() ? what : std::string(",") + what;
                };
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
                    found.push_back(
                        {p, change, old->facts, *f, change == "content" ? vouch : std::string()});
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
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const auto resume =
            std::chrono::steady_clock::now() +
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(static_cast<double>(bytes) / budget - elapsed));
        std::unique_lock lock(stop_mu_);
        stop_cv_.wait_until(lock, resume, [this] { return stopping_.load(); });
        if (std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(10)) {
            last_progress = std::chrono::steady_clock::now();
            log::info("integrity: scan progress " + std::to_string(done) + "/" +
                      std::to_string(files.size()) + " files");
        }
    }
    // A first baseline cut short is not saved: the next start would report the files it did
    // not reach as new. A later scan cut short keeps what it compared.
    if ((!stopped || report) && !baseline_.save(cfg_.state_file, error)) {
        log::warning("integrity: cannot save the baseline: " + error);
    }
    publish_watch_list();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
        const std::scoped_lock lock(stats_mu_);
        ++stats_.scans;
        stats_.drift += found.size();
        stats_.baseline_files = baseline_.entries().size();
        stats_.trusted_hashes = runtime_hashes_.size();
    }
    log::info("integrity: " + why + " scan done: " + std::to_string(files.size()) + " files (" +
              std::to_string(unchanged) + " unchanged since hashed), " +
              std::to_string(bytes / util::kMiB) + " MiB read in " +
              std::to_string(static_cast<int>(secs * 1000)) + " ms, " +
              std::to_string(found.size()) + " differences from the baseline" +
              (report ? "" : " (first baseline)") + "; " + std::to_string(md5sums) +
              " dpkg md5sums read");
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
    log::info("integrity: " + path + " updated by " + *why + " (sha256 " + f.sha256 +
              "); baseline follows");
}

}  // namespace adock::integrity
