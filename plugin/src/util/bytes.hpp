// SPDX-License-Identifier: Apache-2.0
// Byte sizes written as sizes: `64 * util::kKiB` is computed in std::size_t, where `64 * 1024`
// is an int product widened afterwards (bugprone-implicit-widening-of-multiplication-result).
#pragma once

#include <cstddef>

namespace adock::util {

inline constexpr std::size_t kKiB = 1024;
inline constexpr std::size_t kMiB = 1024 * kKiB;

}  // namespace adock::util
