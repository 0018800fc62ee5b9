// SPDX-License-Identifier: Apache-2.0
#include "util/glob.hpp"

#include <fnmatch.h>

#include <utility>

namespace adock::util {
namespace {

/// What fnmatch sees of a C++ string: the text before its first NUL.
std::string_view c_view(std::string_view s) {
    return s.substr(0, s.find('\0'));
}

/// Where a pattern's literal head ends and its literal tail begins, in one pass (a
/// find_first_of with a set costs a search of the set per character). The head ends at the
/// first character that begins a special element (`*?[\`); the tail begins after the last one
/// that can be a special element's last character (`*?]\`, and `[`: an unclosed bracket is
/// literal text, and so is what follows it). plain: no special character at all.
struct Bounds {
    std::size_t head = 0;
    std::size_t tail = 0;
    bool plain = true;
};

Bounds bounds_of(std::string_view pattern) {
    Bounds b;
    std::size_t last_end = 0;  // one past the last possible element end
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        switch (pattern[i]) {
            case '*':
            case '?':
            case '[':
            case '\\':
                if (b.plain) {
                    b.plain = false;
                    b.head = i;
                }
                last_end = i + 1;
                break;
            case ']':
                last_end = i + 1;
                break;
            default:
                break;
        }
    }
    if (b.plain) {
        b.head = pattern.size();
        return b;
    }
    b.tail = pattern.size() - last_end;
    return b;
}

bool match_bounded(std::string_view pattern,
                   const Bounds& b,
                   std::string_view subject,
                   const char* pattern_c) {
    subject = c_view(subject);
    if (b.plain) {
        return pattern == subject;
    }
    if (subject.size() < b.head + b.tail ||
        subject.substr(0, b.head) != pattern.substr(0, b.head) ||
        subject.substr(subject.size() - b.tail) != pattern.substr(pattern.size() - b.tail)) {
        return false;
    }
    const std::string s(subject);
    if (pattern_c != nullptr) {
        return ::fnmatch(pattern_c, s.c_str(), 0) == 0;
    }
    const std::string p(pattern);
    return ::fnmatch(p.c_str(), s.c_str(), 0) == 0;
}

}  // namespace

Glob::Glob(std::string pattern) : pattern_(std::move(pattern)) {
    size_ = c_view(pattern_).size();
    const Bounds b = bounds_of(std::string_view(pattern_).substr(0, size_));
    head_ = b.head;
    tail_ = b.tail;
    plain_ = b.plain;
}

bool Glob::matches(std::string_view subject) const {
    return match_bounded(std::string_view(pattern_).substr(0, size_),
                         Bounds{head_, tail_, plain_},
                         subject,
                         pattern_.c_str());
}

bool glob_matches(std::string_view pattern, std::string_view subject) {
    pattern = c_view(pattern);
    return match_bounded(pattern, bounds_of(pattern), subject, nullptr);
}

bool has_glob_chars(std::string_view pattern) {
    return !bounds_of(pattern).plain;
}

}  // namespace adock::util
