// SPDX-License-Identifier: Apache-2.0
#include "config/config.hpp"

#include <algorithm>
#include <cctype>

#include <fstream>
#include <set>
#include <sstream>

#include "config/yaml_util.hpp"

namespace adock::config {

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
        throw ConfigError(file, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
}

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(path, 0, 0, "cannot read file");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

OutputConfig parse_output(const YamlReader& r, const YAML::Node& n) {
    OutputConfig o;
    if (!n.IsMap()) {
        r.fail(n, "outputs: each entry must be a mapping");
    }
    if (!n["type"]) {
        r.fail(n, "outputs: entry needs a 'type' (file, webhook, slack, stdout)");
    }
    const std::string type = r.str(n["type"], "type");
    if (type == "file") {
        o.type = OutputType::File;
    } else if (type == "webhook") {
        o.type = OutputType::Webhook;
    } else if (type == "slack") {
        o.type = OutputType::Slack;
    } else if (type == "stdout") {
        o.type = OutputType::Stdout;
    } else {
        r.fail(n["type"], "unknown output type '" + type + "' (file, webhook, slack, stdout)");
    }
    std::string url_file;
    std::map<std::string, std::function<void(const YAML::Node&)>> h{
        {"name", [&](const YAML::Node& v) { o.name = r.str(v, "name"); }},
        {"type", [](const YAML::Node&) {}},
        {"min_severity",
         [&](const YAML::Node& v) {
             auto s = parse_severity(r.str(v, "min_severity"));
             if (!s) {
                 r.fail(v, "min_severity: expected critical, high, medium, low or info");
             }
             o.min_severity = *s;
         }},
        {"queue_size",
         [&](const YAML::Node& v) { o.queue_size = r.integer<std::size_t>(v, "queue_size", 1, 1000000); }},
    };
    if (o.type == OutputType::File) {
        h["path"] = [&](const YAML::Node& v) { o.path = r.str(v, "path"); };
        h["max_size_mb"] = [&](const YAML::Node& v) {
            o.max_size_bytes = r.integer<std::uint64_t>(v, "max_size_mb", 1, 1024 * 1024) * 1024 * 1024;
        };
        h["generations"] = [&](const YAML::Node& v) {
            o.generations = r.integer<unsigned>(v, "generations", 0, 100);
        };
    }
    if (is_http(o.type)) {
        h["url"] = [&](const YAML::Node& v) { o.url = r.str(v, "url"); };
        h["url_file"] = [&](const YAML::Node& v) { url_file = r.str(v, "url_file"); };
        h["headers"] = [&](const YAML::Node& v) {
            if (!v.IsMap()) {
                r.fail(v, "headers: expected a mapping of name: value");
            }
            for (const auto& kv : v) {
                o.headers[kv.first.Scalar()] = r.str(kv.second, "headers");
            }
        };
        h["connect_timeout_ms"] = [&](const YAML::Node& v) {
            o.connect_timeout_ms = r.integer<unsigned>(v, "connect_timeout_ms", 1, 600000);
        };
        h["timeout_ms"] = [&](const YAML::Node& v) {
            o.timeout_ms = r.integer<unsigned>(v, "timeout_ms", 1, 600000);
        };
        h["retries"] = [&](const YAML::Node& v) { o.retries = r.integer<unsigned>(v, "retries", 0, 100); };
        h["backoff_initial_ms"] = [&](const YAML::Node& v) {
            o.backoff_initial_ms = r.integer<unsigned>(v, "backoff_initial_ms", 1, 600000);
        };
        h["backoff_max_ms"] = [&](const YAML::Node& v) {
            o.backoff_max_ms = r.integer<unsigned>(v, "backoff_max_ms", 1, 3600000);
        };
        h["tls_verify"] = [&](const YAML::Node& v) { o.tls_verify = r.boolean(v, "tls_verify"); };
        h["ca_file"] = [&](const YAML::Node& v) { o.ca_file = r.str(v, "ca_file"); };
        h["proxy"] = [&](const YAML::Node& v) { o.proxy = r.str(v, "proxy"); };
    }
    r.mapping(n, "output '" + type + "'", h);
    if (o.name.empty()) {
        o.name = type;
    }
    if (o.type == OutputType::File && o.path.empty()) {
        r.fail(n, "output '" + o.name + "': a file output needs 'path'");
    }
    if (is_http(o.type)) {
        if (!url_file.empty()) {
            if (!o.url.empty()) {
                r.fail(n, "output '" + o.name + "': give 'url' or 'url_file', not both");
            }
            try {
                o.url = trim(read_file(url_file));
            } catch (const ConfigError&) {
                r.fail(n, "output '" + o.name + "': cannot read url_file " + url_file);
            }
        }
        if (o.url.empty()) {
            r.fail(n, "output '" + o.name + "': a webhook output needs 'url' or 'url_file'");
        }
        if (!o.url.starts_with("http://") && !o.url.starts_with("https://")) {
            r.fail(n, "output '" + o.name + "': url must start with http:// or https://");
        }
        if (o.backoff_max_ms < o.backoff_initial_ms) {
            r.fail(n, "output '" + o.name + "': backoff_max_ms is below backoff_initial_ms");
        }
    }
    return o;
}

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
            {"rules_dir", [&](const YAML::Node& v) { c.rules_dir = r.str(v, "rules_dir"); }},
            {"state_file", [&](const YAML::Node& v) { c.state_file = r.str(v, "state_file"); }},
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
            {"shutdown_timeout_ms",
             [&](const YAML::Node& v) {
                 c.shutdown_timeout_ms = r.integer<unsigned>(v, "shutdown_timeout_ms", 0, 600000);
             }},
            {"proc_root", [&](const YAML::Node& v) { c.proc_root = r.str(v, "proc_root"); }},
            {"containerd_state_dir",
             [&](const YAML::Node& v) { c.containerd_state_dir = r.str(v, "containerd_state_dir"); }},
            {"docker_containers_dir",
             [&](const YAML::Node& v) { c.docker_containers_dir = r.str(v, "docker_containers_dir"); }},
            {"engine",
             [&](const YAML::Node& v) {
                 r.mapping(v,
                           "engine",
                           {{"input_queue_mb",
                             [&](const YAML::Node& x) {
                                 c.engine.input_queue_mb = r.integer<unsigned>(x, "input_queue_mb", 1, 4096);
                             }},
                            {"eoe_timeout_ms",
                             [&](const YAML::Node& x) {
                                 c.engine.eoe_timeout_ms = r.integer<unsigned>(x, "eoe_timeout_ms", 100, 60000);
                             }},
                            {"max_pending_events", [&](const YAML::Node& x) {
                                 c.engine.max_pending_events =
                                     r.integer<std::size_t>(x, "max_pending_events", 16, 1000000);
                             }}});
             }},
            {"processes",
             [&](const YAML::Node& v) {
                 r.mapping(v,
                           "processes",
                           {{"max_entries",
                             [&](const YAML::Node& x) {
                                 c.processes.max_entries = r.integer<std::size_t>(x, "max_entries", 256, 10000000);
                             }},
                            {"ancestry_depth",
                             [&](const YAML::Node& x) {
                                 c.processes.ancestry_depth = r.integer<unsigned>(x, "ancestry_depth", 1, 64);
                             }},
                            {"use_proc", [&](const YAML::Node& x) {
                                 c.processes.use_proc = r.boolean(x, "use_proc");
                             }}});
             }},
            {"integrity",
             [&](const YAML::Node& v) {
                 r.mapping(v,
                           "integrity",
                           {{"enabled", [&](const YAML::Node& x) { c.integrity.enabled = r.boolean(x, "enabled"); }},
                            {"state_file", [&](const YAML::Node& x) { c.integrity.state_file = r.str(x, "state_file"); }},
                            {"dpkg_info_dir",
                             [&](const YAML::Node& x) { c.integrity.dpkg_info_dir = r.str(x, "dpkg_info_dir"); }},
                            {"queue_size",
                             [&](const YAML::Node& x) {
                                 c.integrity.queue_size = r.integer<std::size_t>(x, "queue_size", 16, 1000000);
                             }},
                            {"max_file_mb",
                             [&](const YAML::Node& x) {
                                 c.integrity.max_file_mb = r.integer<unsigned>(x, "max_file_mb", 1, 65536);
                             }},
                            {"files", [&](const YAML::Node& x) { c.integrity.files = r.str_list(x, "files"); }},
                            {"dirs", [&](const YAML::Node& x) { c.integrity.dirs = r.str_list(x, "dirs"); }},
                            {"scan_interval_s",
                             [&](const YAML::Node& x) {
                                 c.integrity.scan_interval_s = r.integer<unsigned>(x, "scan_interval_s", 0, 604800);
                             }},
                            {"scan_rate_mb_s",
                             [&](const YAML::Node& x) {
                                 c.integrity.scan_rate_mb_s = r.integer<unsigned>(x, "scan_rate_mb_s", 1, 100000);
                             }},
                            {"allowlist", [&](const YAML::Node& x) {
                                 c.integrity.allowlist = r.str_list(x, "allowlist");
                                 for (auto& h : c.integrity.allowlist) {
                                     std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) {
                                         return static_cast<char>(std::tolower(ch));
                                     });
                                     if (h.size() != 64 || h.find_first_not_of("0123456789abcdef") != std::string::npos) {
                                         r.fail(x, "allowlist: '" + h + "' is not a sha256 (64 hex digits)");
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
    return c;
}

}  // namespace

Config load_config_string(const std::string& text, const std::string& name) {
    return parse_config(parse_yaml(text, name), name);
}

Config load_config_file(const std::string& path) {
    return load_config_string(read_file(path), path);
}

}  // namespace adock::config
