// SPDX-License-Identifier: Apache-2.0
// A device number as the audit stream writes it in PATH records ("fe:01"): how a stat()
// result is compared with an event's dev field.
#pragma once

#include <sys/sysmacros.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <string>

namespace adock::util {

namespace detail {

/// `v` in lower-case hex, at least two digits (printf's "%02x"), appended to `out`.
inline void append_hex2(std::string& out, unsigned int v) {
    std::array<char, 2 * sizeof v> digits{};
    std::size_t n = 0;
    do {
        digits.at(n++) = "0123456789abcdef"[v & 0xfU];
        v >>= 4U;
    } while (v != 0);
    if (n < 2) {
        digits.at(n++) = '0';
    }
    while (n > 0) {
        out.push_back(digits.at(--n));
    }
}

}  // namespace detail

/// "%02x:%02x" of major and minor, without printf: it runs once per exec's host-file check.
[[nodiscard]] inline std::string audit_dev(dev_t dev) {
    std::string out;
    detail::append_hex2(out, major(dev));
    out.push_back(':');
    detail::append_hex2(out, minor(dev));
    return out;
}

}  // namespace adock::util
