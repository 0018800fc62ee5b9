// SPDX-License-Identifier: Apache-2.0
// One entry of `outputs:`: its type, the settings each type takes, secrets given inline, in a
// file or in the environment, and the checks of what the entry needs.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/config_detail.hpp"
#include "config/output_kind.hpp"
#include "config/yaml_util.hpp"
#include "util/bytes.hpp"

namespace adock::config {

using detail::read_file;

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

/// Every type's name, as the messages about a missing or unknown type list them.
std::string type_list() {
    std::string out;
    for (const OutputKind& k : kOutputKinds) {
        out += (out.empty() ? "" : ", ") + std::string(k.name);
    }
    return out;
}

/// librdkafka properties a kafka output sets itself: its guarantees (idempotence, acks, the
/// delivery-report timeout) and what has its own key, secrets above all.
constexpr std::array<const char*, 14> kKafkaOwnProperties{"bootstrap.servers",
                                                          "metadata.broker.list",
                                                          "enable.idempotence",
                                                          "acks",
                                                          "request.required.acks",
                                                          "message.timeout.ms",
                                                          "delivery.timeout.ms",
                                                          "client.id",
                                                          "security.protocol",
                                                          "sasl.mechanism",
                                                          "sasl.mechanisms",
                                                          "sasl.username",
                                                          "sasl.password",
                                                          "ssl.key.password"};
constexpr std::size_t kKafkaMaxProperties = 64;

/// OTLP/HTTP: a URL without a path is the collector's base (OTEL_EXPORTER_OTLP_ENDPOINT) and gets
/// the logs path; a URL with one is used as it is (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT).
std::string otlp_logs_url(const std::string& url) {
    const std::size_t authority = url.find("://");
    if (authority == std::string::npos) {
        return url;
    }
    const std::size_t rest = url.find_first_of("/?#", authority + 3);
    if (rest == std::string::npos) {
        return url + "/v1/logs";
    }
    if (url[rest] != '/') {
        return url.substr(0, rest) + "/v1/logs" + url.substr(rest);
    }
    if (rest + 1 == url.size() || url[rest + 1] == '?' || url[rest + 1] == '#') {
        return url.substr(0, rest) + "/v1/logs" + url.substr(rest + 1);
    }
    return url;
}

std::optional<unsigned> facility_code(const std::string& name) {
    static const std::map<std::string, unsigned> kFacilities{
        {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
        {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
        {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
        {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};
    const auto it = kFacilities.find(name);
    if (it == kFacilities.end()) {
        return std::nullopt;
    }
    return it->second;
}

/// The content of a secret file, trimmed; a ConfigError naming the file (never its content).
std::string secret_from_file(const YamlReader& r,
                             const YAML::Node& n,
                             const std::string& output,
                             const std::string& what,
                             const std::string& path) {
    try {
        return trim(read_file(path));
    } catch (const ConfigError&) {
        r.fail(n, "output '" + output + "': " + what + ": cannot read " + path);
    }
}

/// An environment variable's value, trimmed; a ConfigError when it is unset or empty.
std::string secret_from_env(const YamlReader& r,
                            const YAML::Node& n,
                            const std::string& output,
                            const std::string& what,
                            const std::string& var) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in the plugin sets the environment.
    const char* e = std::getenv(var.c_str());
    if (e == nullptr || *e == '\0') {
        r.fail(n,
               "output '" + output + "': " + what + ": environment variable " + var +
                   " is not set (auditd starts plugins with an empty environment: prefer a file)");
    }
    return trim(e);
}

/// A value given inline (`key`), in a file (`key_file`) or in the environment (`key_env`): at
/// most one of the three. Used for URLs (they often embed a token) and API keys.
struct SecretSource {
    std::optional<std::string> value;
    std::optional<std::string> file;
    std::optional<std::string> env;

    void add_handlers(std::map<std::string, std::function<void(const YAML::Node&)>>& h,
                      const YamlReader& r,
                      const std::string& key) {
        h[key] = [this, &r, key](const YAML::Node& v) { value = r.str(v, key); };
        h[key + "_file"] = [this, &r, key](const YAML::Node& v) { file = r.str(v, key + "_file"); };
        h[key + "_env"] = [this, &r, key](const YAML::Node& v) { env = r.str(v, key + "_env"); };
    }

    /// The value, or `fallback` when none is given. Errors never include the value itself.
    std::string resolve(const YamlReader& r,
                        const YAML::Node& n,
                        const std::string& output,
                        const std::string& key,
                        const std::string& fallback = {}) const {
        const int given = (value ? 1 : 0) + (file ? 1 : 0) + (env ? 1 : 0);
        if (given > 1) {
            r.fail(n,
                   "output '" + output + "': give one of '" + key + "', '" + key + "_file', '" +
                       key + "_env'");
        }
        if (value) {
            return *value;
        }
        if (file) {
            return secret_from_file(r, n, output, key + "_file", *file);
        }
        if (env) {
            return secret_from_env(r, n, output, key + "_env", *env);
        }
        return fallback;
    }
};

using Handlers = std::map<std::string, std::function<void(const YAML::Node&)>>;

/// What the mapping gave that validate() resolves once the whole entry is read: secrets are
/// read from their files and the environment only then.
struct Pending {
    SecretSource url;
    SecretSource secret;
    std::map<std::string, std::string> headers_env;
    std::map<std::string, std::string> headers_file;
    std::optional<std::string> sasl_password_file;
};

void string_map(const YamlReader& r,
                const YAML::Node& v,
                const std::string& what,
                std::map<std::string, std::string>& out) {
    if (!v.IsMap()) {
        r.fail(v, what + ": expected a mapping of name: value");
    }
    for (const auto& kv : v) {
        out[kv.first.Scalar()] = r.str(kv.second, what);
    }
}

/// The keys every type takes: name, severity, queue, routing, dedup and rate limit.
Handlers common_keys(const YamlReader& r, OutputConfig& o) {
    return {
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
         [&](const YAML::Node& v) {
             o.queue_size = r.integer<std::size_t>(v, "queue_size", 1, 1000000);
         }},
        {"include_rules",
         [&](const YAML::Node& v) { o.include_rules = r.str_list(v, "include_rules"); }},
        {"exclude_rules",
         [&](const YAML::Node& v) { o.exclude_rules = r.str_list(v, "exclude_rules"); }},
        {"include_tags",
         [&](const YAML::Node& v) { o.include_tags = r.str_list(v, "include_tags"); }},
        {"exclude_tags",
         [&](const YAML::Node& v) { o.exclude_tags = r.str_list(v, "exclude_tags"); }},
        {"dedup_window_s",
         [&](const YAML::Node& v) {
             o.dedup_window_s = r.integer<unsigned>(v, "dedup_window_s", 0, 86400);
         }},
        {"rate_limit",
         [&](const YAML::Node& v) {
             o.rate_limit = r.integer<unsigned>(v, "rate_limit", 0, 1000000);
         }},
        {"rate_window_s",
         [&](const YAML::Node& v) {
             o.rate_window_s = r.integer<unsigned>(v, "rate_window_s", 1, 86400);
         }},
    };
}

void add_file_keys(Handlers& h, const YamlReader& r, OutputConfig& o) {
    h["path"] = [&](const YAML::Node& v) { o.path = r.str(v, "path"); };
    h["max_size_mb"] = [&](const YAML::Node& v) {
        o.max_size_bytes =
            r.integer<std::uint64_t>(v, "max_size_mb", 1, std::uint64_t{1024} * 1024) * util::kMiB;
    };
    h["generations"] = [&](const YAML::Node& v) {
        o.generations = r.integer<unsigned>(v, "generations", 0, 100);
    };
}

/// Timeouts, retries, backoff and the spool.
void add_delivery_keys(Handlers& h, const YamlReader& r, OutputConfig& o) {
    h["connect_timeout_ms"] = [&](const YAML::Node& v) {
        o.connect_timeout_ms = r.integer<unsigned>(v, "connect_timeout_ms", 1, 600000);
    };
    h["timeout_ms"] = [&](const YAML::Node& v) {
        o.timeout_ms = r.integer<unsigned>(v, "timeout_ms", 1, 600000);
    };
    h["retries"] = [&](const YAML::Node& v) {
        o.retries = r.integer<unsigned>(v, "retries", 0, 100);
    };
    h["backoff_initial_ms"] = [&](const YAML::Node& v) {
        o.backoff_initial_ms = r.integer<unsigned>(v, "backoff_initial_ms", 1, 600000);
    };
    h["backoff_max_ms"] = [&](const YAML::Node& v) {
        o.backoff_max_ms = r.integer<unsigned>(v, "backoff_max_ms", 1, 3600000);
    };
    h["spool"] = [&](const YAML::Node& v) { o.spool = r.boolean(v, "spool"); };
    h["spool_max_mb"] = [&](const YAML::Node& v) {
        o.spool_max_bytes =
            r.integer<std::uint64_t>(v, "spool_max_mb", 1, std::uint64_t{1024} * 1024) * util::kMiB;
    };
}

/// The url (inline, in a file or in the environment), headers and the proxy.
void add_http_keys(Handlers& h, const YamlReader& r, OutputConfig& o, Pending& p) {
    p.url.add_handlers(h, r, "url");
    h["headers"] = [&](const YAML::Node& v) { string_map(r, v, "headers", o.headers); };
    h["headers_env"] = [&](const YAML::Node& v) { string_map(r, v, "headers_env", p.headers_env); };
    h["headers_file"] = [&](const YAML::Node& v) {
        string_map(r, v, "headers_file", p.headers_file);
    };
    h["proxy"] = [&](const YAML::Node& v) { o.proxy = r.str(v, "proxy"); };
}

void add_tls_keys(Handlers& h, const YamlReader& r, OutputConfig& o) {
    h["tls_verify"] = [&](const YAML::Node& v) { o.tls_verify = r.boolean(v, "tls_verify"); };
    h["ca_file"] = [&](const YAML::Node& v) { o.ca_file = r.str(v, "ca_file"); };
    h["client_cert"] = [&](const YAML::Node& v) { o.client_cert = r.str(v, "client_cert"); };
    h["client_key"] = [&](const YAML::Node& v) { o.client_key = r.str(v, "client_key"); };
}

void add_kafka_keys(Handlers& h, const YamlReader& r, OutputConfig& o, Pending& p) {
    h["brokers"] = [&](const YAML::Node& v) {
        if (v.IsSequence()) {
            for (const auto& b : r.str_list(v, "brokers")) {
                o.brokers += (o.brokers.empty() ? "" : ",") + b;
            }
        } else {
            o.brokers = r.str(v, "brokers");
        }
    };
    h["topic"] = [&](const YAML::Node& v) { o.topic = r.str(v, "topic"); };
    h["client_id"] = [&](const YAML::Node& v) { o.client_id = r.str(v, "client_id"); };
    h["security_protocol"] = [&](const YAML::Node& v) {
        o.security_protocol = r.str(v, "security_protocol");
        static const std::set<std::string> kProtocols{
            "plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
        if (!kProtocols.contains(o.security_protocol)) {
            r.fail(v, "security_protocol: expected plaintext, ssl, sasl_plaintext or sasl_ssl");
        }
    };
    h["sasl_mechanism"] = [&](const YAML::Node& v) {
        o.sasl_mechanism = r.str(v, "sasl_mechanism");
        static const std::set<std::string> kMechanisms{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
        if (!kMechanisms.contains(o.sasl_mechanism)) {
            r.fail(v, "sasl_mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
        }
    };
    h["sasl_username"] = [&](const YAML::Node& v) { o.sasl_username = r.str(v, "sasl_username"); };
    h["sasl_password_file"] = [&](const YAML::Node& v) {
        p.sasl_password_file = r.str(v, "sasl_password_file");
    };
    h["queue_max_messages"] = [&](const YAML::Node& v) {
        o.kafka_queue_messages = r.integer<unsigned>(v, "queue_max_messages", 1, 10000000);
    };
    h["queue_max_kbytes"] = [&](const YAML::Node& v) {
        o.kafka_queue_kbytes = r.integer<unsigned>(v, "queue_max_kbytes", 1, 2097151);
    };
    h["properties"] = [&](const YAML::Node& v) {
        string_map(r, v, "properties", o.kafka_properties);
        if (o.kafka_properties.size() > kKafkaMaxProperties) {
            r.fail(v, "properties: at most " + std::to_string(kKafkaMaxProperties) + " entries");
        }
        for (const auto& [key, value] : o.kafka_properties) {
            // An init-capture: clang 14 (the fuzz build) cannot capture a structured binding.
            if (std::find_if(kKafkaOwnProperties.begin(),
                             kKafkaOwnProperties.end(),
                             [&name = key](const char* k) { return name == k; }) !=
                kKafkaOwnProperties.end()) {
                r.fail(
                    v,
                    "properties: '" + key + "' is set by the output itself (or has its own key)");
            }
            if (key.starts_with("test.") || key == "transactional.id") {
                // test.mock.*: an in-process mock cluster would take (and lose) every alert;
                // transactions need a protocol this output does not run.
                r.fail(v, "properties: '" + key + "' is not supported by this output");
            }
            if (key.find("password") != std::string::npos ||
                key.find("secret") != std::string::npos || key.ends_with(".pem") ||
                key.find("sasl.oauthbearer") != std::string::npos) {
                r.fail(v, "properties: '" + key + "' would put a secret in the configuration file");
            }
        }
    };
}

void add_syslog_keys(Handlers& h, const YamlReader& r, OutputConfig& o) {
    h["address"] = [&](const YAML::Node& v) { o.address = r.str(v, "address"); };
    h["facility"] = [&](const YAML::Node& v) {
        const auto f = facility_code(r.str(v, "facility"));
        if (!f) {
            r.fail(v,
                   "facility: expected a syslog facility name (authpriv, daemon, local0 .. local7, "
                   "...)");
        }
        o.facility = *f;
    };
    h["app_name"] = [&](const YAML::Node& v) {
        o.app_name = r.str(v, "app_name");
        if (o.app_name.empty() || o.app_name.size() > 48 ||
            !std::all_of(
                o.app_name.begin(), o.app_name.end(), [](char c) { return c > 32 && c < 127; })) {
            r.fail(v, "app_name: 1 to 48 printable ASCII characters without spaces");
        }
    };
}

/// The keys an entry of kind `k` takes. The handlers write to `o` and `p`, which outlive them.
Handlers keys_of(const OutputKind& k, const YamlReader& r, OutputConfig& o, Pending& p) {
    Handlers h = common_keys(r, o);
    if (k.type == OutputType::File) {
        add_file_keys(h, r, o);
    }
    if (k.delivering) {
        add_delivery_keys(h, r, o);
    }
    if (k.http) {
        add_http_keys(h, r, o, p);
    }
    if (k.tls) {
        add_tls_keys(h, r, o);
    }
    if (!k.secret_key.empty()) {
        p.secret.add_handlers(h, r, std::string(k.secret_key));
    }
    if (k.type == OutputType::Kafka) {
        add_kafka_keys(h, r, o, p);
    }
    if (k.type == OutputType::Syslog) {
        add_syslog_keys(h, r, o);
    }
    return h;
}

/// What an entry of kind `k` needs once all its keys are read; resolves its url, headers and
/// secrets from `p`. Errors are at the entry `n`.
void validate(const YamlReader& r,
              const YAML::Node& n,
              const OutputKind& k,
              OutputConfig& o,
              const Pending& p) {
    if (!std::all_of(o.name.begin(),
                     o.name.end(),
                     [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' ||
                                c == '_' || c == '.';
                     }) ||
        o.name.front() == '.') {
        r.fail(n,
               "output '" + o.name +
                   "': a name is letters, digits, '-', '_' and '.' (it names the spool)");
    }
    if (k.type == OutputType::File && o.path.empty()) {
        r.fail(n, "output '" + o.name + "': a file output needs 'path'");
    }
    if (k.http) {
        o.url = p.url.resolve(r, n, o.name, "url", std::string(k.default_url));
        if (o.url.empty()) {
            r.fail(n,
                   "output '" + o.name + "': a " + std::string(k.name) +
                       " output needs 'url', 'url_file' or 'url_env'");
        }
        if (!o.url.starts_with("http://") && !o.url.starts_with("https://")) {
            r.fail(n, "output '" + o.name + "': url must start with http:// or https://");
        }
        if (k.type == OutputType::Otlp) {
            o.url = otlp_logs_url(o.url);
        }
        for (const auto& [key, var] : p.headers_env) {
            o.headers[key] = secret_from_env(r, n, o.name, "headers_env", var);
        }
        for (const auto& [key, path] : p.headers_file) {
            o.headers[key] = secret_from_file(r, n, o.name, "headers_file", path);
        }
    }
    if (k.tls && !o.client_key.empty() && o.client_cert.empty()) {
        r.fail(n, "output '" + o.name + "': client_key needs client_cert");
    }
    if (!k.secret_key.empty()) {
        const std::string key(k.secret_key);
        o.secret = p.secret.resolve(r, n, o.name, key);
        if (o.secret.empty()) {
            r.fail(n,
                   "output '" + o.name + "': needs '" + key + "', '" + key + "_file' or '" + key +
                       "_env'");
        }
        if (o.secret.find_first_of(std::string_view("\"\\\r\n\0", 5)) != std::string::npos) {
            r.fail(n,
                   "output '" + o.name + "': " + key + " holds a quote, backslash or line break");
        }
    }
    if (k.type == OutputType::Kafka) {
        if (o.brokers.empty() || o.topic.empty()) {
            r.fail(n, "output '" + o.name + "': a kafka output needs 'brokers' and 'topic'");
        }
        if (p.sasl_password_file) {
            o.sasl_password =
                secret_from_file(r, n, o.name, "sasl_password_file", *p.sasl_password_file);
        }
        const bool sasl = o.security_protocol.starts_with("sasl_");
        if (sasl &&
            (o.sasl_mechanism.empty() || o.sasl_username.empty() || o.sasl_password.empty())) {
            r.fail(n,
                   "output '" + o.name + "': security_protocol " + o.security_protocol +
                       " needs sasl_mechanism, sasl_username and sasl_password_file");
        }
        if (!sasl &&
            (!o.sasl_mechanism.empty() || !o.sasl_username.empty() || p.sasl_password_file)) {
            r.fail(n,
                   "output '" + o.name +
                       "': SASL settings need security_protocol sasl_plaintext or sasl_ssl");
        }
    }
    if (k.type == OutputType::Syslog) {
        const auto& a = o.address;
        if (!(a.starts_with("unix:/") || a.starts_with("udp:") || a.starts_with("tcp:"))) {
            r.fail(n,
                   "output '" + o.name +
                       "': address: expected unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT");
        }
    }
    if (k.delivering && o.backoff_max_ms < o.backoff_initial_ms) {
        r.fail(n, "output '" + o.name + "': backoff_max_ms is below backoff_initial_ms");
    }
}

}  // namespace

namespace detail {

OutputConfig parse_output(const YamlReader& r, const YAML::Node& n) {
    if (!n.IsMap()) {
        r.fail(n, "outputs: each entry must be a mapping");
    }
    if (!n["type"]) {
        r.fail(n, "outputs: entry needs a 'type' (" + type_list() + ")");
    }
    const std::string type = r.str(n["type"], "type");
    const OutputKind* kind = kind_named(type);
    if (kind == nullptr) {
        r.fail(n["type"], "unknown output type '" + type + "' (" + type_list() + ")");
    }
    OutputConfig o;
    o.type = kind->type;
    o.dedup_window_s = kind->default_dedup_s;
    Pending pending;
    const Handlers h = keys_of(*kind, r, o, pending);
    r.mapping(n, "output '" + type + "'", h);
    if (o.name.empty()) {
        o.name = type;
    }
    validate(r, n, *kind, o, pending);
    return o;
}

}  // namespace detail

}  // namespace adock::config
