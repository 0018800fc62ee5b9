// SPDX-License-Identifier: Apache-2.0
// What a file is: its content hashes and the inode facts that tell whether a cached answer
// still holds. Hashing reads the whole file: never on the reader or engine thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace adock::integrity {

struct FileFacts {
    std::string sha256;  ///< lower-case hex
    std::string md5;     ///< lower-case hex (what dpkg records)
    std::uint64_t size = 0;
    std::uint32_t mode = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint64_t dev = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime = 0;
    std::int64_t ctime = 0;
    /// nanoseconds since the epoch: changes with any content or attribute change
    std::int64_t ctime_ns = 0;
};

/// The identity a cached digest is valid for: same file, not changed since.
struct StatKey {
    std::uint64_t dev = 0;
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    bool operator==(const StatKey&) const = default;
};

/// Hashes an open regular file (from its start) of at most `max_bytes`; nullopt with `error` set
/// when it is not a regular file, too large, or unreadable.
[[nodiscard]] std::optional<FileFacts> examine_fd(int fd,
                                                  std::uint64_t max_bytes,
                                                  std::string& error);

/// Opens `path` (following links: /proc/PID/exe is one) and examines it.
[[nodiscard]] std::optional<FileFacts> examine_path(const std::string& path,
                                                    std::uint64_t max_bytes,
                                                    std::string& error);

/// stat() facts of an open file, without reading it.
[[nodiscard]] std::optional<StatKey> stat_key(int fd);

}  // namespace adock::integrity
