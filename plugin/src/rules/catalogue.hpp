// SPDX-License-Identifier: Apache-2.0
// Where the detection rules come from: an installed rules directory, or the catalogue compiled
// into the binary (conf/rules/*.yaml at build time) when none is installed.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/rule.hpp"

namespace adock::rules {

/// The shipped rule files as (name, yaml) pairs in load order, named `built-in:NN-x.yaml`.
[[nodiscard]] const std::vector<std::pair<std::string, std::string>>& builtin_catalogue();

/// The rules in `dir` when it exists; when it does not and `dir_is_default` (the config did not
/// name one), the built-in catalogue. An explicitly named directory that is missing is an error
/// (config::ConfigError).
[[nodiscard]] std::shared_ptr<const RuleSet> load_catalogue(const std::string& dir,
                                                            bool dir_is_default);

/// Where a rule set came from, for --check and the start-up log: a directory or the built-in
/// catalogue.
[[nodiscard]] std::string describe_origin(const RuleSet& set);

}  // namespace adock::rules
