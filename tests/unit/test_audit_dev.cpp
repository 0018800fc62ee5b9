// SPDX-License-Identifier: Apache-2.0
#include <sys/sysmacros.h>

#include <array>
#include <cstdio>
#include <string>

#include "test_catch.hpp"
#include "util/audit_dev.hpp"

using adock::util::audit_dev;

namespace {

std::string reference(unsigned int maj, unsigned int min) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%02x:%02x", maj, min);
    return buf.data();
}

}  // namespace

TEST_CASE("audit_dev writes a device as the audit stream does (%02x:%02x)", "[audit_dev]") {
    CHECK(audit_dev(makedev(0xfe, 0x01)) == "fe:01");
    CHECK(audit_dev(makedev(0, 0)) == "00:00");
    CHECK(audit_dev(makedev(8, 17)) == "08:11");
    CHECK(audit_dev(makedev(259, 4096)) == "103:1000");
    const std::array<unsigned int, 12> values = {
        0, 1, 0xf, 0x10, 0xff, 0x100, 0xfff, 0x1000, 0xfffff, 0x12345, 0xabcde, 0xfff00};
    for (const unsigned int maj : {0U, 1U, 0xfU, 0x10U, 0xfeU, 0x103U, 0xfffU}) {
        for (const unsigned int min : values) {
            INFO(maj << ":" << min);
            CHECK(audit_dev(makedev(maj, min)) == reference(maj, min));
        }
    }
}
