// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "app/options.hpp"
#include "config/config.hpp"
#include "outputs/sink.hpp"
#include "rules/rule.hpp"
#include "util/log.hpp"

namespace adock::app {

/// One configuration in force: the config, its rules and its outputs, built and validated
/// together, the same way at start-up, for --check and on SIGHUP (on the signal thread, never
/// the reader's), then adopted by the engine loop in one place.
struct Generation {
    config::Config cfg;
    std::shared_ptr<const rules::RuleSet> rules;
    /// Started sinks for the dispatcher to adopt (Purpose::Run); empty for a check.
    std::vector<std::unique_ptr<outputs::Sink>> sinks;
};

enum class Purpose {
    Load,   ///< config and rules only
    Check,  ///< validate config, rules and every output; start nothing, touch no spool
    Run,    ///< and make and start the outputs
};

/// Loads and validates. Throws config::ConfigError (or std::exception) on a problem.
[[nodiscard]] Generation build_generation(const Options& opts, Purpose purpose);

/// The configured log level.
[[nodiscard]] log::Level log_level_of(const config::Config& cfg);

/// Settings read only at start (input queue, framing, integrity, container state dirs,
/// proc_root): a reload keeps the running values. Returns the names of those `next` changes.
[[nodiscard]] std::vector<std::string> start_only_changes(const config::Config& running,
                                                          const config::Config& next);
/// Copies the start-only settings of `running` into `next`.
void keep_start_only(config::Config& next, const config::Config& running);

/// The runtime binaries the rules name (list runtime_binaries): host paths (not symlinks) and
/// plain names, for the integrity monitor.
[[nodiscard]] std::pair<std::vector<std::string>, std::set<std::string>> runtime_binaries(
    const rules::RuleSet& set);

}  // namespace adock::app
