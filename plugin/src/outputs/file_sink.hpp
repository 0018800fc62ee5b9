// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "outputs/queueing.hpp"
#include "outputs/sink.hpp"
#include "util/bounded_queue.hpp"
#include "util/unique_fd.hpp"

namespace adock::outputs {

/// JSON Lines output: one alert per line, written by the sink's own thread in batches. Shared by
/// the file sink (a path, with size rotation and reopen) and the stdout sink (a borrowed fd).
class JsonLinesSink : public Sink {
public:
    JsonLinesSink(const JsonLinesSink&) = delete;
    JsonLinesSink& operator=(const JsonLinesSink&) = delete;
    JsonLinesSink(JsonLinesSink&&) = delete;
    JsonLinesSink& operator=(JsonLinesSink&&) = delete;
    ~JsonLinesSink() override;

    [[nodiscard]] const std::string& name() const override { return cfg_.name; }

    [[nodiscard]] const config::OutputConfig& config() const override { return cfg_; }

    bool submit(const AlertMessage& message) override;
    void start() override;
    void stop(std::chrono::milliseconds deadline) override;
    void reopen() override;
    [[nodiscard]] SinkStats stats() const override;

protected:
    /// Writes to `cfg.path`: created 0600, never through a symlink, rotated by size.
    explicit JsonLinesSink(config::OutputConfig cfg);
    /// Writes to `fd`, which stays open and unowned (stdout). No rotation, reopen is a no-op.
    JsonLinesSink(config::OutputConfig cfg, int borrowed_fd);

private:
    void run() noexcept;
    /// Moves `first` and whatever else is queued (up to a limit) into `batch`.
    void take_batch(std::optional<AlertMessage> first, std::vector<AlertMessage>& batch);
    /// Worker epilogue: reports shutdown losses, fsyncs and closes the file.
    void finish(std::size_t shutdown_drops) noexcept;
    /// stop() without virtual dispatch, so the destructor can use it.
    void shutdown(std::chrono::milliseconds deadline);
    void write_batch(std::vector<AlertMessage>& batch);
    /// Writes `buf` (holding `lines` complete lines); returns false on a write error.
    bool flush(std::string& buf, std::size_t lines);
    [[nodiscard]] bool ensure_open();
    void rotate();
    void close_file();
    void count_lost(std::size_t n);
    [[nodiscard]] bool past_deadline() const;

    config::OutputConfig cfg_;
    bool owns_path_;             ///< false for a borrowed fd (stdout)
    int borrowed_fd_ = -1;       ///< the fd written when !owns_path_
    util::UniqueFd fd_;          ///< the open file (worker thread only)
    std::uint64_t size_ = 0;     ///< bytes in the open file (worker thread only)
    bool need_newline_ = false;  ///< a failed write left a partial line (worker only)
    std::chrono::steady_clock::time_point next_rotate_try_{};  ///< after a failed rotation

    util::BoundedQueue<AlertMessage> queue_;
    std::atomic<bool> reopen_requested_{false};  ///< set by reopen(), acted on by the worker
    /// Shutdown deadline (steady clock, ns since epoch); max() while running.
    std::atomic<std::chrono::steady_clock::rep> deadline_ns_;

    std::atomic<unsigned long long> generated_{0};
    std::atomic<unsigned long long> delivered_{0};
    util::LatencyHistogram latency_;  ///< event time to the write
    std::atomic<unsigned long long> failed_{0};
    std::atomic<unsigned long long> dropped_{0};
    LogLimiter full_log_;   ///< queue-full drops (producer threads)
    LogLimiter error_log_;  ///< open/write/rotate errors (worker thread)

    std::jthread worker_;  ///< last member: joined before the rest is destroyed
};

/// `type: file`.
class FileSink final : public JsonLinesSink {
public:
    explicit FileSink(config::OutputConfig cfg);
};

}  // namespace adock::outputs
