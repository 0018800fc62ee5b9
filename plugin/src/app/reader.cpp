// SPDX-License-Identifier: Apache-2.0
#include "app/reader.hpp"

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

#include "util/log.hpp"

namespace adock::app {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
/// A "line" of a megabyte is not an audit record; do not grow without bound.
constexpr std::size_t kMaxLineBytes = 1024 * 1024;

util::UniqueFd make_eventfd() {
    util::UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd) {
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
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

Reader::Reader(int fd, MessageQueue& queue)
    : fd_(fd), queue_(queue), lossless_(false), wake_(make_eventfd()), finished_(make_eventfd()) {
    // A regular file (replay, benchmark) has nobody to stall: wait for the engine instead of
    // dropping. A pipe or socket (auditd) must never be stalled: drop and count.
    struct stat st {};
    lossless_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
}

void Reader::stop() { signal_eventfd(wake_.get()); }

void Reader::hand_on(std::string&& chunk) {
    if (lossless_) {
        InputBatch b{std::move(chunk)};
        while (!queue_.push_input_wait(std::move(b), std::chrono::milliseconds(1000))) {
            if (queue_.closed()) {
                break;
            }
        }
        return;
    }
    const auto lines = count_lines(chunk);
    if (!queue_.try_push_input(InputBatch{std::move(chunk)})) {
        stats_.dropped_chunks += 1;
        stats_.dropped_lines += lines;
        if (drop_logs_++ % 1000 == 0) {
            log::warning("engine queue full: dropped " + std::to_string(stats_.dropped_lines.load()) +
                         " records so far (see the state file)");
        }
    }
}

void Reader::run() {
    std::string buf(kChunkBytes, '\0');
    std::string carry;
    for (;;) {
        std::array<pollfd, 2> fds{{{fd_, POLLIN, 0}, {wake_.get(), POLLIN, 0}}};
        const int pr = ::poll(fds.data(), fds.size(), -1);
        if (pr < 0) {
            if (errno == EINTR) {
                continue;
            }
            log::error(std::string("poll: ") + std::strerror(errno));
            break;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            break;
        }
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }
        const ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            log::error(std::string("read: ") + std::strerror(errno));
            break;
        }
        if (n == 0) {
            break;  // EOF: auditd closed our stdin, or the replay ended
        }
        stats_.bytes += static_cast<unsigned long long>(n);
        carry.append(buf.data(), static_cast<std::size_t>(n));
        const auto last_nl = carry.rfind('\n');
        if (last_nl == std::string::npos) {
            if (carry.size() > kMaxLineBytes) {
                stats_.dropped_lines += 1;
                carry.clear();
            }
            continue;
        }
        std::string chunk = carry.substr(0, last_nl + 1);
        carry.erase(0, last_nl + 1);
        hand_on(std::move(chunk));
    }
    if (!carry.empty()) {
        carry += '\n';
        (void)queue_.push_input_wait(InputBatch{std::move(carry)}, std::chrono::milliseconds(1000));
    }
    signal_eventfd(finished_.get());
}

}  // namespace adock::app
