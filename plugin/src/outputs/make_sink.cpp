// SPDX-License-Identifier: Apache-2.0
#include <memory>
#include <string>

#include "config/config.hpp"
#include "outputs/file_sink.hpp"
#include "outputs/sink.hpp"
#include "outputs/slack.hpp"
#include "outputs/stdout_sink.hpp"
#include "outputs/webhook_sink.hpp"

namespace adock::outputs {
namespace {

[[noreturn]] void fail(const config::OutputConfig& cfg, const std::string& msg) {
    throw config::ConfigError("", 0, 0, "output '" + cfg.name + "': " + msg);
}

}  // namespace

std::unique_ptr<Sink> make_sink(const config::OutputConfig& cfg) {
    if (cfg.queue_size == 0) {
        fail(cfg, "queue_size must be at least 1");
    }
    switch (cfg.type) {
        case config::OutputType::File:
            if (cfg.path.empty()) {
                fail(cfg, "a file output needs a path");
            }
            return std::make_unique<FileSink>(cfg);
        case config::OutputType::Stdout:
            return std::make_unique<StdoutSink>(cfg);
        case config::OutputType::Webhook:
        case config::OutputType::Slack:
            if (cfg.url.empty()) {
                fail(cfg, "a webhook output needs a url");
            }
            if (cfg.timeout_ms == 0 || cfg.connect_timeout_ms == 0) {
                fail(cfg, "timeout_ms and connect_timeout_ms must be positive");
            }
            if (cfg.backoff_initial_ms > cfg.backoff_max_ms) {
                fail(cfg, "backoff_initial_ms must not exceed backoff_max_ms");
            }
            if (cfg.type == config::OutputType::Slack) {
                return std::make_unique<WebhookSink>(cfg, &slack_payload);
            }
            return std::make_unique<WebhookSink>(cfg);
    }
    fail(cfg, "unknown output type");
}

}  // namespace adock::outputs
