// SPDX-License-Identifier: Apache-2.0
// Byte budgets (issue 11, H4/H5): argv in alerts, process-table entries and kept events is
// bounded, and what was cut carries the whole argv's SHA-256.
#include <memory>
#include <string>
#include <vector>

#include "audit/argv_budget.hpp"
#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "proc/process_table.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;
using test::exec_event;

namespace {

/// What the kernel allows one exec: 1023 arguments of 6000 bytes (6 MiB).
std::vector<std::string> huge_argv(const std::string& argv0, char fill) {
    std::vector<std::string> v{argv0};
    for (int i = 1; i < 1023; ++i) {
        v.emplace_back(6000, fill);
    }
    return v;
}

struct Harness {
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;

    explicit Harness(const config::Config& c = {}) : cfg(c) {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<test::CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = false;
        cfg.host = "testhost";
        engine = std::make_unique<rules::Engine>(
            cfg, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), out);
    }
};

}  // namespace

TEST_CASE("bound_argv cuts each argument and the whole list, hashing the whole argv", "[budget]") {
    using audit::bound_argv;
    const std::vector<std::string> small{"a", "bc"};
    auto b = bound_argv(small, {16, 8});
    CHECK(b.argv == small);
    CHECK_FALSE(b.truncated);
    CHECK(b.sha256.empty());
    CHECK(audit::argv_sha256(small) ==
          "40bb547d936bbd31318ee37ac8799e7ecbb22eda2651f65e3214bffb8ce97bb4");

    // Each argument: 4 bytes; the list: 12 bytes with one separator each.
    const std::vector<std::string> v{"abcdefgh", "ij", "klmnopqrs", "tuv"};
    b = bound_argv(v, {12, 4});
    // 5 + 3 + 4 bytes with separators
    CHECK(b.argv == std::vector<std::string>{"abcd", "ij", "klm"});
    CHECK(b.truncated);
    CHECK(b.argc == 4);
    CHECK(b.sha256 == audit::argv_sha256(v));
    CHECK(audit::argv_bytes(b.argv) <= 12);

    // A multi-byte UTF-8 character is never split: "é" is two bytes.
    b = bound_argv({"x\xc3\xa9y"}, {64, 2});
    CHECK(b.argv == std::vector<std::string>{"x"});
    // A cut of a cut keeps the first hash and count.
    b = bound_argv({"abcd"}, {64, 2}, "feed", 9);
    CHECK(b.argv == std::vector<std::string>{"ab"});
    CHECK(b.sha256 == "feed");
    CHECK(b.argc == 9);
    CHECK(audit::bounded_text("abcdef", 3) == "abc\xe2\x80\xa6");
    CHECK(audit::bounded_text("abc", 3) == "abc");
}

TEST_CASE("join_argv joins words with single spaces, empty words kept", "[budget]") {
    CHECK(audit::join_argv({}).empty());
    CHECK(audit::join_argv({"runc"}) == "runc");
    CHECK(audit::join_argv({"runc", "run", "x"}) == "runc run x");
    CHECK(audit::join_argv({"sh", "", "-c"}) == "sh  -c");
}

TEST_CASE("a process-table entry keeps a bounded argv and the whole argv's hash",
          "[budget][proc]") {
    config::ProcessTableConfig cfg;
    cfg.use_proc = false;
    proc::ProcessTable t(cfg, "/nonexistent");
    const auto argv = huge_argv("sh", 'a');
    t.observe(exec_event(100, 1, "/bin/sh", argv));
    const proc::ProcessInfo* p = t.find(100);
    REQUIRE(p != nullptr);
    CHECK(audit::argv_bytes(p->argv) <= cfg.max_argv_bytes);
    CHECK(p->argv.front() == "sh");
    CHECK(p->argv_truncated);
    CHECK(p->argv_argc == 1023);
    CHECK(p->argv_sha256 == audit::argv_sha256(argv));
    // A small argv is kept whole and unmarked.
    t.observe(exec_event(101, 1, "/bin/sh", {"sh", "-c", "true"}));
    CHECK(t.find(101)->argv == std::vector<std::string>{"sh", "-c", "true"});
    CHECK_FALSE(t.find(101)->argv_truncated);
}

TEST_CASE("an alert holds at most 16 KiB of the actor's argv and 256 B per ancestor",
          "[budget][engine]") {
    Harness h;
    // Seven nested shells with 6 MiB of argv each, then runc from the last one (H5's shape).
    int ppid = 1;
    std::vector<std::vector<std::string>> shells;
    for (int i = 0; i < 7; ++i) {
        shells.push_back(huge_argv("bash", static_cast<char>('a' + i)));
        h.engine->on_event(exec_event(200 + i, ppid, "/usr/bin/bash", shells.back()));
        ppid = 200 + i;
    }
    auto runc = huge_argv("runc", 'R');
    runc[1] = "run";
    h.engine->on_event(exec_event(300, ppid, "/usr/sbin/runc", runc));
    auto hits = test::alerts_of(h.alerts, "runc_suspicious_exec");
    REQUIRE(hits.size() == 1);
    const Alert& a = *hits[0];
    CHECK(audit::argv_bytes(a.process.argv) <= 16384);
    CHECK(a.process.argv[0] == "runc");
    CHECK(a.process.argv[1] == "run");
    CHECK(a.process.truncated);
    CHECK(a.process.argc == 1023);
    CHECK(a.process.argv_sha256 == audit::argv_sha256(runc));
    REQUIRE(a.ancestry.size() == 7);
    for (std::size_t i = 0; i < a.ancestry.size(); ++i) {
        const ProcessRef& p = a.ancestry[i];
        CHECK(audit::argv_bytes(p.argv) <= 256);
        CHECK(p.truncated);
        CHECK(p.argv_sha256 == audit::argv_sha256(shells[6 - i]));  // parent first
    }
    CHECK(a.summary.size() < 4096);
    const std::string json = to_json(a);
    CHECK(json.size() < 32768);
    CHECK(json.find("\"truncated\":true") != std::string::npos);
    CHECK(json.find("\"argv_sha256\":\"" + audit::argv_sha256(runc) + "\"") != std::string::npos);
}

TEST_CASE("an argv within the budgets is reported whole and unmarked", "[budget][engine]") {
    Harness h;
    h.engine->on_event(exec_event(100, 1, "/usr/bin/bash", {"bash", "-l"}));
    h.engine->on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "run", "x"}));
    REQUIRE(h.alerts.size() == 1);
    CHECK(h.alerts[0].process.argv == std::vector<std::string>{"runc", "run", "x"});
    CHECK_FALSE(h.alerts[0].process.truncated);
    CHECK(h.alerts[0].ancestry.at(0).argv == std::vector<std::string>{"bash", "-l"});
    const std::string json = to_json(h.alerts[0]);
    CHECK(json.find("truncated") == std::string::npos);
    CHECK(json.find("argv_sha256") == std::string::npos);
}

TEST_CASE("argv budgets are configurable and range-checked", "[budget][config]") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            (void)config::load_config_string(text, "c.yaml");
        } catch (const config::ConfigError& e) {
            return e.format();
        }
        return "no error";
    };
    const auto d = config::load_config_string("outputs: []\n", "c.yaml");
    CHECK(d.engine.alert_argv_bytes == 16384);
    CHECK(d.engine.ancestor_argv_bytes == 256);
    CHECK(d.processes.max_argv_bytes == 4096);
    CHECK(d.processes.max_arg_bytes == 4096);
    const auto c = config::load_config_string(
        "engine: {alert_argv_bytes: 1024, ancestor_argv_bytes: 64}\nprocesses: {max_argv_bytes: "
        "512, max_arg_bytes: 100}\n",
        "c.yaml");
    CHECK(c.engine.alert_argv_bytes == 1024);
    CHECK(c.engine.ancestor_argv_bytes == 64);
    CHECK(c.processes.max_argv_bytes == 512);
    CHECK(c.processes.max_arg_bytes == 100);
    CHECK(error_of("engine:\n  alert_argv_bytes: 10\n") ==
          "c.yaml:2:21: alert_argv_bytes: 10 is out of range [256, 1048576]");
    CHECK(error_of("processes:\n  max_argv_bytes: 0\n") ==
          "c.yaml:2:19: max_argv_bytes: 0 is out of range [256, 1048576]");

    Harness h(c);
    h.engine->on_event(exec_event(100, 1, "/usr/bin/bash", {"bash", std::string(300, 'x')}));
    h.engine->on_event(
        exec_event(101, 100, "/usr/sbin/runc", {"runc", "run", std::string(2000, 'y')}));
    REQUIRE(h.alerts.size() == 1);
    CHECK(audit::argv_bytes(h.alerts[0].process.argv) <= 1024);
    CHECK(h.alerts[0].process.argv[2].size() == 100);
    CHECK(audit::argv_bytes(h.alerts[0].ancestry.at(0).argv) <= 64);
}
