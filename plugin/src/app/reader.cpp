// SPDX-License-Identifier: Apache-2.0
#include "app/reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "util/bytes.hpp"
#include "util/errno_text.hpp"
#include "util/log.hpp"
#include "util/thread_name.hpp"
#include "util/unique_fd.hpp"

namespace adock::app {
namespace {

/// A "line" of a megabyte is not an audit record; do not grow without bound.
constexpr std::size_t kMaxLineBytes = util::kMiB;

util::UniqueFd make_eventfd() {
    util::UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd) {
        throw std::runtime_error(std::string("eventfd: ") + util::errno_text(errno));
    }
    return fd;
}

void signal_eventfd(int fd) {
    const std::uint64_t one = 1;
    // A full counter is already signalled: nothing to do on failure.
    if (::write(fd, &one, sizeof one) < 0) {
        return;
    }
}

unsigned long long count_lines(const std::string& s) {
    return static_cast<unsigned long long>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

bool Reader::lossless(int fd) {
    struct stat st {};

    return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

Reader::Reader(int fd, MessageQueue& queue, std::chrono::milliseconds gather)
    : fd_(fd),
      queue_(queue),
      gather_(gather),
      lossless_(false),
      wake_(make_eventfd()),
      finished_(make_eventfd()) {
    // A regular file (replay, benchmark) has nobody to stall: wait for the engine instead of
    // dropping. A pipe or socket (auditd) must never be stalled: drop and count.
    struct stat st {};

    const bool known = ::fstat(fd_, &st) == 0;
    lossless_ = known && S_ISREG(st.st_mode);
    if (lossless_) {
        gather_ = std::chrono::milliseconds(0);  // all of it is there already
    }
    if (known && S_ISFIFO(st.st_mode)) {
        const int got = ::fcntl(fd_, F_SETPIPE_SZ, kPipeBytes);
        if (got < 0) {
            log::warning(std::string("input pipe: F_SETPIPE_SZ: ") + util::errno_text(errno) +
                         " (keeping the default buffer)");
        }
        const int size = ::fcntl(fd_, F_GETPIPE_SZ);
        stats_.pipe_bytes = size > 0 ? static_cast<unsigned long long>(size) : 0ULL;
    }
    if (!lossless_) {
        // Drained until EAGAIN; the read end is ours alone (auditd holds the write end).
        const int flags = ::fcntl(fd_, F_GETFL);
        if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
            log::warning(std::string("input: O_NONBLOCK: ") + util::errno_text(errno));
        }
    }
    buf_.resize(kReadBytes);
}

void Reader::stop() {
    signal_eventfd(wake_.get());
}

void Reader::hand_on(std::string&& chunk) {
    stats_.batches += 1;
    if (lossless_) {
        InputBatch b{std::move(chunk)};
        while (!queue_.push_input_wait(b, std::chrono::milliseconds(1000))) {
            if (queue_.closed()) {
                break;
            }
        }
        return;
    }
    InputBatch b{std::move(chunk)};
    if (!queue_.try_push_input(b)) {
        // Counted only when dropped: a count of every batch's lines was a second pass over
        // all the input.
        stats_.dropped_chunks += 1;
        stats_.dropped_lines += count_lines(b.bytes);
        if (drop_logs_++ % 1000 == 0) {
            log::warning("engine queue full: dropped " +
                         std::to_string(stats_.dropped_lines.load()) +
                         " records so far (see the state file)");
        }
    }
}

void Reader::hand_on_lines() {
    const auto last_nl = carry_.rfind('\n');
    if (last_nl == std::string::npos) {
        if (carry_.size() > kMaxLineBytes) {
            stats_.dropped_lines += 1;
            carry_.clear();
        }
        return;
    }
    std::string rest(carry_, last_nl + 1);
    carry_.resize(last_nl + 1);
    hand_on(std::move(carry_));
    carry_ = std::move(rest);
}

bool Reader::drain() {
    for (;;) {
        const ssize_t n = util::read_retrying(fd_, buf_.data(), buf_.size());
        if (n < 0) {
            if (errno == EAGAIN) {
                return true;
            }
            log::error(std::string("read: ") + util::errno_text(errno));
            return false;
        }
        if (n == 0) {
            return false;  // EOF: auditd closed our stdin, or the replay ended
        }
        stats_.reads += 1;
        stats_.bytes += static_cast<unsigned long long>(n);
        carry_.append(buf_.data(), static_cast<std::size_t>(n));
        if (carry_.size() >= kMaxBatchBytes) {
            hand_on_lines();
        }
        if (lossless_ && carry_.size() >= kReadBytes) {
            hand_on_lines();  // a file: batches of one read, the engine works while we read
        }
        if (!lossless_ && static_cast<std::size_t>(n) < buf_.size()) {
            // A socket or pipe read returns all that is queued: a short read drained it. What
            // arrives now is read after the next gather (no read only to hear EAGAIN).
            return true;
        }
    }
}

std::chrono::milliseconds Reader::next_gather(std::chrono::milliseconds base,
                                              std::chrono::milliseconds last,
                                              unsigned long long drained) {
    if (base.count() <= 0 || drained < kFlowingBytes) {
        return base;
    }
    const auto last_ms = static_cast<unsigned long long>(std::max<long long>(last.count(), 1));
    // kGatherBytes at drained / last_ms bytes a millisecond
    const unsigned long long ms = kGatherBytes * last_ms / drained;
    return std::chrono::milliseconds(
        std::clamp<unsigned long long>(ms, 1, static_cast<unsigned long long>(kMaxGather.count())));
}

bool Reader::wait_gather(std::chrono::milliseconds gather) {
    if (gather.count() <= 0) {
        return true;
    }
    pollfd p{wake_.get(), POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(gather.count()));
    return !(pr > 0 && (p.revents & POLLIN) != 0);
}

void Reader::run() {
    util::name_this_thread("adock-reader");
    // the last drain found a busy stream's worth: gather again, no poll first
    bool flowing = false;
    std::chrono::milliseconds gather = gather_;
    for (;;) {
        if (!flowing) {
            stats_.waits += 1;
            std::array<pollfd, 2> fds{{{fd_, POLLIN, 0}, {wake_.get(), POLLIN, 0}}};
            const int pr = ::poll(fds.data(), fds.size(), -1);
            if (pr < 0) {
                if (errno == EINTR) {
                    continue;
                }
                log::error(std::string("poll: ") + util::errno_text(errno));
                break;
            }
            if ((fds[1].revents & POLLIN) != 0) {
                break;
            }
            if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
        }
        // Let the batch build in the socket instead of waking for every record. While the
        // stream flows this sleep is the reader's only one per batch (one wake-up, not two).
        if (!wait_gather(gather)) {
            break;
        }
        const unsigned long long before = stats_.bytes.load(std::memory_order_relaxed);
        const bool more = drain();
        hand_on_lines();
        if (!more) {
            break;
        }
        const unsigned long long drained = stats_.bytes.load(std::memory_order_relaxed) - before;
        flowing = drained >= kFlowingBytes;
        gather = next_gather(gather_, gather, drained);  // gather_ unless it flows
    }
    if (!carry_.empty()) {
        carry_ += '\n';
        // The writer is gone: waiting stalls nobody. What still finds no room is counted.
        InputBatch tail{std::move(carry_)};
        while (!queue_.push_input_wait(tail, std::chrono::milliseconds(1000))) {
            if (!lossless_ || queue_.closed()) {
                stats_.dropped_chunks += 1;
                stats_.dropped_lines += 1;
                break;
            }
        }
    }
    signal_eventfd(finished_.get());
}

}  // namespace adock::app
