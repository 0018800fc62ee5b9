// SPDX-License-Identifier: Apache-2.0
#include "util/errno_text.hpp"

#include <array>
#include <cstring>

namespace adock::util {

std::string errno_text(int err) {
    std::array<char, 256> buf{};
    // GNU strerror_r (g++ defines _GNU_SOURCE): returns either `buf` filled in or a pointer to a
    // static, immutable string; both are safe to copy here.
    const char* text = ::strerror_r(err, buf.data(), buf.size());
    return text != nullptr ? std::string(text) : "Unknown error " + std::to_string(err);
}

}  // namespace adock::util
