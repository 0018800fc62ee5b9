// SPDX-License-Identifier: Apache-2.0
// Aggregation keeps what matters (issue 11, M1/H6): the fold's summary reports the distinct
// command lines, paths and syscalls of its window, bounded; seccomp folds per source.
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/fold.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;

namespace {

constexpr std::uint32_t kX86_64 = 0xc000003e;

struct Harness {
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;
    std::uint64_t serial = 0;

    Harness() {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<test::CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = false;
        cfg.host = "testhost";
        engine = std::make_unique<rules::Engine>(
            cfg, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), out);
    }

    audit::Event syscall(int pid, int ppid, const std::string& exe, const std::string& name) {
        audit::Event e;
        e.serial = ++serial;
        e.sec = 1795338855;
        e.has_syscall = true;
        e.arch = kX86_64;
        e.syscall = audit::syscall_number(kX86_64, name).value_or(-1);
        e.success = true;
        e.pid = pid;
        e.ppid = ppid;
        e.exe = exe;
        e.comm = "x";
        e.uid = 1000;
        e.args = {0, 0, 0, 0};
        return e;
    }

    void exec(int pid,
              int ppid,
              const std::string& exe,
              std::vector<std::string> argv,
              std::uint32_t uid = 0) {
        audit::Event e = syscall(pid, ppid, exe, "execve");
        e.has_execve = true;
        e.uid = uid;
        e.argv = std::move(argv);
        engine->on_event(e);
    }

    void seccomp(int pid, const std::string& exe, int nr, std::uint32_t arch = kX86_64) {
        audit::Event e;
        e.serial = ++serial;
        e.sec = 1795338856;
        e.pid = pid;
        e.exe = exe;
        e.comm = "flood";
        e.uid = 1000;
        e.seccomp = audit::SeccompInfo{arch, nr, 0x00030000U, 31};
        engine->on_event(e);
    }
};

}  // namespace

TEST_CASE("a fold reports the distinct command lines: a malicious one between benign ones shows",
          "[engine][fold]") {
    Harness h;
    h.exec(500,
           1,
           "/usr/bin/containerd-shim-runc-v2",
           {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"});
    h.exec(501, 500, "/bin/busybox", {"sh"});
    const std::vector<std::vector<std::string>> lines{
        {"unshare", "-m", "true"},
        {"unshare", "-m", "-r", "sh", "-c", "mount /dev/sda1 /mnt; cp /mnt/etc/shadow /tmp/EVIL"},
        {"unshare", "-m", "true"}};
    int pid = 600;
    for (const auto& l : lines) {
        h.exec(pid, 501, "/usr/bin/unshare", l);
        audit::Event u = h.syscall(pid, 501, "/usr/bin/unshare", "unshare");
        u.proctitle = l;
        h.engine->on_event(u);
        ++pid;
    }
    auto hits = test::alerts_of(h.alerts, "container_sensitive_syscall");
    REQUIRE(hits.size() == 1);  // the first goes out at once
    h.engine->flush();
    hits = test::alerts_of(h.alerts, "container_sensitive_syscall");
    REQUIRE(hits.size() == 2);
    const Alert& s = *hits[1];
    CHECK(s.count == 2);
    CHECK(s.summary.find("2 distinct command lines") != std::string::npos);
    CHECK(s.summary.find("/tmp/EVIL") != std::string::npos);
    REQUIRE(!s.distinct.empty());
    CHECK(s.distinct[0].field == "process.cmdline");
    CHECK(s.distinct[0].distinct == 2);
    REQUIRE(s.distinct[0].values.size() == 2);
    CHECK(s.distinct[0].values[1].find("/tmp/EVIL") != std::string::npos);
    const std::string json = to_json(s);
    CHECK(json.find("\"distinct\":{\"process.cmdline\":{\"count\":2,\"values\":[") !=
          std::string::npos);
}

TEST_CASE("the distinct values a fold keeps are bounded", "[engine][fold]") {
    rules::DistinctTracker t(*rules::find_fold_field("process.cmdline"));
    Alert a;
    for (int i = 0; i < 1000; ++i) {
        a.process.argv = {"x", std::string(1000, 'a') + std::to_string(i)};
        t.add(a);
        t.add(a);  // a repeat is not a new value
    }
    const DistinctValues r = t.report();
    CHECK(r.values.size() == rules::DistinctTracker::kMaxValues);
    for (const auto& v : r.values) {
        CHECK(v.size() <= rules::DistinctTracker::kValueBytes + 3);
    }
    CHECK(r.distinct == rules::DistinctTracker::kMaxHashes);
    CHECK(r.capped);
    CHECK(t.bytes() < 16384);
    std::string summary;
    t.describe(summary);
    CHECK(summary.starts_with("; at least 256 distinct command lines: 'x aaaa"));
    CHECK(summary.size() < 8 * 300);
}

TEST_CASE("seccomp: one process trapping many distinct syscalls gives a handful of alerts",
          "[engine][fold][seccomp]") {
    Harness h;
    h.exec(700, 1, "/home/u/flood", {"flood", std::string(5000, 'z')}, 1000);
    for (int nr = 100000; nr < 100200; ++nr) {
        h.seccomp(700, "/home/u/flood", nr);
    }
    // Odd records from the same process: another arch, odd numbers.
    h.seccomp(700, "/home/u/flood", -1);
    h.seccomp(700, "/home/u/flood", 59, 0x40000003U);
    h.seccomp(700, "/home/u/flood", 2147483647, 0xdeadbeefU);
    auto hits = test::alerts_of(h.alerts, "seccomp_violation");
    CHECK(hits.size() == 1);
    h.engine->flush();
    hits = test::alerts_of(h.alerts, "seccomp_violation");
    REQUIRE(hits.size() == 2);
    const Alert& s = *hits[1];
    CHECK(s.count == 202);
    const auto it = std::find_if(s.distinct.begin(), s.distinct.end(), [](const DistinctValues& d) {
        return d.field == "seccomp.syscall";
    });
    REQUIRE(it != s.distinct.end());
    CHECK(it->distinct == 203);
    CHECK(it->values.size() == rules::DistinctTracker::kMaxValues);
    CHECK(s.summary.find("203 distinct syscalls: 'unknown(100000)'") != std::string::npos);
    CHECK(to_json(s).size() < 16384);
    // Another host user's process is another source: its own alert at once.
    h.exec(800, 1, "/home/v/other", {"other"}, 1001);
    audit::Event e;
    e.serial = 99999;
    e.sec = 1795338857;
    e.pid = 800;
    e.exe = "/home/v/other";
    e.uid = 1001;
    e.seccomp = audit::SeccompInfo{kX86_64, 100000, 0x00030000U, 31};
    h.engine->on_event(e);
    CHECK(test::alerts_of(h.alerts, "seccomp_violation").size() == 3);
}

TEST_CASE("aggregate.distinct and aggregate.by source in the rule language",
          "[engine][fold][loader]") {
    CHECK(test::rule_error("rules:\n  - id: x\n    summary: s\n    match: {event: seccomp}\n"
                           "    aggregate: {by: [source], distinct: [colour]}\n")
              .find("aggregate.distinct: unknown field 'colour' (process.cmdline, file.path, "
                    "seccomp.syscall, event.syscall, process.exe)") != std::string::npos);
    CHECK(test::rule_error("rules:\n  - id: x\n    summary: s\n    match: {event: seccomp}\n"
                           "    aggregate: {by: [colour]}\n")
              .find("aggregate.by: unknown field 'colour' (container.id, seccomp.syscall, "
                    "event.syscall, process.exe, file.path, process.uid, source)") !=
          std::string::npos);
    CHECK(test::rule_error("rules:\n  - id: x\n    summary: s\n    match: {event: seccomp}\n"
                           "    aggregate: {by: [source, process.uid], distinct: [seccomp.syscall, "
                           "file.path]}\n") == "no error");
    const auto set =
        rules::load_rules_texts({{"r.yaml",
                                  "rules:\n  - id: x\n    summary: s\n    match: {event: "
                                  "seccomp}\n    aggregate: {by: [source]}\n"}});
    REQUIRE(set->rules.at(0).aggregate);
    const auto names = [](const auto& fields) {
        std::vector<std::string> out;
        for (const auto* f : fields) {
            out.emplace_back(f->name);
        }
        return out;
    };
    CHECK(names(set->rules.at(0).aggregate->distinct) ==
          std::vector<std::string>{"process.cmdline", "file.path"});
    CHECK(names(set->rules.at(0).aggregate->by) == std::vector<std::string>{"source"});
    // The loader resolves the names once: what a rule names is what its windows use.
    const auto named =
        rules::load_rules_texts({{"r.yaml",
                                  "rules:\n  - id: x\n    summary: s\n    match: {event: "
                                  "seccomp}\n    aggregate: {by: [process.uid, container.id], "
                                  "distinct: [event.syscall]}\n"}});
    CHECK(names(named->rules.at(0).aggregate->by) ==
          std::vector<std::string>{"process.uid", "container.id"});
    CHECK(names(named->rules.at(0).aggregate->distinct) ==
          std::vector<std::string>{"event.syscall"});
}

TEST_CASE("the syscall-name cache holds known names only: distinct unknown numbers cost nothing",
          "[engine][syscalls]") {
    Harness h;
    h.exec(900, 1, "/usr/bin/bash", {"bash"});
    for (int nr = 1000; nr < 21000; ++nr) {
        audit::Event e = h.syscall(900, 1, "/usr/bin/bash", "getpid");
        e.syscall = nr;
        h.engine->on_event(e);
    }
    for (int i = 0; i < 10; ++i) {
        h.engine->on_event(h.syscall(900, 1, "/usr/bin/bash", "getpid"));
    }
    CHECK(h.engine->syscall_names_cached() <= 4);  // execve, getpid
    CHECK(h.engine->stats().syscall_names_uncached == 20000);
}
