// SPDX-License-Identifier: Apache-2.0
// Files the plugin writes as root (alerts, state, baseline, spool) in directories an attacker may
// reach: every path component is opened without following a symbolic link (an openat walk with
// O_NOFOLLOW|O_DIRECTORY), a file appended to must be a regular file with one link owned by us,
// and a replacement is written to `<name>.tmp` created with O_EXCL, then renamed over the name.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/unique_fd.hpp"

namespace adock::util {

/// An open directory and a name in it: where a file is, reached without a symlink.
struct DirEntry {
    UniqueFd dir;      ///< the parent directory (O_DIRECTORY, opened component by component)
    std::string name;  ///< the last component
};

/// Opens directory `path` component by component (from `/`, or the cwd for a relative path),
/// never following a symbolic link; with `create`, missing components are made (mode 0700).
/// Invalid fd, `error` set (naming the offending component) and errno (ENOENT: a component is
/// missing; ELOOP/ENOTDIR: a symlink or not a directory) on failure.
[[nodiscard]] UniqueFd open_dir_nofollow(const std::string& path, bool create, std::string& error);

/// The parent directory of `path` (opened like open_dir_nofollow) and its last component.
/// nullopt and `error` set when a component is a symlink or missing (without `create`), or when
/// `path` has no last component (empty, ends with '/', "." or "..").
[[nodiscard]] std::optional<DirEntry> open_parent_nofollow(const std::string& path, bool create, std::string& error);

/// Writes all of `data` to `fd`, through short writes and EINTR. The bytes written; `err` is 0
/// when that is all of it, else the errno of the write that failed (EIO for one that wrote 0).
std::size_t write_all(int fd, std::string_view data, int& err);

/// write_all() of everything: true when all of `data` was written.
[[nodiscard]] bool write_all(int fd, std::string_view data);

/// Checks an open file is one we may append to: a regular file, one link (a hard link would let
/// someone else's file receive our writes), owned by the effective uid. "" or the problem.
[[nodiscard]] std::string check_private_regular(int fd);

/// Opens `path` for appending (created with `mode`), with missing directories made when
/// `create_dirs`: no symlink in any component, O_NONBLOCK (a FIFO cannot hang us), and
/// check_private_regular. `size` receives the file's size.
[[nodiscard]] UniqueFd open_append_nofollow(const std::string& path,
                                            mode_t mode,
                                            bool create_dirs,
                                            std::string& error,
                                            std::uint64_t* size = nullptr);

/// Replaces `path` with `data` atomically: writes `<name>.tmp` (O_CREAT|O_EXCL|O_NOFOLLOW, a
/// stale one, even a symlink or a FIFO, is unlinked first: unlinkat never follows), fsyncs it
/// when `durable`, renames it over `name` in the same directory. No symlink in any component.
[[nodiscard]] bool write_file_atomic(const std::string& path,
                                     std::string_view data,
                                     mode_t mode,
                                     bool create_dirs,
                                     bool durable,
                                     std::string& error);

/// Reads a whole regular file reached without a symlink, at most `max_bytes`. nullopt with
/// `error` when missing (error empty then), a symlink, not regular, or too large.
[[nodiscard]] std::optional<std::string> read_file_nofollow(const std::string& path,
                                                            std::size_t max_bytes,
                                                            std::string& error);

}  // namespace adock::util
