// SPDX-License-Identifier: Apache-2.0
// Streams captured from the real auditd (tests/data/capture.sh) replayed through the whole
// engine: framer, libauparse, process table, containers, rules. /proc is off, as for a log from
// another host, so everything asserted here was learned from the stream itself.
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;

namespace {

const std::string kData = AUDISP_DOCKER_SOURCE_DIR "/tests/data";
const std::string kBuiltin = AUDISP_DOCKER_SOURCE_DIR "/conf/rules/10-runtime.yaml";

// A test-only rule that reports every exec inside a container, to check attribution.
const std::string kContainerExec = R"(rules:
  - id: test_container_exec
    severity: info
    summary: "{process.exe} in {container.id}"
    match: {event: exec, in_container: true}
)";

struct Replay {
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;

    explicit Replay(const std::string& log) {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<test::CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = false;
        cfg.host = "testhost";
        engine = std::make_unique<rules::Engine>(
            cfg,
            rules::load_rules_texts({{kBuiltin, test::slurp(kBuiltin)}, {"t.yaml", kContainerExec}}),
            out);
        test::BasicPipeline<std::function<void(audit::Event&&)>> p{
            [this](audit::Event&& e) { engine->on_event(e); }};
        const std::string text = test::slurp(kData + "/" + log);
        REQUIRE(!text.empty());
        p.feed(text);
        p.framer.flush();
    }

    [[nodiscard]] std::vector<const Alert*> of(const std::string& rule) const {
        std::vector<const Alert*> hits;
        for (const auto& a : alerts) {
            if (a.rule_id == rule) {
                hits.push_back(&a);
            }
        }
        return hits;
    }
};

bool has_arg(const Alert& a, const std::string& arg) {
    for (const auto& s : a.process.argv) {
        if (s == arg) {
            return true;
        }
    }
    return false;
}

bool ends_with_name(const std::string& path, const std::string& name) {
    return path.size() >= name.size() + 1 && path.ends_with("/" + name);
}

}  // namespace

TEST_CASE("captured: runc from bash, python and a /tmp copy alert; ctr run does not",
          "[replay][runc]") {
    Replay r("runc.log");
    const auto runc = r.of("runc_suspicious_exec");
    REQUIRE(runc.size() == 3);

    const Alert& from_shell = *runc[0];
    CHECK(from_shell.process.exe == "/usr/sbin/runc");
    CHECK(has_arg(from_shell, "run"));
    CHECK(has_arg(from_shell, "cap-b"));
    REQUIRE(!from_shell.ancestry.empty());
    CHECK(ends_with_name(from_shell.ancestry[0].exe, "bash"));
    CHECK(from_shell.container == std::nullopt);
    CHECK(from_shell.key == "adock_exec");

    const Alert& from_python = *runc[1];
    CHECK(from_python.process.argv == std::vector<std::string>{"runc", "--version"});
    REQUIRE(!from_python.ancestry.empty());
    CHECK(from_python.ancestry[0].exe.find("python") != std::string::npos);

    const Alert& copy = *runc[2];
    CHECK(copy.process.exe.starts_with("/tmp/"));
    CHECK(ends_with_name(copy.process.exe, "runc"));
    REQUIRE(!copy.ancestry.empty());
    CHECK(ends_with_name(copy.ancestry[0].exe, "bash"));
    for (const Alert* a : runc) {
        CHECK(a->severity == Severity::Critical);
        CHECK(a->time.starts_with("2026-"));
    }
}

TEST_CASE("captured: the ctr run container is attributed from the shim in the stream",
          "[replay][containers]") {
    Replay r("runc.log");
    const auto in_container = r.of("test_container_exec");
    // The container runs /bin/sh -c 'ls /bin': both execs are inside container cap-a.
    std::vector<std::string> in_a;
    std::vector<std::string> in_b;
    for (const Alert* a : in_container) {
        REQUIRE(a->container);
        if (a->container->id == "cap-a") {
            CHECK(a->container->ns == "default");
            CHECK(a->container->runtime == "containerd");
            in_a.push_back(a->process.exe);
        } else {
            // `runc run cap-b` from bash: no manager, no shim; runc's argv names the container.
            CHECK(a->container->id == "cap-b");
            CHECK(a->container->runtime == "runc");
            in_b.push_back(a->process.exe);
        }
    }
    // ctr ran /bin/sh -c 'ls /bin', runc ran /bin/true (all busybox); runc's own `runc init`
    // re-exec is inside the container too.
    CHECK(std::count(in_a.begin(), in_a.end(), "/bin/busybox") >= 1);
    CHECK(std::count(in_b.begin(), in_b.end(), "/bin/busybox") == 1);
}
