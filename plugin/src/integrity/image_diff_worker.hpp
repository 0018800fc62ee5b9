// SPDX-License-Identifier: Apache-2.0
// The thread that compares alerts' container files with their images (image_diff.hpp), so the
// engine never reads a layer and an alert never waits behind the integrity monitor's scans or
// hashing: its own bounded queue, its own thread, alerts handed back to the engine.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alert/alert.hpp"
#include "config/config.hpp"
#include "integrity/image_diff.hpp"
#include "util/bounded_queue.hpp"

namespace adock::integrity {

/// Where containers' overlays and their image layers live, as the host resolves them (a data
/// root behind a symlink): Docker's data root (beside docker_containers_dir), podman's storage,
/// containerd's task state (rootfs mounts) and its snapshotter's root. Existing ones only.
[[nodiscard]] std::vector<std::string> image_storage_roots(const config::Config& cfg);

class ImageDiffWorker {
public:
    struct Stats {
        unsigned long long compared = 0;  ///< alerts compared (any verdict)
        unsigned long long unknown = 0;   ///< ... whose verdict is unknown
        unsigned long long dropped = 0;   ///< queue full: the alert went out without image_diff
    };

    static constexpr std::size_t kQueue = 256;

    ImageDiffWorker(std::vector<std::string> roots,
                    ImageDiffLimits limits,
                    std::string mountinfo = "/proc/self/mountinfo");
    ImageDiffWorker(const ImageDiffWorker&) = delete;
    ImageDiffWorker& operator=(const ImageDiffWorker&) = delete;
    ImageDiffWorker(ImageDiffWorker&&) = delete;
    ImageDiffWorker& operator=(ImageDiffWorker&&) = delete;
    ~ImageDiffWorker();

    /// Engine thread, never blocks: queues `alert` to be compared (`path` as its container sees
    /// it, on the overlay of one of `devs`). False when the queue is full (counted; the caller
    /// sends the alert as it is).
    bool submit(const Alert& alert, std::vector<std::string> devs, std::string path);
    /// Engine thread: the alerts compared since the last call, image_diff set.
    std::vector<Alert> take();

    [[nodiscard]] bool has_ready() const { return has_ready_.load(std::memory_order_relaxed); }

    /// Waits at most `ms` for the queued comparisons (shutdown, tests).
    void drain(unsigned ms);

    /// Shutting down: what is still queued is handed back at once, `unknown` (not compared),
    /// never dropped.
    void cut() { cut_ = true; }

    [[nodiscard]] Stats stats() const;

private:
    struct Job {
        Alert alert;
        std::vector<std::string> devs;
        std::string path;
    };

    void run() noexcept;

    std::vector<std::string> roots_;
    ImageDiffLimits limits_;
    std::string mountinfo_;
    util::BoundedQueue<Job> queue_{kQueue};
    std::atomic<long> inflight_{0};
    mutable std::mutex mu_;
    std::vector<Alert> ready_;  ///< guarded by mu_
    Stats stats_;               ///< guarded by mu_
    std::atomic<bool> has_ready_{false};
    std::atomic<bool> cut_{false};
    /// Last member: started once the rest is built, joined (after ~ImageDiffWorker closed the
    /// queue) before the queue, ready_ and the stats run() uses are destroyed.
    std::jthread thread_;
};

/// The summary's words for a comparison: "; against its image: modified (...)".
[[nodiscard]] std::string image_diff_note(const ImageDiffRef& d);

}  // namespace adock::integrity
