// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "outputs/alert_payload.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/file_sink.hpp"
#include "outputs/http_transport.hpp"
#include "outputs/kafka.hpp"
#include "outputs/otlp.hpp"
#include "outputs/sink.hpp"
#include "outputs/stdout_sink.hpp"
#include "outputs/syslog.hpp"
#include "util/json.hpp"

namespace adock::outputs {
namespace {

[[noreturn]] void fail(const config::OutputConfig& cfg, const std::string& msg) {
    throw config::ConfigError("", 0, 0, "output '" + cfg.name + "': " + msg);
}

/// The payload of an HTTP output: its type's payload of the alert, else the alert contract as it
/// is.
DeliverySink::Formatter http_formatter(config::OutputType t) {
    if (const AlertPayload fn = alert_payload_of(t)) {
        return [fn](const AlertMessage& m) { return fn(*m.alert); };
    }
    return [](const AlertMessage& m) { return *m.json; };
}

}  // namespace

std::unique_ptr<Sink> make_sink(const config::OutputConfig& cfg) {
    if (cfg.queue_size == 0) {
        fail(cfg, "queue_size must be at least 1");
    }
    if (config::is_delivery(cfg.type)) {
        if (cfg.timeout_ms == 0 || cfg.connect_timeout_ms == 0) {
            fail(cfg, "timeout_ms and connect_timeout_ms must be positive");
        }
        if (cfg.backoff_initial_ms > cfg.backoff_max_ms) {
            fail(cfg, "backoff_initial_ms must not exceed backoff_max_ms");
        }
    }
    switch (cfg.type) {
        case config::OutputType::File:
            if (cfg.path.empty()) {
                fail(cfg, "a file output needs a path");
            }
            return std::make_unique<FileSink>(cfg);
        case config::OutputType::Stdout:
            return std::make_unique<StdoutSink>(cfg);
        case config::OutputType::Syslog: {
            auto transport = std::make_unique<SyslogTransport>(cfg);
            const std::size_t max = transport->max_message();
            DeliverySink::Formatter format =
                [facility = cfg.facility, app = cfg.app_name, max](const AlertMessage& m) {
                    return syslog_message(m, facility, app, max);
                };
            return std::make_unique<DeliverySink>(cfg, std::move(transport), std::move(format));
        }
        case config::OutputType::Otlp: {
            if (cfg.url.empty()) {
                fail(cfg, "an otlp output needs a url");
            }
            DeliverySink::Formatter format = [](const AlertMessage& m) {
                // Observed when this output's worker takes it (what the spool then keeps).
                const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch());
                return otlp_logs_payload(*m.alert, *m.json, static_cast<std::int64_t>(now.count()));
            };
            return std::make_unique<DeliverySink>(
                cfg, std::make_unique<OtlpTransport>(cfg), std::move(format));
        }
        case config::OutputType::Kafka: {
            if (cfg.brokers.empty() || cfg.topic.empty()) {
                fail(cfg, "a kafka output needs brokers and a topic");
            }
            DeliverySink::Formatter format = [](const AlertMessage& m) {
                return kafka_record(kafka_key(*m.alert), *m.json);  // the key travels in the spool
            };
            return std::make_unique<DeliverySink>(
                cfg, std::make_unique<KafkaTransport>(cfg), std::move(format));
        }
        case config::OutputType::Webhook:
        case config::OutputType::Slack:
        case config::OutputType::Teams:
        case config::OutputType::Discord:
        case config::OutputType::PagerDuty:
        case config::OutputType::Opsgenie:
        case config::OutputType::Falco: {
            if (cfg.url.empty()) {
                fail(cfg, "an HTTP output needs a url");
            }
            config::OutputConfig http = cfg;
            std::string splice;
            if (cfg.type == config::OutputType::PagerDuty) {
                if (cfg.secret.empty()) {
                    fail(cfg, "a pagerduty output needs a routing_key");
                }
                // In the body, but only on the wire: the spool keeps the payload without it.
                splice = "\"routing_key\":\"";
                util::json_escape_into(splice, cfg.secret);
                splice += "\",";
            } else if (cfg.type == config::OutputType::Opsgenie) {
                if (cfg.secret.empty()) {
                    fail(cfg, "an opsgenie output needs an api_key");
                }
                http.headers["Authorization"] = "GenieKey " + cfg.secret;
            }
            auto transport = std::make_unique<HttpTransport>(http, std::move(splice));
            return std::make_unique<DeliverySink>(
                cfg, std::move(transport), http_formatter(cfg.type));
        }
    }
    fail(cfg, "unknown output type");
}

}  // namespace adock::outputs
