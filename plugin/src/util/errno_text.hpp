// SPDX-License-Identifier: Apache-2.0
// The text of an errno value, safe on any thread: std::strerror() may return a buffer another
// thread's call overwrites (concurrency-mt-unsafe), and the sinks, the reader and the integrity
// worker all report errors from their own threads.
#pragma once

#include <string>

namespace adock::util {

/// "No such file or directory" for ENOENT; "Unknown error N" for a value the C library does not
/// know. Reads nothing but `err`: pass errno before any other call can change it.
[[nodiscard]] std::string errno_text(int err);

}  // namespace adock::util
