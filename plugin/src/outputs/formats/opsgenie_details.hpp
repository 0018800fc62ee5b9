// SPDX-License-Identifier: Apache-2.0
// Opsgenie Alert API: the alert (opsgenie.cpp) and its details map (opsgenie_details.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "alert/alert.hpp"

namespace adock::outputs::detail {

/// Opsgenie details: string → string, keys and values together within 8000; the most useful first.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> opsgenie_details(const Alert& a);

}  // namespace adock::outputs::detail
