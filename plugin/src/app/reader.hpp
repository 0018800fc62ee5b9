// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "app/messages.hpp"
#include "util/bytes.hpp"
#include "util/unique_fd.hpp"

namespace adock::app {

/// Counters the reader owns; the engine reads them for the state file.
struct ReaderStats {
    std::atomic<unsigned long long> bytes{0};
    std::atomic<unsigned long long> reads{0};           ///< read(2) calls that returned data
    std::atomic<unsigned long long> batches{0};         ///< handed to the engine (its wake-ups)
    std::atomic<unsigned long long> waits{0};           ///< sleeps in poll(2) for input to arrive
    std::atomic<unsigned long long> dropped_chunks{0};  ///< batches refused by a full queue
    std::atomic<unsigned long long> dropped_lines{0};
    std::atomic<unsigned long long> pipe_bytes{0};  ///< the input pipe's buffer (F_SETPIPE_SZ)
};

/// Reads the audit stream (stdin, or a replayed file) and hands whole lines to the engine
/// queue. It never blocks on anything but its input: on a pipe (auditd) a full queue drops and
/// counts; a regular file has nobody to stall, so there it waits for the engine instead.
///
/// Wake-ups per unit of time, not per record: auditd writes one record per write(2) (to a
/// socket pair in auditd 3.0.9; a pipe is enlarged with F_SETPIPE_SZ). Once data is there the
/// reader sleeps `gather` while more arrives, then drains all that is readable and hands it on
/// as one batch: at most one engine wake-up per gather period, and a record waits at most
/// `gather` plus a read. While the stream flows (a drain found at least kFlowingBytes) the
/// reader gathers again at once instead of first waiting in poll: one sleep per batch, as long
/// as about kGatherBytes take at the stream's rate (next_gather()).
class Reader {
public:
    static constexpr auto kGather = std::chrono::milliseconds(5);
    /// While the stream flows the gather follows its rate: about kGatherBytes a batch (under a
    /// third of a socket pair's 212 KB send buffer, so auditd's writes find room), at most
    /// kMaxGather (the record's wait), at least 1 ms.
    static constexpr unsigned long long kGatherBytes = 64ULL * 1024;
    static constexpr auto kMaxGather = std::chrono::milliseconds(10);
    /// Bytes handed on at least this often, even while more is readable.
    static constexpr std::size_t kMaxBatchBytes = util::kMiB;
    /// A drain of this much (about 20 records in one gather, 4,000 a second) means the stream
    /// flows: the next gather starts without a poll. Below it the reader waits for data.
    static constexpr unsigned long long kFlowingBytes = 4096;
    /// One read(2): a replayed file is handed on in batches of this size.
    static constexpr std::size_t kReadBytes = 256 * util::kKiB;
    /// The pipe buffer asked for: 1 MiB holds well over `gather` of the fastest stream measured.
    static constexpr int kPipeBytes = 1024 * 1024;

    Reader(int fd, MessageQueue& queue, std::chrono::milliseconds gather = kGather);

    /// The next gather after one of `last` that drained `drained` bytes: `base` for a stream
    /// that does not flow (below kFlowingBytes) and when gathering is off (`base` 0); else the
    /// time kGatherBytes takes at that rate, within [1 ms, kMaxGather].
    [[nodiscard]] static std::chrono::milliseconds next_gather(std::chrono::milliseconds base,
                                                               std::chrono::milliseconds last,
                                                               unsigned long long drained);

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
    /// Sleeps `gather` unless stop() is called; false when it was.
    bool wait_gather(std::chrono::milliseconds gather);

    int fd_;
    MessageQueue& queue_;
    std::chrono::milliseconds gather_;
    bool lossless_;
    std::string buf_;          ///< one read(2)
    std::string carry_;        ///< read, not handed on yet (the batch being built)
    util::UniqueFd wake_;      ///< eventfd: stop()
    util::UniqueFd finished_;  ///< eventfd: run() returned
    ReaderStats stats_;
    unsigned long long drop_logs_ = 0;
};

}  // namespace adock::app
