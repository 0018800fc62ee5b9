// SPDX-License-Identifier: Apache-2.0
// Result<T>: a value, or the Error that kept it from being made (STYLE.md §6.5).
//
// Return a Result for a failure the caller is expected to handle and carry on from: a file that
// is missing, a symlink refused, a disk that is full. That is every failure of the data plane
// (reader, per-event work, sinks) and of the helpers both planes share (util/). Throw instead
// where nothing on the way up can do better than give up: the control plane's typed ConfigError
// (caught once in app::run), an object that cannot be constructed, a broken environment (ENOMEM).
// A function returning a Result never throws for the failures its Error describes.
//
// tl::expected (Debian libexpected-dev), behind our own alias: std::expected is C++23 and GCC 12
// does not have it, and the alias keeps the switch to it a one-line change. tl::expected is not
// a [[nodiscard]] type, so every function returning a Result is declared [[nodiscard]]: an
// ignored Result is a dropped error (STYLE.md §6.12). Discard one on purpose with `(void)`.
//
//   [[nodiscard]] Result<UniqueFd> open_it(const std::string& path) {
//       UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
//       if (!fd) {
//           return fail_errno(errno, path);  // "PATH: No such file or directory", ENOENT
//       }
//       return fd;
//   }
//   if (auto fd = open_it(p); !fd) { log::warning("cannot open " + fd.error().message); }
//
// `*r` and `r->` on an error are undefined, like an empty std::optional's; `r.value()` throws
// tl::bad_expected_access<Error> instead (a bug, not a way to report the failure).
#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

#include "util/errno_text.hpp"

namespace adock::util {

/// Why an operation failed: the errno a caller may branch on, and the text it logs.
struct Error {
    /// The errno of the call that failed (ENOENT: missing, ELOOP: a symlink refused...); 0 when no
    /// call failed and the operation refused on its own (not a regular file, too large).
    int errnum = 0;
    /// The whole reason, ready for a log line; names the path or component concerned when there
    /// is one ("/var/log/a: a symbolic link, not followed").
    std::string message;

    friend bool operator==(const Error&, const Error&) = default;
};

/// A T, or the Error that kept it from being made. Result<void>: done, or the Error.
template <class T>
using Result = tl::expected<T, Error>;

/// The failure side of any Result: `return fail(0, path + ": not a regular file");`.
[[nodiscard]] inline tl::unexpected<Error> fail(int errnum, std::string message) {
    return tl::unexpected<Error>(Error{errnum, std::move(message)});
}

/// fail() for a call that set errno `err`: the message is "`what`: <errno_text(err)>".
/// Pass errno before any other call can change it.
[[nodiscard]] inline tl::unexpected<Error> fail_errno(int err, const std::string& what) {
    return fail(err, what + ": " + errno_text(err));
}

/// The failure of `r`, passed on as the failure of a Result of another type.
template <class T>
[[nodiscard]] tl::unexpected<Error> fail(Result<T>&& r) {
    return tl::unexpected<Error>(std::move(r).error());
}

}  // namespace adock::util
