// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/rule.hpp"

namespace adock::rules {

/// Where the files of the host live that plain program names resolve to.
[[nodiscard]] const std::vector<std::string>& default_binary_dirs();

/// Loads every *.yaml in `dir` in name order (so an operator's local.yaml, loaded last, can
/// disable or override). Throws config::ConfigError at the first problem, with file:line:col.
[[nodiscard]] std::shared_ptr<const RuleSet> load_rules_dir(const std::string& dir);

/// Same, from texts: (name, yaml) pairs in load order. For tests and --check.
[[nodiscard]] std::shared_ptr<const RuleSet> load_rules_texts(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<std::string>& binary_dirs = default_binary_dirs());

}  // namespace adock::rules
