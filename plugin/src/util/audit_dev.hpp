// SPDX-License-Identifier: Apache-2.0
// A device number as the audit stream writes it in PATH records ("fe:01"): how a stat()
// result is compared with an event's dev field.
#pragma once

#include <sys/sysmacros.h>
#include <sys/types.h>

#include <array>
#include <cstdio>
#include <string>

namespace adock::util {

[[nodiscard]] inline std::string audit_dev(dev_t dev) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%02x:%02x", major(dev), minor(dev));
    return buf.data();
}

}  // namespace adock::util
