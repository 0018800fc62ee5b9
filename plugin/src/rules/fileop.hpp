// SPDX-License-Identifier: Apache-2.0
// What a syscall does to a file (the alert contract's `file.operation`), and file paths as the
// acting process named them, made absolute.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "audit/event.hpp"
#include "util/glob.hpp"

namespace adock::rules {

/// File operation classes; a bit set in rules (`operation: [chmod, write]`).
enum class FileOp : std::uint16_t {
    None = 0,
    Chmod = 1U << 0U,
    Chown = 1U << 1U,
    Link = 1U << 2U,
    Rename = 1U << 3U,
    Write = 1U << 4U,
    Unlink = 1U << 5U,
    Utimes = 1U << 6U,
    Exec = 1U << 7U,
    Create = 1U << 8U,
    Connect = 1U << 9U,  ///< connect(2) to a unix socket file (the PATH record names it)
};

[[nodiscard]] std::optional<FileOp> parse_file_op(std::string_view name);
[[nodiscard]] const char* file_op_name(FileOp op);
/// The operation names, for error messages.
[[nodiscard]] const std::vector<std::string>& file_op_names();

/// Syscalls (by name, any arch) that can perform any operation of `mask`: the engine indexes
/// rules with an `operation` condition under these names.
[[nodiscard]] std::vector<std::string> syscalls_for(std::uint32_t mask);

/// The operation `ev` performed (or attempted: failed calls are classified the same way).
/// Opens count as `write` only with O_WRONLY, O_RDWR, O_TRUNC or O_CREAT (and `create` when
/// the kernel logged a created name). openat2's flags sit behind a pointer the record does not
/// show: an openat2 counts as `create` when a name was created, else as nothing.
[[nodiscard]] FileOp classify(std::string_view syscall, const audit::Event& ev);

/// `name` made absolute against `cwd` (as the process sees them: inside a container, the
/// container's view) and normalised lexically: `.`, `..` and repeated slashes folded, so
/// `/usr/bin/../bin//x` is `/usr/bin/x`. A relative name without a cwd is returned as is.
[[nodiscard]] std::string absolute_path(std::string_view name,
                                        const std::optional<std::string>& cwd);

/// absolute_path() written into `out`, whose buffer is reused: no allocation on the per-event
/// path once `out` has grown to the longest path seen.
void absolute_path_into(std::string& out,
                        std::string_view name,
                        const std::optional<std::string>& cwd);

/// A path pattern: ending in `/` it is a directory prefix (`/usr/bin/` holds everything below);
/// otherwise a shell glob in which `*` also crosses `/`.
[[nodiscard]] bool path_matches(std::string_view pattern, std::string_view path);

/// A rule's `path` patterns, sorted by kind once at load: plain paths (and each directory
/// pattern's own name) in a hash set, directory prefixes, and globs. any() answers what
/// path_matches() over every pattern answers, with one hash lookup for the plain paths
/// instead of a scan of each pattern per path.
class PathPatterns {
public:
    PathPatterns() = default;
    // NOLINTNEXTLINE(google-explicit-constructor): a list is its patterns
    PathPatterns(std::vector<std::string> patterns);

    /// Whether some pattern matches `path` (path_matches()).
    [[nodiscard]] bool any(std::string_view path) const;

    [[nodiscard]] const std::vector<std::string>& patterns() const { return patterns_; }

    [[nodiscard]] bool empty() const { return patterns_.empty(); }

private:
    struct Hash {
        using is_transparent = void;

        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    std::vector<std::string> patterns_;
    std::unordered_set<std::string, Hash, std::equal_to<>> exact_;
    std::vector<std::string> prefixes_;  ///< directory patterns, with their trailing '/'
    std::vector<util::Glob> globs_;
};

}  // namespace adock::rules
