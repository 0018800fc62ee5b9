// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <string>

#include "app/messages.hpp"
#include "util/unique_fd.hpp"

namespace adock::app {

/// Counters the reader owns; the engine reads them for the state file.
struct ReaderStats {
    std::atomic<unsigned long long> bytes{0};
    std::atomic<unsigned long long> chunks{0};
    std::atomic<unsigned long long> dropped_chunks{0};
    std::atomic<unsigned long long> dropped_lines{0};
};

/// Reads the audit stream (stdin, or a replayed file) and hands whole lines to the engine
/// queue. It never blocks on anything but its input: on a pipe (auditd) a full queue drops and
/// counts; a regular file has nobody to stall, so there it waits for the engine instead.
class Reader {
public:
    Reader(int fd, MessageQueue& queue);

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

    int fd_;
    MessageQueue& queue_;
    bool lossless_;
    util::UniqueFd wake_;      ///< eventfd: stop()
    util::UniqueFd finished_;  ///< eventfd: run() returned
    ReaderStats stats_;
    unsigned long long drop_logs_ = 0;
};

}  // namespace adock::app
