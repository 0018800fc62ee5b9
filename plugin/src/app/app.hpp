// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "app/options.hpp"

namespace adock::app {

/// The whole program: returns the process exit status.
int run(const Options& opts);

}  // namespace adock::app
