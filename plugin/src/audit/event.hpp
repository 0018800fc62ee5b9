// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace adock::audit {

/// One PATH record.
struct PathItem {
    int item = -1;
    std::string name;      ///< decoded; may be relative to Event::cwd
    std::string nametype;  ///< NORMAL, CREATE, DELETE, PARENT, ...
    std::uint64_t inode = 0;
    std::string dev;   ///< "fe:00"
    std::string rdev;  ///< a device node's device ("08:01"); empty for anything else
    std::uint32_t mode = 0;
    std::optional<std::uint32_t> ouid;
};

/// A SECCOMP record (arrives without rule or key).
struct SeccompInfo {
    std::uint32_t arch = 0;
    int syscall = -1;
    std::uint32_t code = 0;
    int sig = 0;
};

/// An assembled audit event, owning all its data: nothing here points into auparse memory,
/// so an Event may outlive the callback and cross threads.
struct Event {
    std::uint64_t serial = 0;
    std::int64_t sec = 0;
    std::uint32_t milli = 0;
    std::string node;  ///< `node=` prefix, empty when absent

    // SYSCALL record
    bool has_syscall = false;
    std::uint32_t arch = 0;
    int syscall = -1;
    std::optional<bool> success;
    std::int64_t exit = 0;
    int pid = -1;
    int ppid = -1;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> euid;
    std::optional<std::uint32_t> auid;
    /// The auid's user name as auditd translated it (ENRICHED logs); empty: none, or unset.
    std::string auid_name;
    std::string comm;
    std::string exe;
    std::optional<std::string> key;
    std::vector<std::uint64_t> args;  ///< a0..a3

    // EXECVE record(s)
    bool has_execve = false;
    std::vector<std::string> argv;
    bool argv_truncated = false;  ///< a record was missing or malformed, or argv was cut
    /// Set when argv was cut to a byte budget after parsing (audit/argv_budget.hpp): SHA-256
    /// of the whole argv, NUL-joined, and its argument count.
    std::string argv_sha256;
    std::size_t argv_argc = 0;

    std::optional<std::string> cwd;
    std::vector<PathItem> paths;
    std::vector<std::string> proctitle;  ///< NUL-separated argv from PROCTITLE

    std::optional<SeccompInfo> seccomp;

    /// Record type numbers in arrival order (for rules matching on record type).
    std::vector<int> record_types;

    [[nodiscard]] bool is_exec() const;
};

/// Decodes an audit "encoded" string value: `"text"` → text, hex → bytes, `(null)` → nullopt.
[[nodiscard]] std::optional<std::string> decode_value(std::string_view raw);

/// Splits a NUL-separated hex-decoded proctitle into arguments.
[[nodiscard]] std::vector<std::string> split_nul(std::string_view s);

/// Syscall name for arch/number (libaudit tables); "unknown(N)" when not known.
[[nodiscard]] std::string syscall_name(std::uint32_t arch, int syscall);
[[nodiscard]] std::optional<int> syscall_number(std::uint32_t arch, std::string_view name);

/// RFC 3339 UTC with milliseconds: 2026-11-22T10:00:00.123Z
[[nodiscard]] std::string rfc3339(std::int64_t sec, std::uint32_t milli);

}  // namespace adock::audit
