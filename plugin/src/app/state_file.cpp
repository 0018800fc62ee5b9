// SPDX-License-Identifier: Apache-2.0
#include "app/state_file.hpp"

#include "util/log.hpp"
#include "util/safe_file.hpp"

namespace adock::app {

/// Atomically (`.tmp` made with O_EXCL, renamed), mode 0600, no symlink followed in any
/// component of its path.
void write_state_file(const std::string& path, const std::string& json) {
    if (const auto written = util::write_file_atomic(path, json, 0600, true, false); !written) {
        log::warning("cannot write state file " + written.error().message);
    }
}

}  // namespace adock::app
