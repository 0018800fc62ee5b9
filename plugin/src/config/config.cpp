// SPDX-License-Identifier: Apache-2.0
// The configuration file: reading it, the top-level settings (host, paths, status, coverage,
// engine, processes, integrity) and the list of outputs, whose entries config_outputs.cpp parses.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config_detail.hpp"
#include "config/yaml_util.hpp"

namespace adock::config {

using detail::parse_output;
using detail::read_file;

std::string ConfigError::format() const {
    std::string out = file_.empty() ? std::string("<config>") : file_;
    if (line_ > 0) {
        out += ':' + std::to_string(line_) + ':' + std::to_string(col_);
    }
    out += ": ";
    out += what();
    return out;
}

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw ConfigError(file, e.mark.line + 1, e.mark.column + 1, e.msg, "yaml_syntax");
    }
}

const char* output_type_name(OutputType t) {
    const auto i = static_cast<std::size_t>(t);
    return i < kOutputKinds.size() ? kOutputKinds[i].name.data() : "unknown";
}

namespace detail {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(path, 0, 0, "cannot read file", "unreadable");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace detail

namespace {

Config parse_config(const YAML::Node& root, const std::string& file) {
    const YamlReader r(file);
    Config c;
    c.source_file = file;
    if (!root || root.IsNull()) {
        return c;
    }
    r.mapping(
        root,
        "the configuration",
        {
            {"host", [&](const YAML::Node& v) { c.host = r.str(v, "host"); }},
            {"rules_dir",
             [&](const YAML::Node& v) {
                 c.rules_dir = r.str(v, "rules_dir");
                 c.rules_dir_explicit = true;
             }},
            {"state_file", [&](const YAML::Node& v) { c.state_file = r.str(v, "state_file"); }},
            {"seccomp_learn_file",
             [&](const YAML::Node& v) {
                 c.seccomp_learn_file = r.str(v, "seccomp_learn_file");
                 if (!c.seccomp_learn_file.empty() && c.seccomp_learn_file.front() != '/') {
                     r.fail(v, "seccomp_learn_file: expected an absolute path or \"\"");
                 }
             }},
            {"log_level",
             [&](const YAML::Node& v) {
                 c.log_level = r.str(v, "log_level");
                 static const std::set<std::string> kLevels{"debug", "info", "warning", "error"};
                 if (!kLevels.contains(c.log_level)) {
                     r.fail(v, "log_level: expected debug, info, warning or error");
                 }
             }},
            {"status_interval_s",
             [&](const YAML::Node& v) {
                 c.status_interval_s = r.integer<unsigned>(v, "status_interval_s", 0, 86400 * 7);
             }},
            {"metrics_file",
             [&](const YAML::Node& v) { c.metrics_file = r.str(v, "metrics_file"); }},
            {"metrics_interval_s",
             [&](const YAML::Node& v) {
                 c.metrics_interval_s = r.integer<unsigned>(v, "metrics_interval_s", 1, 3600);
             }},
            {"coverage",
             [&](const YAML::Node& v) {
                 r.mapping(v,
                           "coverage",
                           {{"interval_s",
                             [&](const YAML::Node& x) {
                                 c.coverage.interval_s =
                                     r.integer<unsigned>(x, "interval_s", 0, 3600);
                             }},
                            {"kernel_status",
                             [&](const YAML::Node& x) {
                                 c.coverage.kernel_status = r.boolean(x, "kernel_status");
                             }},
                            {"auditd_state_file", [&](const YAML::Node& x) {
                                 c.coverage.auditd_state_file = r.str(x, "auditd_state_file");
                             }}});
             }},
            {"spool_dir", [&](const YAML::Node& v) { c.spool_dir = r.str(v, "spool_dir"); }},
            {"degraded_spool_percent",
             [&](const YAML::Node& v) {
                 c.degraded_spool_percent =
                     r.integer<unsigned>(v, "degraded_spool_percent", 1, 100);
             }},
            {"shutdown_timeout_ms",
             [&](const YAML::Node& v) {
                 c.shutdown_timeout_ms = r.integer<unsigned>(v, "shutdown_timeout_ms", 0, 600000);
             }},
            {"proc_root", [&](const YAML::Node& v) { c.proc_root = r.str(v, "proc_root"); }},
            {"containerd_state_dir",
             [&](const YAML::Node& v) {
                 c.containerd_state_dir = r.str(v, "containerd_state_dir");
             }},
            {"docker_containers_dir",
             [&](const YAML::Node& v) {
                 c.docker_containers_dir = r.str(v, "docker_containers_dir");
             }},
            {"podman_storage_dir",
             [&](const YAML::Node& v) { c.podman_storage_dir = r.str(v, "podman_storage_dir"); }},
            {"engine",
             [&](const YAML::Node& v) {
                 r.mapping(v,
                           "engine",
                           {{"input_queue_mb",
                             [&](const YAML::Node& x) {
                                 c.engine.input_queue_mb =
                                     r.integer<unsigned>(x, "input_queue_mb", 1, 4096);
                             }},
                            {"eoe_timeout_ms",
                             [&](const YAML::Node& x) {
                                 c.engine.eoe_timeout_ms =
                                     r.integer<unsigned>(x, "eoe_timeout_ms", 100, 60000);
                             }},
                            {"max_pending_events",
                             [&](const YAML::Node& x) {
                                 c.engine.max_pending_events =
                                     r.integer<std::size_t>(x, "max_pending_events", 16, 1000000);
                             }},
                            {"alert_argv_bytes",
                             [&](const YAML::Node& x) {
                                 c.engine.alert_argv_bytes =
                                     r.integer<std::size_t>(x, "alert_argv_bytes", 256, 1048576);
                             }},
                            {"ancestor_argv_bytes",
                             [&](const YAML::Node& x) {
                                 c.engine.ancestor_argv_bytes =
                                     r.integer<std::size_t>(x, "ancestor_argv_bytes", 32, 65536);
                             }},
                            {"alert_rate_burst",
                             [&](const YAML::Node& x) {
                                 c.engine.alert_rate_burst =
                                     r.integer<unsigned>(x, "alert_rate_burst", 0, 100000);
                             }},
                            {"alert_rate_window_s", [&](const YAML::Node& x) {
                                 c.engine.alert_rate_window_s =
                                     r.integer<unsigned>(x, "alert_rate_window_s", 1, 3600);
                             }}});
             }},
            {"processes",
             [&](const YAML::Node& v) {
                 r.mapping(v,
                           "processes",
                           {{"max_entries",
                             [&](const YAML::Node& x) {
                                 c.processes.max_entries =
                                     r.integer<std::size_t>(x, "max_entries", 256, 10000000);
                             }},
                            {"ancestry_depth",
                             [&](const YAML::Node& x) {
                                 c.processes.ancestry_depth =
                                     r.integer<unsigned>(x, "ancestry_depth", 1, 64);
                             }},
                            {"use_proc",
                             [&](const YAML::Node& x) {
                                 c.processes.use_proc = r.boolean(x, "use_proc");
                                 c.processes.use_proc_explicit = true;
                             }},
                            {"max_argv_bytes",
                             [&](const YAML::Node& x) {
                                 c.processes.max_argv_bytes =
                                     r.integer<std::size_t>(x, "max_argv_bytes", 256, 1048576);
                             }},
                            {"max_arg_bytes", [&](const YAML::Node& x) {
                                 c.processes.max_arg_bytes =
                                     r.integer<std::size_t>(x, "max_arg_bytes", 32, 131072);
                             }}});
             }},
            {"integrity",
             [&](const YAML::Node& v) {
                 r.mapping(
                     v,
                     "integrity",
                     {{"enabled",
                       [&](const YAML::Node& x) {
                           c.integrity.enabled = r.boolean(x, "enabled");
                           c.integrity.enabled_explicit = true;
                       }},
                      {"state_file",
                       [&](const YAML::Node& x) {
                           c.integrity.state_file = r.str(x, "state_file");
                       }},
                      {"dpkg_info_dir",
                       [&](const YAML::Node& x) {
                           c.integrity.dpkg_info_dir = r.str(x, "dpkg_info_dir");
                       }},
                      {"queue_size",
                       [&](const YAML::Node& x) {
                           c.integrity.queue_size =
                               r.integer<std::size_t>(x, "queue_size", 16, 1000000);
                       }},
                      {"max_file_mb",
                       [&](const YAML::Node& x) {
                           c.integrity.max_file_mb =
                               r.integer<unsigned>(x, "max_file_mb", 1, 65536);
                       }},
                      {"files",
                       [&](const YAML::Node& x) { c.integrity.files = r.str_list(x, "files"); }},
                      {"dirs",
                       [&](const YAML::Node& x) { c.integrity.dirs = r.str_list(x, "dirs"); }},
                      {"scan_interval_s",
                       [&](const YAML::Node& x) {
                           c.integrity.scan_interval_s =
                               r.integer<unsigned>(x, "scan_interval_s", 0, 604800);
                       }},
                      {"scan_rate_mb_s",
                       [&](const YAML::Node& x) {
                           c.integrity.scan_rate_mb_s =
                               r.integer<unsigned>(x, "scan_rate_mb_s", 1, 100000);
                       }},
                      {"allowlist", [&](const YAML::Node& x) {
                           c.integrity.allowlist = r.str_list(x, "allowlist");
                           for (auto& h : c.integrity.allowlist) {
                               std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) {
                                   return static_cast<char>(std::tolower(ch));
                               });
                               if (h.size() != 64 ||
                                   h.find_first_not_of("0123456789abcdef") != std::string::npos) {
                                   r.fail(x,
                                          "allowlist: '" + h + "' is not a sha256 (64 hex digits)");
                               }
                           }
                       }}});
             }},
            {"outputs",
             [&](const YAML::Node& v) {
                 if (!v.IsSequence()) {
                     r.fail(v, "outputs: expected a list of outputs");
                 }
                 std::set<std::string> names;
                 for (const auto& item : v) {
                     OutputConfig o = parse_output(r, item);
                     if (!names.insert(o.name).second) {
                         r.fail(item, "outputs: duplicate output name '" + o.name + "'");
                     }
                     c.outputs.push_back(std::move(o));
                 }
             }},
        });
    for (auto& o : c.outputs) {
        if (is_delivery(o.type) && o.spool && !c.spool_dir.empty()) {
            o.spool_dir = c.spool_dir + "/" + o.name + "." + output_type_name(o.type);
        }
    }
    return c;
}

}  // namespace

Config load_config_string(const std::string& text, const std::string& name) {
    return parse_config(parse_yaml(text, name), name);
}

Config load_config_file(const std::string& path) {
    return load_config_string(read_file(path), path);
}

void apply_replay_defaults(Config& cfg) {
    if (!cfg.processes.use_proc_explicit) {
        cfg.processes.use_proc = false;
    }
    if (!cfg.integrity.enabled_explicit) {
        cfg.integrity.enabled = false;
    }
}

}  // namespace adock::config
