// SPDX-License-Identifier: Apache-2.0
#include "integrity/image_diff_worker.hpp"

#include <array>
#include <cstdio>
#include <filesystem>

#include "util/log.hpp"
#include "util/thread_name.hpp"

namespace adock::integrity {

std::vector<std::string> image_storage_roots(const config::Config& cfg) {
    std::vector<std::string> roots;
    for (const std::string& dir :
         {std::filesystem::path(cfg.docker_containers_dir).parent_path().string(),
          cfg.podman_storage_dir,
          cfg.containerd_state_dir,
          std::string("/var/lib/containerd")}) {
        std::error_code ec;
        const auto real = std::filesystem::canonical(dir, ec);
        if (!ec && real.string().size() > 1) {
            roots.push_back(real.string());
        }
    }
    return roots;
}

std::string image_diff_note(const ImageDiffRef& d) {
    std::string note = "; against its image: " + d.verdict;
    const auto short_hash = [](const std::optional<FileState>& f) {
        return f && !f->sha256.empty() ? f->sha256.substr(0, 12) : std::string("?");
    };
    if (d.verdict == "modified") {
        note += " (sha256 " + short_hash(d.image) + "... in the image, " + short_hash(d.now) +
                "... now)";
    } else if (d.verdict == "attributes" && d.image && d.now) {
        std::array<char, 96> modes{};
        std::snprintf(modes.data(),
                      modes.size(),
                      " (mode %04o uid %u in the image, %04o uid %u now)",
                      d.image->mode,
                      d.image->uid,
                      d.now->mode,
                      d.now->uid);
        note += modes.data();
    } else if (d.verdict == "added") {
        note += " (not in the image)";
    } else if (d.verdict == "unknown" && d.reason) {
        note += " (" + *d.reason + ")";
    }
    return note;
}

ImageDiffWorker::ImageDiffWorker(std::vector<std::string> roots,
                                 ImageDiffLimits limits,
                                 std::string mountinfo)
    : roots_(std::move(roots)),
      limits_(limits),
      mountinfo_(std::move(mountinfo)),
      thread_([this] { run(); }) {}

ImageDiffWorker::~ImageDiffWorker() {
    // run() returns once what is queued is handed back; thread_, the last member, is joined
    // first when the members are destroyed, before the queue and the inbox it uses.
    queue_.close();
}

bool ImageDiffWorker::submit(const Alert& alert, std::vector<std::string> devs, std::string path) {
    if (roots_.empty() || devs.empty()) {
        return false;
    }
    ++inflight_;
    if (!queue_.try_push(Job{alert, std::move(devs), std::move(path)})) {
        --inflight_;
        const std::scoped_lock lock(mu_);
        ++stats_.dropped;
        return false;
    }
    return true;
}

std::vector<Alert> ImageDiffWorker::take() {
    std::vector<Alert> out;
    const std::scoped_lock lock(mu_);
    out.swap(ready_);
    has_ready_ = false;
    return out;
}

void ImageDiffWorker::drain(unsigned ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (inflight_.load() > 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

ImageDiffWorker::Stats ImageDiffWorker::stats() const {
    const std::scoped_lock lock(mu_);
    return stats_;
}

void ImageDiffWorker::run() noexcept {
    util::name_this_thread("adock-imagediff");
    for (;;) {
        auto job = queue_.pop_for(std::chrono::milliseconds(500));
        if (!job) {
            if (queue_.closed()) {
                return;
            }
            continue;
        }
        try {
            if (cut_) {
                ImageDiffRef r;
                r.path = job->path;
                r.verdict = "unknown";
                r.reason = "not compared: the plugin was stopping";
                job->alert.image_diff = std::move(r);
            } else {
                job->alert.image_diff =
                    diff_against_image(mountinfo_, job->devs, job->path, roots_, limits_);
            }
        } catch (const std::exception& e) {
            ImageDiffRef r;
            r.path = job->path;
            r.verdict = "unknown";
            r.reason = std::string("comparison failed: ") + e.what();
            job->alert.image_diff = std::move(r);
        }
        job->alert.summary += image_diff_note(*job->alert.image_diff);
        {
            const std::scoped_lock lock(mu_);
            ++stats_.compared;
            if (job->alert.image_diff->verdict == "unknown") {
                ++stats_.unknown;
            }
            ready_.push_back(std::move(job->alert));
            has_ready_ = true;
        }
        --inflight_;
    }
}

}  // namespace adock::integrity
