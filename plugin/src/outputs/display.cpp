// SPDX-License-Identifier: Apache-2.0
#include "outputs/display.hpp"

namespace adock::outputs {

bool is_bidi_control(std::string_view cp) {
    if (cp.size() == 2) {
        return static_cast<unsigned char>(cp[0]) == 0xD8U &&
               static_cast<unsigned char>(cp[1]) == 0x9CU;
    }
    if (cp.size() != 3 || static_cast<unsigned char>(cp[0]) != 0xE2U) {
        return false;
    }
    const auto b1 = static_cast<unsigned char>(cp[1]);
    const auto b2 = static_cast<unsigned char>(cp[2]);
    return (b1 == 0x80U && ((b2 >= 0xAAU && b2 <= 0xAEU) || b2 == 0x8EU || b2 == 0x8FU)) ||
           (b1 == 0x81U && b2 >= 0xA6U && b2 <= 0xA9U);
}

std::optional<std::string> display_replacement(std::string_view cp) {
    if (cp.size() == 1) {
        const auto u = static_cast<unsigned char>(cp[0]);
        if (u < 0x20U) {
            return std::string{'\xE2', '\x90', static_cast<char>(0x80U + u)};  // U+2400 + u
        }
        if (u == 0x7FU) {
            return std::string("\xE2\x90\xA1");  // U+2421 SYMBOL FOR DELETE
        }
        return std::nullopt;
    }
    if (is_bidi_control(cp)) {
        return std::string("\xEF\xBF\xBD");
    }
    return std::nullopt;
}

}  // namespace adock::outputs
