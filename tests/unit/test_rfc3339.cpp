// SPDX-License-Identifier: Apache-2.0
#include <string>

#include "test_catch.hpp"
#include "util/rfc3339.hpp"

using adock::util::format_utc;
using adock::util::parse_rfc3339;
using adock::util::rfc3339;

TEST_CASE("rfc3339 formats audit stamps with milliseconds, clamped", "[rfc3339]") {
    CHECK(rfc3339(0, 0) == "1970-01-01T00:00:00.000Z");
    CHECK(rfc3339(1700000000, 123) == "2023-11-14T22:13:20.123Z");
    CHECK(rfc3339(-5, 7) == "1970-01-01T00:00:00.007Z");
    CHECK(rfc3339(999999999999, 999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("rfc3339 parses zones and fractions", "[rfc3339]") {
    const auto t = parse_rfc3339("2023-11-14T22:13:20.123456789Z");
    REQUIRE(t);
    CHECK(t->sec == 1700000000);
    CHECK(t->nanos == 123456789);
    CHECK(format_utc(*t, 9) == "2023-11-14T22:13:20.123456789Z");
    CHECK(format_utc(*t, 3) == "2023-11-14T22:13:20.123Z");
    const auto z = parse_rfc3339("2023-11-15T00:13:20+02:00");
    REQUIRE(z);
    CHECK(z->sec == 1700000000);
    CHECK(z->nanos == 0);
}

TEST_CASE("rfc3339 rejects bad input", "[rfc3339]") {
    const auto bad = GENERATE(std::string{},
                              std::string{"2023-11-14"},
                              std::string{"2023-13-14T22:13:20Z"},
                              std::string{"2023-02-30T22:13:20Z"},
                              std::string{"2023-11-14T24:13:20Z"},
                              std::string{"2023-11-14T22:13:20."},
                              std::string{"2023-11-14T22:13:20"},
                              std::string{"2023-11-14T22:13:20Zjunk"},
                              std::string{"2023-11-14T22:13:20+2:00"});
    CHECK_FALSE(parse_rfc3339(bad));
}

TEST_CASE("now_rfc3339 is parseable", "[rfc3339]") {
    const auto now = adock::util::now_rfc3339();
    CHECK(now.size() == 24);
    CHECK(parse_rfc3339(now));
}
