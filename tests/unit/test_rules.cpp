// SPDX-License-Identifier: Apache-2.0
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "rules/placeholders.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;

namespace {

using test::CollectSink;
using test::exec_event;
using test::slurp;

const std::string kBuiltin = AUDISP_DOCKER_SOURCE_DIR "/conf/rules/10-runtime.yaml";

struct Harness {
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;

    explicit Harness(const std::vector<std::pair<std::string, std::string>>& extra = {}) {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = false;
        cfg.host = "testhost";
        std::vector<std::pair<std::string, std::string>> files{{kBuiltin, slurp(kBuiltin)}};
        files.insert(files.end(), extra.begin(), extra.end());
        engine = std::make_unique<rules::Engine>(cfg, rules::load_rules_texts(files), out);
    }
};

}  // namespace

TEST_CASE("runc from a shell is suspicious, with the shell as parent", "[rules][runc]") {
    Harness h;
    h.engine->on_event(exec_event(100, 1, "/usr/bin/bash", {"bash"}));
    h.engine->on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "run", "x"}));
    REQUIRE(h.alerts.size() == 1);
    const Alert& a = h.alerts[0];
    CHECK(a.rule_id == "runc_suspicious_exec");
    CHECK(a.severity == Severity::Critical);
    CHECK(a.mitre == std::vector<std::string>{"T1609", "T1036"});
    CHECK(a.host == "testhost");
    CHECK(a.process.pid == 101);
    CHECK(a.process.argv == std::vector<std::string>{"runc", "run", "x"});
    REQUIRE(a.ancestry.size() == 1);
    CHECK(a.ancestry[0].exe == "/usr/bin/bash");
    CHECK(a.summary.find("/usr/bin/bash") != std::string::npos);
    REQUIRE(a.file);
    CHECK(a.file->operation == "exec");
    CHECK(a.key == "adock_exec");
    CHECK(a.time == "2026-11-22T09:14:15.000Z");
}

TEST_CASE("detection hands its alerts to any AlertSink, no outputs involved", "[rules][runc]") {
    struct Keep final : AlertSink {
        std::vector<Alert> got;

        void dispatch(Alert&& a) override { got.push_back(std::move(a)); }
    } sink;

    config::Config cfg;
    cfg.processes.use_proc = false;
    cfg.host = "testhost";
    rules::Engine engine(cfg, rules::load_rules_texts({{kBuiltin, slurp(kBuiltin)}}), sink);
    engine.on_event(exec_event(100, 1, "/usr/bin/bash", {"bash"}));
    CHECK(sink.got.empty());  // control: a shell alone is no detection
    engine.on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "run", "x"}));
    REQUIRE(sink.got.size() == 1);
    CHECK(sink.got[0].rule_id == "runc_suspicious_exec");
    CHECK(sink.got[0].process.pid == 101);
}

TEST_CASE("what one rule matched is never seen by the next rule of the event", "[rules]") {
    // "first" matches its actor (runc), then fails on argv; "second" has no condition that
    // matches anything, so its {matched} is empty, not the runc the first one found.
    Harness h(std::vector<std::pair<std::string, std::string>>{
        {"leak.yaml",
         "rules:\n"
         "  - id: first\n    summary: first {matched}\n    severity: low\n"
         "    match:\n      event: exec\n      actor_in: oci_runtimes\n      argv_contains: "
         "[never]\n"
         "  - id: second\n    summary: \"second [{matched}]\"\n    severity: low\n"
         "    match:\n      event: exec\n      comm: [runc]\n"
         "  - id: third\n    summary: \"third [{matched}]\"\n    severity: low\n"
         "    match:\n      event: exec\n      comm: [runc]\n      actor_in: oci_runtimes\n"}});
    h.engine->on_event(
        exec_event(100, 1, "/usr/bin/containerd-shim-runc-v2", {"containerd-shim-runc-v2"}));
    h.engine->on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "create", "c1"}));
    std::vector<std::string> summaries;
    for (const auto& a : h.alerts) {
        summaries.push_back(a.rule_id + ": " + a.summary);
    }
    // Positive control: a rule that does match its actor shows it.
    CHECK(summaries == std::vector<std::string>{"second: second []", "third: third [runc]"});
}

TEST_CASE("every summary placeholder the loader accepts is rendered", "[rules][loader]") {
    // One table serves both: a name the loader accepts and the renderer does not know would
    // leave its text empty; here each renders between its own markers.
    std::string summary;
    for (const auto& p : rules::placeholders()) {
        summary += "<" + std::string(p.name) + ">{" + std::string(p.name) + "}</>";
    }
    CHECK(rules::summary_placeholders().size() == rules::placeholders().size());
    Harness h(std::vector<std::pair<std::string, std::string>>{
        {"all.yaml",
         "rules:\n  - id: all\n    severity: low\n    summary: \"" + summary +
             "\"\n"
             "    match:\n      event: exec\n      actor_in: oci_runtimes\n"}});
    h.engine->on_event(exec_event(100, 1, "/usr/bin/bash", {"bash"}));
    h.engine->on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "list"}));
    h.engine->flush();
    const auto all = test::alerts_of(h.alerts, "all");
    REQUIRE(all.size() == 1);
    const std::string& got = all[0]->summary;
    CHECK(got.find('{') == std::string::npos);  // nothing left unrendered
    for (const auto& p : rules::placeholders()) {
        const std::string open = "<" + std::string(p.name) + ">";
        const auto at = got.find(open);
        REQUIRE(at != std::string::npos);
        CHECK(got.compare(at + open.size(), 3, "</>") != 0);  // some text, if only "-"
    }
    CHECK(got.find("<process.exe>/usr/sbin/runc</>") != std::string::npos);
    CHECK(got.find("<matched>") != std::string::npos);
    CHECK(got.find("<parent.exe>/usr/bin/bash</>") != std::string::npos);
    CHECK(got.find("<rule.id>all</>") != std::string::npos);
}

TEST_CASE("runc under the containerd shim and its own re-exec are quiet", "[rules][runc]") {
    Harness h;
    h.engine->on_event(
        exec_event(200,
                   1,
                   "/usr/bin/containerd-shim-runc-v2",
                   {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"}));
    h.engine->on_event(exec_event(201, 200, "/usr/sbin/runc", {"runc", "create", "c1"}));
    h.engine->on_event(
        exec_event(202, 201, "/memfd:runc_cloned:/proc/self/exe (deleted)", {"runc", "init"}));
    h.engine->on_event(exec_event(203, 202, "/bin/sh", {"/bin/sh", "-c", "ls"}));
    CHECK(h.alerts.empty());
}

TEST_CASE("runc from python, a copy in /tmp, an unknown parent", "[rules][runc]") {
    Harness h;
    h.engine->on_event(exec_event(300, 1, "/usr/bin/python3.11", {"python3", "x.py"}));
    h.engine->on_event(exec_event(301, 300, "/usr/sbin/runc", {"runc", "--version"}));
    h.engine->on_event(exec_event(310, 1, "/usr/bin/dash", {"sh"}));
    h.engine->on_event(exec_event(311, 310, "/tmp/x/runc", {"/tmp/x/runc", "list"}));
    h.engine->on_event(exec_event(321, 320, "/usr/bin/crun", {"crun", "list"}));
    REQUIRE(h.alerts.size() == 3);
    CHECK(h.alerts[0].ancestry.at(0).exe == "/usr/bin/python3.11");
    CHECK(h.alerts[1].process.exe == "/tmp/x/runc");
    CHECK(h.alerts[2].ancestry.empty());
    CHECK(h.alerts[2].summary.find("unknown, pid 320") != std::string::npos);
}

TEST_CASE("a runc hardlink under another name is recognised by its inode", "[rules][runc]") {
    // Live: the host's runc (here a file in a directory of our own) is known by its inode, so a
    // hard link of it under another name is runc. A replay does not take one inode of a log
    // for another name (see test_replay.cpp).
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("adock-hl-" + std::to_string(::getpid()));
    fs::create_directories(dir / "bin");
    fs::create_directories(dir / "proc");
    { std::ofstream(dir / "bin" / "runc") << "runtime"; }

    struct stat st {};

    REQUIRE(::stat((dir / "bin" / "runc").c_str(), &st) == 0);
    std::array<char, 32> dev{};
    std::snprintf(dev.data(), dev.size(), "%02x:%02x", major(st.st_dev), minor(st.st_dev));
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    std::vector<std::unique_ptr<outputs::Sink>> sinks;
    sinks.push_back(std::make_unique<CollectSink>(alerts));
    (void)out.replace(std::move(sinks));
    config::Config cfg;
    cfg.processes.use_proc = true;
    cfg.proc_root = (dir / "proc").string();
    cfg.integrity.enabled = false;
    cfg.host = "testhost";
    auto text = slurp(kBuiltin);
    rules::Engine engine(
        cfg, rules::load_rules_texts({{kBuiltin, text}}, {(dir / "bin").string()}), out);
    auto ev = exec_event(401, 400, "/tmp/.x/kworker", {"kworker"});
    audit::PathItem p;
    p.item = 0;
    p.name = "/tmp/.x/kworker";
    p.dev = dev.data();
    p.inode = static_cast<std::uint64_t>(st.st_ino);
    ev.paths.push_back(p);
    engine.on_event(exec_event(400, 1, "/usr/bin/bash", {"bash"}));
    engine.on_event(ev);
    engine.flush();
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].summary.find("/bin/runc)") != std::string::npos);  // what the file is
    fs::remove_all(dir);
}

TEST_CASE("a later file patches a rule: disable, severity, exceptions", "[rules][loader]") {
    Harness off(std::vector<std::pair<std::string, std::string>>{
        {"90-local.yaml", "rules:\n  - id: runc_suspicious_exec\n    enabled: false\n"}});
    off.engine->on_event(exec_event(100, 1, "/usr/bin/bash", {"bash"}));
    off.engine->on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "list"}));
    CHECK(off.alerts.empty());

    Harness ex(std::vector<std::pair<std::string, std::string>>{
        {"90-local.yaml",
         "rules:\n  - id: runc_suspicious_exec\n    severity: high\n    exceptions:\n"
         "      - parent_in: [/usr/bin/bash]\n        argv_contains: [--version]\n"}});
    ex.engine->on_event(exec_event(100, 1, "/usr/bin/bash", {"bash"}));
    ex.engine->on_event(exec_event(101, 100, "/usr/sbin/runc", {"runc", "--version"}));
    CHECK(ex.alerts.empty());
    ex.engine->on_event(exec_event(102, 100, "/usr/sbin/runc", {"runc", "list"}));
    REQUIRE(ex.alerts.size() == 1);
    CHECK(ex.alerts[0].severity == Severity::High);
}

TEST_CASE("rule errors point at file:line:col", "[rules][loader]") {
    const auto error_of = test::rule_error;
    CHECK(error_of("rules:\n  - id: x\n    severity: extreme\n    summary: s\n    match: {event: "
                   "exec}\n") ==
          "r.yaml:3:15: severity: expected critical, high, medium, low or info");
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match:\n      actor_in: nosuchlist\n") ==
          "r.yaml:5:17: actor_in: unknown list 'nosuchlist' (define it under lists: first)");
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    colour: red\n    match: {event: exec}\n")
              .starts_with("r.yaml:4:5: unknown key 'colour'"));
    CHECK(error_of("rules:\n  - id: x\n    summary: \"{nope}\"\n    match: {event: exec}\n")
              .starts_with("r.yaml:3:14: summary: unknown placeholder {nope}"));
    CHECK(error_of("rules: [\n").starts_with("r.yaml:"));
    CHECK(error_of("rules:\n  - id: y\n    summary: s\n") ==
          "r.yaml:2:5: rule 'y': needs 'match' (or must override a rule defined earlier)");
}

TEST_CASE("config errors point at file:line:col and defaults hold", "[config]") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            (void)config::load_config_string(text, "c.yaml");
        } catch (const config::ConfigError& e) {
            return e.format();
        }
        return "no error";
    };
    const auto c = config::load_config_string(
        "outputs:\n  - {name: f, type: file, path: /tmp/a.jsonl}\n", "c.yaml");
    CHECK(c.outputs.size() == 1);
    CHECK(c.engine.eoe_timeout_ms == 2000);
    CHECK(c.processes.ancestry_depth == 8);
    CHECK(error_of("outputs:\n  - {type: carrier-pigeon}\n") ==
          "c.yaml:2:12: unknown output type 'carrier-pigeon' (file, webhook, stdout, slack, teams, "
          "discord, pagerduty, opsgenie, falco, syslog, otlp, kafka)");
    CHECK(error_of("processes:\n  ancestry_depth: 1000\n") ==
          "c.yaml:2:19: ancestry_depth: 1000 is out of range [1, 64]");
    CHECK(error_of("outputs:\n  - {type: webhook, name: w}\n") ==
          "c.yaml:2:5: output 'w': a webhook output needs 'url', 'url_file' or 'url_env'");
    CHECK(error_of("bogus: 1\n") == "c.yaml:1:1: unknown key 'bogus' in the configuration");
    CHECK(error_of("outputs:\n  - {type: file, path: /a}\n  - {type: file, path: /b}\n") ==
          "c.yaml:3:5: outputs: duplicate output name 'file'");
}

TEST_CASE("a program named like a container manager outside the package directories is not one",
          "[rules][runc]") {
    Harness h;
    h.engine->on_event(
        exec_event(500, 1, "/tmp/.x/containerd-shim-runc-v2", {"containerd-shim-runc-v2"}));
    h.engine->on_event(exec_event(501, 500, "/usr/sbin/runc", {"runc", "run", "x"}));
    h.engine->on_event(
        exec_event(510, 1, "/usr/local/bin/containerd-shim-runc-v2", {"containerd-shim-runc-v2"}));
    h.engine->on_event(exec_event(511, 510, "/usr/sbin/runc", {"runc", "create", "y"}));
    REQUIRE(h.alerts.size() == 1);
    CHECK(h.alerts[0].process.pid == 501);
    CHECK(h.alerts[0].ancestry.at(0).exe == "/tmp/.x/containerd-shim-runc-v2");
}

TEST_CASE("a list with dirs needs programs and absolute directories", "[rules][loader]") {
    const auto error_of = test::rule_error;
    CHECK(error_of("lists:\n  m:\n    dirs: [/usr/bin]\n") ==
          "r.yaml:3:5: lists.m: needs 'programs'");
    CHECK(error_of("lists:\n  m:\n    dirs: [bin]\n    programs: [x]\n") ==
          "r.yaml:3:5: lists.m.dirs: 'bin' is not an absolute directory");
}

TEST_CASE("a replaced file is recognised by its new inode after a refresh", "[rules][loader]") {
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("adock-refresh-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path bin = dir / "fakert";
    { std::ofstream(bin) << "v1"; }
    const auto set =
        rules::load_rules_texts({{"r.yaml", "lists:\n  rt: [fakert]\n"}}, {dir.string()});
    const auto& list = *set->lists.at("rt");
    REQUIRE(list.identities.size() == 1);
    const auto before = list.identities.begin()->first;
    // dpkg's way: write a new file beside it, rename it over the old one.
    { std::ofstream(dir / "fakert.new") << "v2"; }
    fs::rename(dir / "fakert.new", bin);
    CHECK(list.identities.contains(before));
    set->refresh_identities();
    REQUIRE(list.identities.size() == 1);
    CHECK_FALSE(list.identities.contains(before));
    CHECK(list.match_file("/elsewhere/x", list.identities.begin()->first, std::nullopt));
    fs::remove_all(dir);
}
