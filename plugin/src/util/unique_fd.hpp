// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace adock::util {

/// Calls `call` (a system call's wrapper: -1 and errno on failure) again as long as it fails
/// with EINTR; returns its first other result, errno as that call left it.
template <class Call>
auto retry_on_eintr(Call&& call) {
    for (;;) {
        const auto r = call();
        if (r >= 0 || errno != EINTR) {
            return r;
        }
    }
}

/// read(2) retried on EINTR: bytes read, 0 at the end, -1 on an error (errno set).
inline ssize_t read_retrying(int fd, void* buf, std::size_t n) {
    return retry_on_eintr([&] { return ::read(fd, buf, n); });
}

/// Move-only owner of a file descriptor; closes it on destruction.
class UniqueFd {
public:
    UniqueFd() noexcept = default;

    explicit UniqueFd(int fd) noexcept : fd_(fd) {}

    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}

    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }

    ~UniqueFd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }

    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }

    explicit operator bool() const noexcept { return valid(); }

    /// Gives up ownership without closing.
    [[nodiscard]] int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

    /// Closes the current descriptor (if any) and takes `fd`.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) {
            static_cast<void>(::close(fd_));
        }
        fd_ = fd;
    }

    /// Closes now and reports close()'s result: 0, or the errno value (a late write error on
    /// some file systems only shows up here). The descriptor is released either way.
    [[nodiscard]] int close() noexcept {
        if (fd_ < 0) {
            return 0;
        }
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc == 0 ? 0 : errno;
    }

private:
    int fd_ = -1;
};

}  // namespace adock::util
