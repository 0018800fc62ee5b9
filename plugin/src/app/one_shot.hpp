// SPDX-License-Identifier: Apache-2.0
// The modes that do one thing and exit: --scan and --test-output.
#pragma once

#include <string>

#include "app/generation.hpp"
#include "config/config.hpp"

namespace adock::app {

/// --scan: compares the baseline with the disk once, sends integrity_drift alerts through the
/// configured outputs (`loaded` built with Purpose::Run), updates the baseline, prints a
/// summary. Exit 0 without differences, 2 with.
int run_scan(Generation loaded);

/// --test-output NAME: one sample alert to one output, synchronously, bypassing its routing,
/// dedup, rate limit and spool; prints what the endpoint answered. Exit 0 delivered, 1 not.
int run_test_output(const Generation& loaded, const std::string& name);

/// --check --format json, when the configuration and rules are valid: {"ok": true, "file",
/// "outputs", "rules", "rules_enabled", "rules_from", "diagnostics": []}.
[[nodiscard]] std::string check_ok_json(const std::string& config_path, const Generation& g);

/// --check --format json, when they are not: {"ok": false, "file", "diagnostics": [{"severity":
/// "error", "code", "file", "line", "col", "message"}]} (line and col 0 when not known).
[[nodiscard]] std::string check_error_json(const std::string& config_path,
                                           const config::ConfigError& e);

}  // namespace adock::app
