// SPDX-License-Identifier: Apache-2.0
// What each output type is: one descriptor per type, the one place its name, its transport and
// its defaults are written down. The payload each type sends is the outputs' side
// (outputs/alert_payload.hpp): config does not depend on outputs.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace adock::config {

enum class OutputType {
    File,
    Webhook,
    Stdout,
    Slack,
    Teams,
    Discord,
    PagerDuty,
    Opsgenie,
    Falco,
    Syslog,
    Otlp,
    Kafka
};

/// One output type.
struct OutputKind {
    OutputType type;
    /// Its `type:` in the configuration file, in messages and in spool directory names. A
    /// string literal: data() is a C string.
    std::string_view name;
    /// Delivered by HTTP POST (url, headers, timeouts, TLS, proxy).
    bool http;
    /// Has a delivery worker: retries, backoff and a disk spool.
    bool delivering;
    /// Takes tls_verify, ca_file, client_cert and client_key.
    bool tls;
    /// The url when none is given; "": the entry must give one (HTTP types only).
    std::string_view default_url;
    /// dedup_window_s when none is given. Chat and pager outputs page humans: repeats of one
    /// incident are folded by default.
    unsigned default_dedup_s;
    /// The key of the secret it needs (also as `<key>_file`, `<key>_env`); "": none.
    std::string_view secret_key;
};

/// In the order of OutputType (kind_of indexes it).
inline constexpr std::array<OutputKind, 12> kOutputKinds{{
    {OutputType::File, "file", false, false, false, "", 0, ""},
    {OutputType::Webhook, "webhook", true, true, true, "", 0, ""},
    {OutputType::Stdout, "stdout", false, false, false, "", 0, ""},
    {OutputType::Slack, "slack", true, true, true, "", 60, ""},
    {OutputType::Teams, "teams", true, true, true, "", 60, ""},
    {OutputType::Discord, "discord", true, true, true, "", 60, ""},
    {OutputType::PagerDuty,
     "pagerduty",
     true,
     true,
     true,
     "https://events.pagerduty.com/v2/enqueue",
     60,
     "routing_key"},
    {OutputType::Opsgenie,
     "opsgenie",
     true,
     true,
     true,
     "https://api.opsgenie.com/v2/alerts",
     60,
     "api_key"},
    {OutputType::Falco, "falco", true, true, true, "", 0, ""},
    {OutputType::Syslog, "syslog", false, true, false, "", 0, ""},
    // OpenTelemetry's default OTLP/HTTP endpoint.
    {OutputType::Otlp, "otlp", true, true, true, "http://localhost:4318/v1/logs", 0, ""},
    {OutputType::Kafka, "kafka", false, true, true, "", 0, ""},
}};

namespace detail {

[[nodiscard]] constexpr bool kinds_in_enum_order() {
    for (std::size_t i = 0; i < kOutputKinds.size(); ++i) {
        if (static_cast<std::size_t>(kOutputKinds[i].type) != i) {
            return false;
        }
    }
    return true;
}

}  // namespace detail

static_assert(detail::kinds_in_enum_order(),
              "kOutputKinds must list the types in the order of OutputType");

/// The descriptor of `t` (an enumerator of OutputType).
[[nodiscard]] constexpr const OutputKind& kind_of(OutputType t) {
    return kOutputKinds[static_cast<std::size_t>(t)];
}

/// The descriptor whose name is `name`; nullptr when no type has it.
[[nodiscard]] constexpr const OutputKind* kind_named(std::string_view name) {
    for (const OutputKind& k : kOutputKinds) {
        if (k.name == name) {
            return &k;
        }
    }
    return nullptr;
}

[[nodiscard]] const char* output_type_name(OutputType t);

/// Types delivered by HTTP POST (url, timeouts, TLS, proxy).
[[nodiscard]] constexpr bool is_http(OutputType t) {
    return kind_of(t).http;
}

/// Types with a delivery worker: retries, backoff and a disk spool.
[[nodiscard]] constexpr bool is_delivery(OutputType t) {
    return kind_of(t).delivering;
}

}  // namespace adock::config
