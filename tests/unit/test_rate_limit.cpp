// SPDX-License-Identifier: Apache-2.0
// Alert creation rate-limited per source (issue 11, H5/H6): a token bucket per container or
// host user and executable; what it holds back is counted and summarised in one alert.
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "rules/rate_limit.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/clock.hpp"

using namespace adock;

namespace {

const std::string kRules = R"(
rules:
  - id: tool_a
    severity: medium
    summary: "a by {process.exe}: {process.cmdline}"
    match: {event: exec, argv_contains: [a]}
  - id: tool_b
    severity: critical
    summary: "b by {process.exe}"
    match: {event: exec, argv_contains: [b]}
)";

struct Harness {
    util::ManualClock clock;  ///< the engine's: windows end when a test says so
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;
    std::uint64_t serial = 0;

    explicit Harness(unsigned burst = 20,
                     unsigned window_s = 10,
                     const std::string& rules = kRules) {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<test::CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = false;
        cfg.host = "testhost";
        cfg.engine.alert_rate_burst = burst;
        cfg.engine.alert_rate_window_s = window_s;
        engine = std::make_unique<rules::Engine>(
            cfg, rules::load_rules_texts({{"r.yaml", rules}}), out, clock);
    }

    void exec(std::int64_t sec,
              const std::string& exe,
              std::vector<std::string> argv,
              std::uint32_t uid = 1000) {
        audit::Event e;
        e.serial = ++serial;
        e.sec = sec;
        e.has_syscall = true;
        e.arch = 0xc000003e;
        e.syscall = 59;
        e.success = true;
        e.pid = static_cast<int>(1000 + serial);
        e.ppid = 1;
        e.exe = exe;
        e.comm = "x";
        e.uid = uid;
        e.has_execve = true;
        e.argv = std::move(argv);
        engine->on_event(e);
    }
};

}  // namespace

TEST_CASE("rate limit: a burst per source, the excess counted and summarised once",
          "[engine][ratelimit]") {
    Harness h;
    constexpr std::int64_t t0 = 1795338855;
    for (int i = 0; i < 50; ++i) {
        h.exec(t0, "/home/u/flood", {"flood", "a", std::to_string(i)});
    }
    CHECK(h.alerts.size() == 20);
    CHECK(h.engine->stats().rate_limited == 30);
    // Another source is not affected, nor a new rule from the throttled source.
    h.exec(t0, "/home/u/other", {"other", "a"});
    h.exec(t0, "/home/u/flood", {"flood", "b"});
    REQUIRE(h.alerts.size() == 22);
    CHECK(h.alerts[20].process.exe == "/home/u/other");
    CHECK(h.alerts[21].rule_id == "tool_b");
    h.exec(t0, "/home/u/flood", {"flood", "b"});  // tool_b again: no token, held
    CHECK(h.alerts.size() == 22);
    // The window closes (stream time): one summary, the first held alert of the highest
    // severity, with the count and the rules held.
    h.exec(t0 + 11, "/home/u/third", {"third", "a"});
    REQUIRE(h.alerts.size() == 24);
    const Alert& s = h.alerts[22];
    CHECK(s.rule_id == "tool_b");
    CHECK(s.count == 31);
    CHECK(
        s.summary.find("31 alerts from this source held back within 10 s (tool_a 30, tool_b 1)") !=
        std::string::npos);
    CHECK(std::find(s.tags.begin(), s.tags.end(), "rate_limited") != s.tags.end());
    CHECK(h.engine->stats().rate_summaries == 1);
    // The bucket has refilled meanwhile.
    h.exec(t0 + 11, "/home/u/flood", {"flood", "a", "again"});
    CHECK(h.alerts.size() == 25);
}

TEST_CASE("rate limit: containers and host users are separate sources; 0 turns it off",
          "[engine][ratelimit]") {
    Alert a;
    a.process.exe = "/bin/sh";
    a.process.uid = 0;
    CHECK(rules::AlertRateLimiter::source_of(a) == "u:0\x1f/bin/sh");
    a.container = ContainerRef{"c1", "containerd", {}, {}, {}};
    CHECK(rules::AlertRateLimiter::source_of(a) == "c:c1\x1f/bin/sh");

    Harness off(0);
    for (int i = 0; i < 100; ++i) {
        off.exec(1795338855, "/home/u/flood", {"flood", "a"});
    }
    CHECK(off.alerts.size() == 100);
}

TEST_CASE("rate limit: the table of sources is bounded and keeps every count",
          "[engine][ratelimit]") {
    rules::AlertRateLimiter lim(1, 10, 4);
    const auto wall = util::ManualClock::kStart;  // never reached by due(): stream time decides
    auto alert = [](int src) {
        Alert a;
        a.rule_id = "r";
        a.process.exe = "/x" + std::to_string(src);
        a.process.uid = 0;
        return a;
    };
    for (int i = 0; i < 10; ++i) {
        CHECK(lim.admit(alert(i), 0, wall));
        CHECK_FALSE(lim.admit(alert(i), 0, wall));  // held: one per source
    }
    CHECK(lim.sources() == 4);
    CHECK(lim.stats().evicted == 6);
    CHECK(lim.stats().held == 10);
    // The six sources evicted with a held alert send their summaries: no count is lost.
    auto due = lim.due(0, std::chrono::steady_clock::time_point::min());
    CHECK(due.size() == 6);
    auto rest = lim.flush();
    CHECK(rest.size() == 4);
    for (const auto& a : due) {
        CHECK(a.count == 1);
    }
    CHECK(lim.stats().summaries == 10);
}

TEST_CASE("rate limit config keys: defaults and ranges", "[engine][ratelimit][config]") {
    const auto d = config::load_config_string("outputs: []\n", "c.yaml");
    CHECK(d.engine.alert_rate_burst == 20);
    CHECK(d.engine.alert_rate_window_s == 10);
    const auto c = config::load_config_string(
        "engine: {alert_rate_burst: 0, alert_rate_window_s: 60}\n", "c.yaml");
    CHECK(c.engine.alert_rate_burst == 0);
    CHECK(c.engine.alert_rate_window_s == 60);
    try {
        (void)config::load_config_string("engine:\n  alert_rate_window_s: 0\n", "c.yaml");
        FAIL("accepted");
    } catch (const config::ConfigError& e) {
        CHECK(e.format() == "c.yaml:2:24: alert_rate_window_s: 0 is out of range [1, 3600]");
    }
}

TEST_CASE(
    "rate limit: a quiet stream's summary comes at the hold window's end on the engine's clock",
    "[engine][ratelimit][clock]") {
    using namespace std::chrono_literals;
    Harness h(1, 10);
    constexpr std::int64_t t0 = 1795338855;
    h.exec(t0, "/home/u/flood", {"flood", "a", "1"});
    h.exec(t0, "/home/u/flood", {"flood", "a", "2"});  // held: one token
    REQUIRE(h.alerts.size() == 1);
    // No event comes after it: the engine's tick closes the window by its clock, not before.
    h.clock.advance(10s - 1ns);
    h.engine->tick(h.clock.now());
    CHECK(h.alerts.size() == 1);
    h.clock.advance(1ns);  // exactly the window's end
    h.engine->tick(h.clock.now());
    REQUIRE(h.alerts.size() == 2);
    CHECK(h.alerts[1].count == 1);
    CHECK(h.alerts[1].summary.find("1 alert from this source held back within 10 s") !=
          std::string::npos);
    CHECK(h.engine->stats().rate_summaries == 1);
}

TEST_CASE("aggregation: a window closes exactly at its end on the engine's clock, not before",
          "[engine][fold][clock]") {
    using namespace std::chrono_literals;
    const std::string folded = R"(
rules:
  - id: tool_a
    severity: medium
    summary: "a by {process.exe}"
    match: {event: exec, argv_contains: [a]}
    aggregate: {by: [source], window_s: 5}
)";
    Harness h(20, 10, folded);
    constexpr std::int64_t t0 = 1795338855;
    for (int i = 0; i < 3; ++i) {
        h.exec(t0, "/home/u/tool", {"tool", "a"});
    }
    REQUIRE(h.alerts.size() == 1);  // the first; the repeats wait for the window
    CHECK(h.engine->stats().aggregated == 2);
    h.clock.advance(5s - 1ns);
    h.engine->tick(h.clock.now());
    CHECK(h.alerts.size() == 1);  // the stream is quiet and the window is still open
    h.clock.advance(1ns);
    h.engine->tick(h.clock.now());
    REQUIRE(h.alerts.size() == 2);
    CHECK(h.alerts[1].count == 2);
    CHECK(h.alerts[1].summary.find("(repeated 2 more times within 5 s of the first alert") !=
          std::string::npos);
    // Closed: a later repeat opens a new window and is sent as a first alert.
    h.exec(t0, "/home/u/tool", {"tool", "a"});
    CHECK(h.alerts.size() == 3);
}
