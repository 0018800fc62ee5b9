// SPDX-License-Identifier: Apache-2.0
// PagerDuty Events API v2: the trigger event (pagerduty.cpp) and its custom_details, the whole
// alert within a byte budget (pagerduty_details.cpp).
#pragma once

#include "alert/alert.hpp"
#include "util/json.hpp"

namespace adock::outputs::detail {

/// Writes the custom_details object of `a`: every fact as display text (Escape::Display), each
/// string and list cut, all strings together within 256 KB of JSON.
void write_pagerduty_details(util::JsonWriter& w, const Alert& a);

}  // namespace adock::outputs::detail
