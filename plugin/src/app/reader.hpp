// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "app/messages.hpp"
#include "util/unique_fd.hpp"

namespace adock::app {

/// Counters the reader owns; the engine reads them for the state file.
struct ReaderStats {
    std::atomic<unsigned long long> bytes{0};
    std::atomic<unsigned long long> reads{0};    ///< read(2) calls that returned data
    std::atomic<unsigned long long> batches{0};  ///< handed to the engine (its wake-ups)
    std::atomic<unsigned long long> dropped_chunks{0};  ///< batches refused by a full queue
    std::atomic<unsigned long long> dropped_lines{0};
    std::atomic<unsigned long long> pipe_bytes{0};  ///< the input pipe's buffer (F_SETPIPE_SZ)
};

/// Reads the audit stream (stdin, or a replayed file) and hands whole lines to the engine
/// queue. It never blocks on anything but its input: on a pipe (auditd) a full queue drops and
/// counts; a regular file has nobody to stall, so there it waits for the engine instead.
///
/// Wake-ups per unit of time, not per record: auditd writes one record per write(2). Once data
/// is there the reader sleeps `gather` while more arrives (in a pipe enlarged with
/// F_SETPIPE_SZ), then drains all that is readable and hands it on as one batch: at most one
/// engine wake-up per gather period, and a record waits at most `gather` plus a read.
class Reader {
public:
    static constexpr auto kGather = std::chrono::milliseconds(5);
    /// Bytes handed on at least this often, even while more is readable.
    static constexpr std::size_t kMaxBatchBytes = 1024 * 1024;
    /// The pipe buffer asked for: 1 MiB holds well over `gather` of the fastest stream measured.
    static constexpr int kPipeBytes = 1024 * 1024;

    Reader(int fd, MessageQueue& queue, std::chrono::milliseconds gather = kGather);

    /// A regular file: nobody to stall, so the reader waits for the engine instead of dropping.
    [[nodiscard]] static bool lossless(int fd);

    /// Until EOF, a read error or stop(); then hands on a last unterminated line and signals
    /// finished_fd().
    void run();
    /// Any thread: makes run() return soon (what is not read yet stays unread).
    void stop();

    /// Readable once run() has returned.
    [[nodiscard]] int finished_fd() const { return finished_.get(); }
    [[nodiscard]] const ReaderStats& stats() const { return stats_; }

private:
    void hand_on(std::string&& chunk);
    /// Hands on the complete lines of carry_, keeping a last partial line.
    void hand_on_lines();
    /// Reads what is readable now into carry_ (handing on every kMaxBatchBytes). False at EOF
    /// or on a read error.
    bool drain();
    /// Sleeps `gather_` unless stop() is called; false when it was.
    bool wait_gather();

    int fd_;
    MessageQueue& queue_;
    std::chrono::milliseconds gather_;
    bool lossless_;
    std::string buf_;    ///< one read(2)
    std::string carry_;  ///< read, not handed on yet (the batch being built)
    util::UniqueFd wake_;      ///< eventfd: stop()
    util::UniqueFd finished_;  ///< eventfd: run() returned
    ReaderStats stats_;
    unsigned long long drop_logs_ = 0;
};

}  // namespace adock::app
