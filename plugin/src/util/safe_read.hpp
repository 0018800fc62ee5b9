// SPDX-License-Identifier: Apache-2.0
// Reading files whose names come partly from the audit stream or from a container's state
// (runtime state directories): never outside the directory, never through a symlink, never a
// FIFO or device (a blocking open), never more than a byte budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace adock::util {

/// openat2(2): `path` from `dir` with `flags` (| O_CLOEXEC) and `resolve` (RESOLVE_*); an
/// invalid descriptor (errno set) when refused.
[[nodiscard]] UniqueFd openat2(int dir,
                               const char* path,
                               std::uint64_t flags,
                               std::uint64_t resolve);

/// A name that is one safe path component of a runtime's state: [A-Za-z0-9_.-], 1 to 128
/// bytes, not starting with '.' (so neither "." nor ".."), no '/'.
[[nodiscard]] bool safe_component(std::string_view s);

/// Reads `relative` beneath directory `dir` (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS, O_NONBLOCK | O_NOFOLLOW), only if it is a regular file of at most
/// `max_bytes`. Otherwise the reason: "not a relative path", "no such directory", "no such file"
/// (errnum ENOENT), "refused (outside the directory, a symlink or not readable)", "not a regular
/// file", "larger than its budget"; errnum is the errno of the call that failed, 0 for a refusal.
[[nodiscard]] Result<std::string> read_beneath(const std::string& dir,
                                               const std::string& relative,
                                               std::size_t max_bytes);

/// Whether `relative` beneath `dir` is a regular file (resolved as read_beneath does, not opened
/// for reading).
[[nodiscard]] bool regular_beneath(const std::string& dir, const std::string& relative);

}  // namespace adock::util
