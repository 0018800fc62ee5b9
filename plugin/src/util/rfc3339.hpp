// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// The plugin's one RFC 3339 implementation: every timestamp it writes or reads goes through here.
namespace adock::util {

/// A UTC instant: seconds since the Unix epoch plus nanoseconds within the second.
struct UtcTime {
    std::int64_t sec = 0;     ///< since the Unix epoch
    std::uint32_t nanos = 0;  ///< within the second
};

/// RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), any fraction length (nanoseconds kept);
/// nullopt for anything else.
[[nodiscard]] std::optional<UtcTime> parse_rfc3339(std::string_view s);

/// "YYYY-MM-DDTHH:MM:SS.<fraction_digits>Z" (fraction_digits 3 or 9).
[[nodiscard]] std::string format_utc(const UtcTime& t, std::size_t fraction_digits);

/// An audit stamp as "YYYY-MM-DDTHH:MM:SS.mmmZ", seconds clamped to years 1970..9999.
[[nodiscard]] std::string rfc3339(std::int64_t sec, std::uint32_t milli);

/// The wall clock now, as "YYYY-MM-DDTHH:MM:SS.mmmZ".
[[nodiscard]] std::string now_rfc3339();

}  // namespace adock::util
