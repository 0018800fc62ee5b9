// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>
#include <vector>

namespace adock::util {

/// `s` cut at every `sep`: n separators give n + 1 pieces ("a,,b," is a, "", b, ""; "" is one
/// empty piece). Views into `s`.
[[nodiscard]] inline std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) {
            return out;
        }
        s.remove_prefix(at + 1);
    }
}

}  // namespace adock::util
