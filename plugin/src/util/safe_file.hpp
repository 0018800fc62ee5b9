// SPDX-License-Identifier: Apache-2.0
// Files the plugin writes as root (alerts, state, baseline, spool) in directories an attacker may
// reach: every path component is opened without following a symbolic link (an openat walk with
// O_NOFOLLOW|O_DIRECTORY), a file appended to must be a regular file with one link owned by us,
// and a replacement is written to `<name>.tmp` created with O_EXCL, then renamed over the name.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace adock::util {

/// An open directory and a name in it: where a file is, reached without a symlink.
struct DirEntry {
    UniqueFd dir;      ///< the parent directory (O_DIRECTORY, opened component by component)
    std::string name;  ///< the last component
};

/// Opens directory `path` component by component (from `/`, or the cwd for a relative path),
/// never following a symbolic link; with `create`, missing components are made (mode 0700).
/// The failure names the offending component ("/var/x: a symbolic link, not followed") and its
/// errnum says why: ENOENT a component is missing, ELOOP/ENOTDIR a symlink or not a directory.
[[nodiscard]] Result<UniqueFd> open_dir_nofollow(const std::string& path, bool create);

/// The parent directory of `path` (opened like open_dir_nofollow) and its last component. Fails
/// as open_dir_nofollow does when a component is a symlink or missing (without `create`), and
/// with "PATH: not a file name" (errnum 0) when `path` has no last component (empty, ends with
/// '/', "." or "..").
[[nodiscard]] Result<DirEntry> open_parent_nofollow(const std::string& path, bool create);

/// Writes all of `data` to `fd`, through short writes and EINTR. The failure is the errno of the
/// write that failed (EIO for one that wrote 0) with errno_text() of it as the message. `written`,
/// if given, receives the bytes written, all of `data` or those before the failure.
[[nodiscard]] Result<void> write_all(int fd, std::string_view data, std::size_t* written = nullptr);

/// Checks an open file is one we may append to: a regular file, one link (a hard link would let
/// someone else's file receive our writes), owned by the effective uid. The failure says which
/// ("has 2 hard links, refusing to write to it"; errnum 0), or fstat's errno and its text.
[[nodiscard]] Result<void> check_private_regular(int fd);

/// Opens `path` for appending (created with `mode`), with missing directories made when
/// `create_dirs`: no symlink in any component, O_NONBLOCK (a FIFO cannot hang us), and
/// check_private_regular. `size` receives the file's size. The failure starts with the path or
/// the component at fault.
[[nodiscard]] Result<UniqueFd> open_append_nofollow(const std::string& path,
                                                    mode_t mode,
                                                    bool create_dirs,
                                                    std::uint64_t* size = nullptr);

/// Replaces `path` with `data` atomically: writes `<name>.tmp` (O_CREAT|O_EXCL|O_NOFOLLOW, a
/// stale one, even a symlink or a FIFO, is unlinked first: unlinkat never follows), fsyncs it
/// when `durable`, renames it over `name` in the same directory. No symlink in any component.
/// The failure starts with the path or the component at fault; errnum is the failing call's.
[[nodiscard]] Result<void> write_file_atomic(
    const std::string& path, std::string_view data, mode_t mode, bool create_dirs, bool durable);

/// Reads a whole regular file reached without a symlink, at most `max_bytes`. Fails when it is
/// a symlink, not regular, or too large (errnum 0 for these two), or missing: errnum ENOENT then
/// (the file or a directory on its way), which a caller taking a missing file for an empty one
/// tests before it reports the message.
[[nodiscard]] Result<std::string> read_file_nofollow(const std::string& path,
                                                     std::size_t max_bytes);

/// Calls `fn` with each line (without its '\n') of a regular file reached without a symlink,
/// read in pieces of 64 KiB: the memory it takes is bounded whatever the file's size. A line
/// longer than `max_line` bytes is skipped; the last line is passed on without a '\n' too; at
/// most `max_bytes` are read (what follows is left unread). `fn` returns false to stop. Fails
/// as read_file_nofollow() does, or on a read error (the lines before it were passed on).
[[nodiscard]] Result<void> for_each_line_nofollow(const std::string& path,
                                                  std::size_t max_bytes,
                                                  std::size_t max_line,
                                                  const std::function<bool(std::string_view)>& fn);

/// for_each_line_nofollow() on `name` in the directory `dir` is open on (a name, not a path: a
/// caller reading many files of one directory opens it once, without a symlink); `shown` names
/// the file in a failure.
[[nodiscard]] Result<void> for_each_line_nofollow_at(
    int dir,
    const std::string& name,
    const std::string& shown,
    std::size_t max_bytes,
    std::size_t max_line,
    const std::function<bool(std::string_view)>& fn);

}  // namespace adock::util
