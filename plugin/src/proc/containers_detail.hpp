// SPDX-License-Identifier: Apache-2.0
// What the containers files share and nothing else sees. Included only by proc/containers*.cpp.
#pragma once

#include <string_view>

namespace adock::proc::detail {

inline bool is_hex(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace adock::proc::detail
