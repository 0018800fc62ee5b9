// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace adock::app {

/// Writes the state file atomically (tmp + rename), mode 0600; logs a failure.
void write_state_file(const std::string& path, const std::string& json);

}  // namespace adock::app
