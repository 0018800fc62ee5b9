// SPDX-License-Identifier: Apache-2.0
// What the config files share and nothing else sees. Included only by config/config*.cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config/config.hpp"
#include "config/yaml_util.hpp"

namespace adock::config::detail {

/// The whole file; a ConfigError when it cannot be read.
std::string read_file(const std::string& path);

/// One entry of `outputs:`, checked (config_outputs.cpp).
OutputConfig parse_output(const YamlReader& r, const YAML::Node& n);

}  // namespace adock::config::detail
