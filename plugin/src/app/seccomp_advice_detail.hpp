// SPDX-License-Identifier: Apache-2.0
// What the seccomp advice files share and nothing else sees. Included only by
// app/seccomp_advice*.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "app/seccomp_advice.hpp"

namespace adock::app::detail {

/// Text from a record or a state file, fit for a terminal: control bytes become '?', at most
/// kMaxNameBytes.
inline std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, SeccompAdvisor::kMaxNameBytes)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    return out;
}

inline std::string hex(std::uint32_t v) {
    std::array<char, 16> b{};
    (void)std::snprintf(b.data(), b.size(), "%x", v);
    return b.data();
}

}  // namespace adock::app::detail
