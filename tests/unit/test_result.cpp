// SPDX-License-Identifier: Apache-2.0
// util::Result and util::Error: a value or the errno and message of the failure, passed on intact.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "test_catch.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace {

using adock::util::Error;
using adock::util::Result;

Result<int> parse_digit(char c) {
    if (c < '0' || c > '9') {
        return adock::util::fail(0, std::string("not a digit: ") + c);
    }
    return c - '0';
}

Result<int> twice(char c) {
    auto d = parse_digit(c);
    if (!d) {
        return adock::util::fail(std::move(d));
    }
    return *d * 2;
}

Result<void> check_even(char c) {
    auto d = parse_digit(c);
    if (!d) {
        return adock::util::fail(std::move(d));  // a Result<int>'s failure as a Result<void>'s
    }
    if (*d % 2 != 0) {
        return adock::util::fail(EDOM, "odd");
    }
    return {};
}

}  // namespace

TEST_CASE("Error: no errno and no message by default; equal only when both match",
          "[util][result]") {
    const Error none;
    CHECK(none.errnum == 0);
    CHECK(none.message.empty());
    CHECK(Error{ENOENT, "x"} == Error{ENOENT, "x"});
    CHECK_FALSE(Error{ENOENT, "x"} == Error{ELOOP, "x"});
    CHECK_FALSE(Error{ENOENT, "x"} == Error{ENOENT, "y"});
}

TEST_CASE("Result: the value, or the failure with its errno and message", "[util][result]") {
    const Result<int> ok = parse_digit('7');
    REQUIRE(ok.has_value());
    CHECK(*ok == 7);

    const Result<int> bad = parse_digit('x');
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == Error{0, "not a digit: x"});
    CHECK(bad.value_or(-1) == -1);
    CHECK_THROWS_AS(bad.value(), tl::bad_expected_access<Error>);  // misuse is loud
    CHECK_NOTHROW(ok.value());
}

TEST_CASE("Result: a failure passed up keeps its errno and message, across value types",
          "[util][result]") {
    const auto doubled = twice('4');
    REQUIRE(doubled);
    CHECK(*doubled == 8);
    const auto lost = twice('z');
    REQUIRE_FALSE(lost);
    CHECK(lost.error() == Error{0, "not a digit: z"});

    CHECK(check_even('2'));
    const auto odd = check_even('3');
    REQUIRE_FALSE(odd);
    CHECK(odd.error() == Error{EDOM, "odd"});
    const auto none = check_even('?');
    REQUIRE_FALSE(none);
    CHECK(none.error() == Error{0, "not a digit: ?"});
}

TEST_CASE("fail_errno: errno kept, its text after the subject", "[util][result]") {
    const Result<void> r = adock::util::fail_errno(ENOENT, "/etc/none");
    REQUIRE_FALSE(r);
    CHECK(r.error().errnum == ENOENT);
    CHECK(r.error().message == "/etc/none: No such file or directory");
    const Result<void> other = adock::util::fail_errno(EACCES, "/etc/none");
    REQUIRE_FALSE(other);
    CHECK(other.error().errnum == EACCES);
    CHECK(other.error().message == "/etc/none: Permission denied");
}

TEST_CASE("Result<UniqueFd>: a move-only value moves out open, and is closed once",
          "[util][result]") {
    auto open_null = []() -> Result<adock::util::UniqueFd> {
        adock::util::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!fd) {
            return adock::util::fail_errno(errno, "/dev/null");
        }
        return fd;
    };
    auto r = open_null();
    REQUIRE(r);
    adock::util::UniqueFd fd = std::move(*r);
    REQUIRE(fd.valid());
    const int raw = fd.get();
    CHECK(::fcntl(raw, F_GETFD) >= 0);
    fd.reset();
    CHECK(::fcntl(raw, F_GETFD) == -1);
}
