// SPDX-License-Identifier: Apache-2.0
#include "util/rfc3339.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace adock::util {
namespace {

std::optional<int> parse_digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) {
        return std::nullopt;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
            return std::nullopt;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/// The ".fraction" at `pos`, if any, as nanoseconds (digits past the ninth are dropped); moves
/// `pos` past it. nullopt for a '.' without digits.
std::optional<std::uint32_t> parse_fraction(std::string_view s, std::size_t& pos) {
    std::uint32_t nanos = 0;
    if (pos >= s.size() || s[pos] != '.') {
        return nanos;
    }
    ++pos;
    std::size_t digits = 0;
    for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) != 0;
         ++pos, ++digits) {
        if (digits < 9) {
            nanos = nanos * 10 + static_cast<std::uint32_t>(s[pos] - '0');
        }
    }
    if (digits == 0) {
        return std::nullopt;
    }
    for (; digits < 9; ++digits) {
        nanos *= 10;
    }
    return nanos;
}

/// The zone at `pos` ("Z" or "±HH:MM") as seconds east of UTC; moves `pos` past it.
std::optional<std::int64_t> parse_offset(std::string_view s, std::size_t& pos) {
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
        return 0;
    }
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) {
        return std::nullopt;
    }
    const auto oh = parse_digits(s, pos + 1, 2);
    const auto om = parse_digits(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59) {
        return std::nullopt;
    }
    const std::int64_t sign = s[pos] == '-' ? -1 : 1;
    pos += 6;
    return sign * (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60);
}

void append_padded(std::string& out, std::int64_t v, std::size_t width) {
    const std::string digits = std::to_string(v);
    if (digits.size() < width) {
        out.append(width - digits.size(), '0');
    }
    out += digits;
}

}  // namespace

/// RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), any fraction length (nanoseconds kept).
std::optional<UtcTime> parse_rfc3339(std::string_view s) {
    const auto year = parse_digits(s, 0, 4);
    const auto month = parse_digits(s, 5, 2);
    const auto day = parse_digits(s, 8, 2);
    const auto hour = parse_digits(s, 11, 2);
    const auto minute = parse_digits(s, 14, 2);
    const auto second = parse_digits(s, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
        return std::nullopt;
    }
    const std::chrono::year_month_day ymd{std::chrono::year{*year},
                                          std::chrono::month{static_cast<unsigned>(*month)},
                                          std::chrono::day{static_cast<unsigned>(*day)}};
    if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    const auto nanos = parse_fraction(s, pos);
    const auto offset = nanos ? parse_offset(s, pos) : std::nullopt;
    if (!offset || pos != s.size()) {
        return std::nullopt;
    }
    const std::int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
    UtcTime t;
    t.sec =
        days * 86400 + std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60 + *second - *offset;
    t.nanos = *nanos;
    return t;
}

/// "YYYY-MM-DDTHH:MM:SS.<fraction_digits>Z" (fraction_digits 3 or 9).
std::string format_utc(const UtcTime& t, std::size_t fraction_digits) {
    const std::int64_t days = t.sec >= 0 ? t.sec / 86400 : (t.sec - 86399) / 86400;
    const std::int64_t of_day = t.sec - days * 86400;
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
    std::string out;
    append_padded(out, static_cast<int>(ymd.year()), 4);
    out += '-';
    append_padded(out, static_cast<unsigned>(ymd.month()), 2);
    out += '-';
    append_padded(out, static_cast<unsigned>(ymd.day()), 2);
    out += 'T';
    append_padded(out, of_day / 3600, 2);
    out += ':';
    append_padded(out, of_day / 60 % 60, 2);
    out += ':';
    append_padded(out, of_day % 60, 2);
    out += '.';
    std::string frac;
    append_padded(frac, t.nanos, 9);
    out += frac.substr(0, fraction_digits);
    out += 'Z';
    return out;
}

std::string rfc3339(std::int64_t sec, std::uint32_t milli) {
    // Seconds come from the stream (a replayed log, a remote node): clamped to years 1970..9999,
    // so the text stays RFC 3339.
    constexpr std::int64_t kMaxSec = 253402300799;  // 9999-12-31T23:59:59Z
    return format_utc({std::clamp<std::int64_t>(sec, 0, kMaxSec), (milli % 1000) * 1000000U}, 3);
}

std::string now_rfc3339() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return format_utc({ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec / 1000000 * 1000000)}, 3);
}

}  // namespace adock::util
