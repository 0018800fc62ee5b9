// SPDX-License-Identifier: Apache-2.0
// The audit stream as the engine sees it: bytes -> framer -> libauparse -> Event -> engine with
// the shipped rules (conf/rules) -> every output format. Oracles: no crash, no sanitizer report,
// every payload valid UTF-8, the file and syslog forms one line each.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/framer.hpp"
#include "audit/parser.hpp"
#include "config/config.hpp"
#include "fuzz_common.hpp"
#include "outputs/dispatcher.hpp"
#include "outputs/formats.hpp"
#include "outputs/sink.hpp"
#include "outputs/slack.hpp"
#include "outputs/syslog.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"

namespace {

using namespace adock;  // NOLINT(google-build-using-namespace)

/// Formats each alert every way an output would, and checks the oracles.
class FormatAllSink final : public outputs::Sink {
public:
    [[nodiscard]] const std::string& name() const override { return cfg_.name; }

    [[nodiscard]] const config::OutputConfig& config() const override { return cfg_; }

    bool submit(const outputs::AlertMessage& m) override {
        if (!m.alert || !m.json) {
            return true;
        }
        const Alert& a = *m.alert;
        fuzz::require(m.json->find('\n') == std::string::npos, "alert JSON is one line");
        fuzz::require_utf8(*m.json, "alert JSON is UTF-8");
        fuzz::require_utf8(outputs::slack_payload(a), "slack payload is UTF-8");
        fuzz::require_utf8(outputs::teams_payload(a), "teams payload is UTF-8");
        fuzz::require_utf8(outputs::discord_payload(a), "discord payload is UTF-8");
        fuzz::require_utf8(outputs::pagerduty_payload(a), "pagerduty payload is UTF-8");
        fuzz::require_utf8(outputs::opsgenie_payload(a), "opsgenie payload is UTF-8");
        fuzz::require_utf8(outputs::falco_payload(a), "falco payload is UTF-8");
        const std::string sys = outputs::syslog_message(m, 16, "audisp-docker", 8192);
        fuzz::require(sys.size() <= 8192, "syslog message within its bound");
        fuzz::require(sys.find('\n') == std::string::npos, "syslog message is one line");
        return true;
    }

    void start() override {}

    void stop(std::chrono::milliseconds /*deadline*/) override {}

    [[nodiscard]] outputs::SinkStats stats() const override { return {}; }

private:
    config::OutputConfig cfg_ = [] {
        config::OutputConfig c;
        c.name = "fuzz";
        return c;
    }();
};

struct World {
    config::Config cfg;
    outputs::Dispatcher out;
    std::unique_ptr<rules::Engine> engine;

    World() {
        cfg.processes.use_proc = false;  // nothing of this host is read
        cfg.integrity.enabled = false;
        cfg.host = "fuzzhost";
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<FormatAllSink>());
        (void)out.replace(std::move(sinks));
        engine = std::make_unique<rules::Engine>(
            cfg, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), out);
    }
};

World& world() {
    static World w;
    return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World& w = world();
    audit::EventParser parser([&](audit::Event&& e) { w.engine->on_event(e); });
    audit::Framer framer(
        std::chrono::milliseconds(2000), 64, [&](std::string_view t) { parser.parse(t); });
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto now = audit::Framer::Clock::now();
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            nl = text.size();
        }
        framer.feed_line(text.substr(start, nl - start), now);
        start = nl + 1;
    }
    now += std::chrono::seconds(5);
    framer.age(now);
    framer.flush();
    w.engine->tick(std::chrono::steady_clock::now());
    return 0;
}
