// SPDX-License-Identifier: Apache-2.0
// What every fuzz target shares: the oracles a payload must satisfy whatever the input was.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "util/json.hpp"

namespace adock::fuzz {

/// Aborts (a finding) with `what` when `ok` is false.
inline void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz oracle failed: %s\n", what);
        std::abort();
    }
}

/// A payload is valid UTF-8 whatever bytes went in.
inline void require_utf8(const std::string& s, const char* what) {
    require(util::sanitize_utf8(s) == s, what);
}

}  // namespace adock::fuzz
