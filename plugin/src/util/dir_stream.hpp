// SPDX-License-Identifier: Apache-2.0
// A directory listed through a descriptor the caller already holds (opened without following
// symlinks, beneath its root): readdir(3) needs a DIR*, and fdopendir(3) takes the descriptor
// over, so the stream gets a duplicate and the caller keeps its own.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/c_handle.hpp"

namespace adock::util {

using DirStream = CHandle<DIR, &::closedir>;

/// A stream over the directory `dir_fd` is open on; null (errno set) when it cannot be made.
/// Nothing leaks either way: the duplicate is closed with the stream, or at once on failure.
[[nodiscard]] inline DirStream open_dir_stream(int dir_fd) {
    const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        return nullptr;
    }
    DirStream d(::fdopendir(dup));
    if (!d) {
        const int err = errno;
        static_cast<void>(::close(dup));
        errno = err;
    }
    return d;
}

}  // namespace adock::util
