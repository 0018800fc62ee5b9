// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace adock::app {

struct Options {
    std::string config_path;
    std::optional<std::string> input_path;  ///< --input: replay a saved log instead of stdin
    std::optional<std::string> rules_dir;   ///< --rules-dir: overrides the config's rules_dir
    bool check = false;
    bool check_json = false;  ///< --format json: --check prints one JSON object on stdout
    bool scan = false;        ///< --scan: one integrity scan against the baseline, then exit
    std::optional<std::string> test_output;  ///< --test-output NAME: one sample alert, then exit
    /// --seccomp-profile IMAGE|CONTAINER: a seccomp profile learned from --input, then exit
    std::optional<std::string> seccomp_profile;
    bool log_stderr = false;
    bool help = false;
    bool version = false;
};

/// Parses argv. Throws std::invalid_argument with a message for the user.
[[nodiscard]] Options parse_options(const std::vector<std::string>& args);

[[nodiscard]] std::string usage();

}  // namespace adock::app
