// SPDX-License-Identifier: Apache-2.0
// The text toolkit of the chat and pager payloads (outputs/formats/*.cpp): escaping per sink,
// UTF-8-safe cutting to a count of UTF-16 units and of JSON bytes, and budgets spent across
// several strings. Text only: nothing here knows an Alert. The payloads' own files list their
// APIs' limits (outputs.md §6 and the APIs' documentation) beside the constants that keep them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace adock::outputs::detail {

inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
inline constexpr std::string_view kEllipsis = "\xE2\x80\xA6";   // U+2026: marks a cut
inline constexpr std::string_view kZeroWidth = "\xE2\x80\x8B";  // U+200B: breaks "@everyone"
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

enum class Escape {
    None,             ///< as it is (only made valid UTF-8, and JSON-escaped by the writer)
    Line,             ///< one line of plain text: control characters become spaces
    Display,          ///< display text: controls become their pictures (U+2400..), bidi U+FFFD
    TeamsMarkdown,    ///< backslash before every Markdown special of Adaptive Card text
    DiscordMarkdown,  ///< backslash before Discord Markdown specials, zero-width space after '@'
    DiscordMentions,  ///< only the zero-width space after '@' (text Discord does not render)
};

/// One code point of valid UTF-8, escaped for `e`.
[[nodiscard]] std::string escape_code_point(std::string_view cp, Escape e);

/// Length in UTF-16 code units of valid UTF-8: a code point above U+FFFF counts two. Never less
/// than the number of code points, so a cut made with it satisfies an API counting either.
[[nodiscard]] std::size_t units_of(std::string_view s);

/// Bytes `s` takes inside a JSON string once util::JsonWriter has escaped it.
[[nodiscard]] std::size_t json_bytes(std::string_view s);

/// `s` made valid UTF-8 and escaped for `e`, at most `max_units` UTF-16 units and `max_bytes`
/// bytes once JSON-escaped; "…" marks a cut and an escape is never split. truncate_utf8 with
/// escaping and a byte bound: the bytes are what keeps a body under an API's size limit.
[[nodiscard]] std::string fit(std::string_view s,
                              std::size_t max_units,
                              std::size_t max_bytes,
                              Escape e);

/// Plain text cut to `max_units`, with no byte bound beyond what the units imply.
[[nodiscard]] inline std::string fit(std::string_view s,
                                     std::size_t max_units,
                                     Escape e = Escape::None) {
    return fit(s, max_units, kUnlimited, e);
}

/// Spends one allowance across several strings: Discord's 6000 characters per embed, Opsgenie's
/// 8000 characters of details, the bytes PagerDuty's custom_details may take.
class Budget {
public:
    Budget(std::size_t units, std::size_t bytes) : units_(units), bytes_(bytes) {}

    /// `s` fitted to its own limits and to what is left, which it then uses up.
    std::string take(std::string_view s, std::size_t max_units, std::size_t max_bytes, Escape e) {
        std::string out = fit(s, std::min(max_units, units_), std::min(max_bytes, bytes_), e);
        spend(out);
        return out;
    }

    /// Counts text already fitted (a fixed label) against the allowance.
    void spend(std::string_view fitted) {
        units_ -= std::min(units_, units_of(fitted));
        bytes_ -= std::min(bytes_, json_bytes(fitted));
    }

    [[nodiscard]] std::size_t units_left() const { return units_; }

private:
    std::size_t units_;
    std::size_t bytes_;
};

/// Joins at most `max_items` of `v` with `sep`, stopping once past `raw_cap` bytes: a 100 KB
/// argv is not copied whole only to be cut. A cap of 4 bytes per unit of the later cut plus 4
/// (a code point is at most 4 bytes and counts at least one unit) leaves that cut unchanged.
[[nodiscard]] std::string join_capped(const std::vector<std::string>& v,
                                      std::string_view sep,
                                      std::size_t max_items,
                                      std::size_t raw_cap);

[[nodiscard]] constexpr std::size_t raw_cap_for(std::size_t max_units) {
    return max_units * 4 + 4;
}

/// All of `v` joined with ", ", read only as far as a later cut to `max_units` can show.
[[nodiscard]] std::string join_all(const std::vector<std::string>& v, std::size_t max_units);

/// ASCII upper case.
[[nodiscard]] std::string upper(std::string s);

}  // namespace adock::outputs::detail
