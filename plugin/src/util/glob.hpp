// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

/// The plugin's one shell-glob match (fnmatch(3) with no flags: `*` also crosses `/`, a leading
/// `.` is not special). Rules, output filters and comm patterns all go through here.
namespace adock::util {

/// A glob with what every match of it must begin and end with, found once. A pattern with no
/// `*?[\` is compared as text. Otherwise the literal text before the pattern's first special
/// character and after its last one must begin and end the subject (each pattern character
/// stands for at least one subject character, a `*` for none or more): most subjects fail those
/// two compares, and only the rest are copied for fnmatch. As fnmatch, a pattern or subject is
/// read up to its first NUL.
class Glob {
public:
    explicit Glob(std::string pattern);

    /// fnmatch(pattern, subject, 0) == 0.
    [[nodiscard]] bool matches(std::string_view subject) const;

    [[nodiscard]] const std::string& pattern() const { return pattern_; }

private:
    std::string pattern_;
    std::size_t size_ = 0;  ///< what fnmatch reads of it: up to a NUL
    std::size_t head_ = 0;  ///< literal characters before the first special one
    std::size_t tail_ = 0;  ///< literal characters after the last special one
    bool plain_ = true;     ///< no special character: compared as text
};

/// Glob(pattern).matches(subject), for a pattern used once.
[[nodiscard]] bool glob_matches(std::string_view pattern, std::string_view subject);

/// Whether `pattern` has a character Glob treats as special (`*?[\`).
[[nodiscard]] bool has_glob_chars(std::string_view pattern);

}  // namespace adock::util
