// SPDX-License-Identifier: Apache-2.0
// The rules loader: any rule file gives a RuleSet or a ConfigError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "rules/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return 0;
    }
    const std::vector<std::pair<std::string, std::string>> files{
        {"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)}};
    try {
        (void)adock::rules::load_rules_texts(files, {"/usr/sbin", "/usr/bin"});
    } catch (const adock::config::ConfigError&) {
        // the expected failure
    }
    return 0;
}
