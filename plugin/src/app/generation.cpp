// SPDX-License-Identifier: Apache-2.0
#include "app/generation.hpp"

#include <filesystem>

#include "rules/loader.hpp"

namespace adock::app {

Generation build_generation(const Options& opts, Purpose purpose) {
    Generation g;
    g.cfg = config::load_config_file(opts.config_path);
    if (opts.rules_dir) {
        g.cfg.rules_dir = *opts.rules_dir;
    }
    g.rules = rules::load_rules_dir(g.cfg.rules_dir);
    if (purpose == Purpose::Load) {
        return g;
    }
    if (purpose == Purpose::Check) {
        for (auto o : g.cfg.outputs) {
            o.spool_dir.clear();  // validates without starting or touching the spool
            (void)outputs::make_sink(o);
        }
        return g;
    }
    for (const auto& o : g.cfg.outputs) {
        g.sinks.push_back(outputs::make_sink(o));
    }
    for (auto& s : g.sinks) {
        s->start();
    }
    return g;
}

log::Level log_level_of(const config::Config& cfg) {
    const std::string& s = cfg.log_level;
    if (s == "debug") {
        return log::Level::Debug;
    }
    if (s == "warning") {
        return log::Level::Warning;
    }
    if (s == "error") {
        return log::Level::Error;
    }
    return log::Level::Info;
}

std::pair<std::vector<std::string>, std::set<std::string>> runtime_binaries(const rules::RuleSet& set) {
    std::vector<std::string> paths;
    std::set<std::string> names;
    auto it = set.lists.find("runtime_binaries");
    if (it == set.lists.end()) {
        return {paths, names};
    }
    std::error_code ec;
    for (const auto& p : it->second->resolved_paths) {
        if (!std::filesystem::is_symlink(p, ec)) {
            paths.push_back(p);
        }
    }
    for (const auto& pat : it->second->patterns) {
        if (pat.find_first_of("/*?[") == std::string::npos) {
            names.insert(pat);
        }
    }
    return {paths, names};
}

}  // namespace adock::app
