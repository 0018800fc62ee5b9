// SPDX-License-Identifier: Apache-2.0
#include "app/generation.hpp"

#include <filesystem>

#include "rules/catalogue.hpp"
#include "rules/loader.hpp"

namespace adock::app {

Generation build_generation(const Options& opts, Purpose purpose) {
    Generation g;
    g.cfg = config::load_config_file(opts.config_path);
    if (opts.rules_dir) {
        g.cfg.rules_dir = *opts.rules_dir;
        g.cfg.rules_dir_explicit = true;
    }
    if (opts.input_path) {
        config::apply_replay_defaults(g.cfg);  // a replay describes the past
    }
    g.rules = rules::load_catalogue(g.cfg.rules_dir, !g.cfg.rules_dir_explicit);
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

std::vector<std::string> start_only_changes(const config::Config& running,
                                            const config::Config& next) {
    std::vector<std::string> changed;
    const auto& a = running;
    const auto& b = next;
    auto note = [&](bool differs, const char* name) {
        if (differs) {
            changed.emplace_back(name);
        }
    };
    note(a.engine.input_queue_mb != b.engine.input_queue_mb, "engine.input_queue_mb");
    note(a.engine.eoe_timeout_ms != b.engine.eoe_timeout_ms, "engine.eoe_timeout_ms");
    note(a.engine.max_pending_events != b.engine.max_pending_events, "engine.max_pending_events");
    note(a.proc_root != b.proc_root, "proc_root");
    note(a.containerd_state_dir != b.containerd_state_dir, "containerd_state_dir");
    note(a.docker_containers_dir != b.docker_containers_dir, "docker_containers_dir");
    note(a.podman_storage_dir != b.podman_storage_dir, "podman_storage_dir");
    note(a.seccomp_learn_file != b.seccomp_learn_file, "seccomp_learn_file");
    note(a.metrics_file != b.metrics_file, "metrics_file");
    note(a.coverage.interval_s != b.coverage.interval_s ||
             a.coverage.kernel_status != b.coverage.kernel_status ||
             a.coverage.auditd_state_file != b.coverage.auditd_state_file,
         "coverage");
    const auto& ia = a.integrity;
    const auto& ib = b.integrity;
    note(ia.enabled != ib.enabled || ia.state_file != ib.state_file ||
             ia.allowlist != ib.allowlist || ia.dpkg_info_dir != ib.dpkg_info_dir ||
             ia.queue_size != ib.queue_size || ia.max_file_mb != ib.max_file_mb ||
             ia.files != ib.files || ia.dirs != ib.dirs ||
             ia.scan_interval_s != ib.scan_interval_s || ia.scan_rate_mb_s != ib.scan_rate_mb_s,
         "integrity");
    return changed;
}

void keep_start_only(config::Config& next, const config::Config& running) {
    next.engine = running.engine;
    next.proc_root = running.proc_root;
    next.containerd_state_dir = running.containerd_state_dir;
    next.docker_containers_dir = running.docker_containers_dir;
    // the name resolver's, image_diff's roots
    next.podman_storage_dir = running.podman_storage_dir;
    next.seccomp_learn_file = running.seccomp_learn_file;  // the learning's, set at start
    next.metrics_file = running.metrics_file;              // the health thread's, set at start
    next.coverage = running.coverage;                      // and the capabilities kept for it
    next.integrity = running.integrity;
}

std::pair<std::vector<std::string>, std::set<std::string>> runtime_binaries(
    const rules::RuleSet& set) {
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
