// SPDX-License-Identifier: Apache-2.0
#include "util/safe_read.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "util/unique_fd.hpp"

namespace adock::util {

bool safe_component(std::string_view s) {
    if (s.empty() || s.size() > 128 || s.front() == '.') {
        return false;
    }
    return s.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
           std::string_view::npos;
}

UniqueFd openat2(int dir, const char* path, std::uint64_t flags, std::uint64_t resolve) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.resolve = resolve;
    return UniqueFd(static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof how)));
}

Result<std::string> read_beneath(const std::string& dir,
                                 const std::string& relative,
                                 std::size_t max_bytes) {
    if (relative.empty() || relative.front() == '/') {
        return fail(0, "not a relative path");
    }
    const UniqueFd base(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!base.valid()) {
        return fail(errno, "no such directory");
    }
    const UniqueFd fd = openat2(base.get(),
                                relative.c_str(),
                                O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY,
                                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!fd.valid()) {
        const int err = errno;
        return fail(err,
                    err == ENOENT ? "no such file"
                                  : "refused (outside the directory, a symlink or not readable)");
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0) {
        return fail(errno, "not a regular file");
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(0, "not a regular file");
    }
    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        return fail(0, "larger than its budget");
    }
    std::string out;
    out.reserve(static_cast<std::size_t>(st.st_size));
    std::array<char, 16384> buf{};
    while (out.size() < max_bytes) {
        const ssize_t n = read_retrying(fd.get(), buf.data(), buf.size());
        if (n <= 0) {
            break;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    if (out.size() > max_bytes) {
        out.resize(max_bytes);
    }
    return out;
}

bool regular_beneath(const std::string& dir, const std::string& relative) {
    if (relative.empty() || relative.front() == '/') {
        return false;
    }
    const UniqueFd base(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!base.valid()) {
        return false;
    }
    const UniqueFd fd = openat2(base.get(),
                                relative.c_str(),
                                O_PATH | O_NOFOLLOW,
                                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);

    struct stat st {};

    return fd.valid() && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace adock::util
