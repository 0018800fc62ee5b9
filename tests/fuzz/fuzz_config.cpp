// SPDX-License-Identifier: Apache-2.0
// The config loader (load_config_string): any text gives a Config or a ConfigError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return 0;
    }
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)adock::config::load_config_string(text, "fuzz.yaml");
    } catch (const adock::config::ConfigError&) {
        // the expected failure: a message with file:line:col
    }
    return 0;
}
