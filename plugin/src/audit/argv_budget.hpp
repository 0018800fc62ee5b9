// SPDX-License-Identifier: Apache-2.0
// Byte budgets for argument vectors. Every byte of argv comes from the process that was
// exec'd, hostile or not: the kernel allows ~6 MiB per exec, and an alert, a process-table
// entry or an event kept for later must not copy that much. What is cut is marked, and the
// hash of the whole argv (as received) lets an analyst match it against the host's records.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.hpp"

namespace adock::audit {

struct ArgvBudget {
    std::size_t total_bytes = 16384;  ///< all arguments together, one byte per separator counted
    std::size_t arg_bytes = 4096;     ///< each argument
};

/// An argv within a budget, and what was cut.
struct BoundedArgv {
    std::vector<std::string> argv;
    /// Something was cut (an argument shortened or arguments left out), here or before.
    bool truncated = false;
    /// Lower-case hex SHA-256 of the whole argv joined with NUL (no trailing NUL), computed
    /// before cutting; empty when nothing was cut.
    std::string sha256;
    /// Arguments of the whole argv (as many as received).
    std::size_t argc = 0;
};

/// SHA-256 (hex) of `argv` joined with NUL bytes.
[[nodiscard]] std::string argv_sha256(const std::vector<std::string>& argv);

/// `argv` cut to `budget`: each argument to at most arg_bytes (at a UTF-8 boundary when the
/// text is UTF-8), then the list to total_bytes (an argument that does not fit is cut, those
/// after it left out). Only the kept bytes are copied. `whole_sha256`/`whole_argc`: `argv` is
/// itself a cut of a longer argv with this hash and count (a table entry), so the result is
/// marked truncated with them; otherwise the hash is computed here, and only when cutting.
[[nodiscard]] BoundedArgv bound_argv(const std::vector<std::string>& argv,
                                     ArgvBudget budget,
                                     const std::string& whole_sha256 = {},
                                     std::size_t whole_argc = 0);

/// Bytes `argv` takes as the budget counts them (arguments plus one separator each).
[[nodiscard]] std::size_t argv_bytes(const std::vector<std::string>& argv);

/// The words of an argv joined by single spaces: display text for a summary, not a command line
/// a shell would split the same way.
[[nodiscard]] std::string join_argv(const std::vector<std::string>& argv);

/// `s` cut to at most `max_bytes` bytes at a UTF-8 boundary, with "…" appended when cut (the
/// result then holds at most max_bytes + 3 bytes). For summary text and folded values.
[[nodiscard]] std::string bounded_text(std::string_view s, std::size_t max_bytes);

/// Cuts an event's argv and proctitle to `budget` in place, for an event kept beyond its
/// callback (a content check waiting for the integrity monitor): Event::argv_sha256 keeps the
/// hash of the whole argv and Event::argv_truncated is set when something was cut.
void bound_event(Event& ev, ArgvBudget budget);

}  // namespace adock::audit
