// SPDX-License-Identifier: Apache-2.0
// Delivery that can be trusted: the disk spool, endpoints that are down, failing or slow, the
// gate (routing, dedup, rate limit), plugin_degraded, syslog.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "http_test_server.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/dispatcher.hpp"
#include "outputs/gate.hpp"
#include "outputs/spool.hpp"
#include "outputs/syslog.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/clock.hpp"

namespace fs = std::filesystem;
using namespace adock::test_http;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
using adock::outputs::Spool;

namespace {

using adock::test::TempDir;

unsigned mode_of(const std::string& path) {
    struct stat st {};

    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777U;
}

std::string seq_json(int i) {
    return R"({"seq":)" + std::to_string(i) + "}";
}

/// A config for a delivering webhook with a spool in `spool_dir`, fast retries.
adock::config::OutputConfig spooled_hook(const std::string& url, const std::string& spool_dir) {
    auto cfg = hook_config(url);
    cfg.retries = 1;
    cfg.backoff_initial_ms = 10;
    cfg.backoff_max_ms = 50;
    cfg.spool_dir = spool_dir;
    return cfg;
}

std::vector<std::string> bodies(const TestServer& server) {
    std::vector<std::string> out;
    for (const auto& r : server.requests()) {
        out.push_back(r.body);
    }
    return out;
}

adock::Alert sample_alert(const std::string& rule,
                          const std::string& exe,
                          std::vector<std::string> tags = {}) {
    adock::Alert a;
    a.rule_id = rule;
    a.host = "h1";
    a.severity = adock::Severity::High;
    a.process.exe = exe;
    a.tags = std::move(tags);
    a.summary = rule + " by " + exe;
    return a;
}

/// A socket bound to 127.0.0.1 on a free port (listening when a stream socket); its port.
std::pair<int, std::uint16_t> loopback_socket(int type) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    if (type == SOCK_STREAM) {
        REQUIRE(::listen(fd, 4) == 0);
    }
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return {fd, ntohs(addr.sin_port)};
}

adock::config::OutputConfig syslog_to(const std::string& address) {
    adock::config::OutputConfig cfg;
    cfg.name = "sys";
    cfg.type = adock::config::OutputType::Syslog;
    cfg.address = address;
    return cfg;
}

/// One datagram, or "" after 5 s.
std::string recv_datagram(int fd) {
    std::string buf(70000, '\0');
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buf;
}

AlertMessage msg_of(adock::Alert a) {
    return AlertMessage::of(std::move(a));
}

}  // namespace

TEST_CASE("spool keeps records in order across reopening, 0600 in a 0700 directory",
          "[outputs][spool]") {
    TempDir tmp;
    const std::string dir = tmp / "spool/out.webhook";
    {
        Spool s(dir, 1 << 20);
        CHECK(s.empty());
        REQUIRE(s.append("one") == Spool::Append::Ok);
        REQUIRE(s.append("two\nlines") == Spool::Append::Ok);  // length-prefixed: any bytes
        REQUIRE(s.append("three") == Spool::Append::Ok);
        CHECK(s.pending() == 3);
        REQUIRE(s.front() == std::optional<std::string>("one"));
        CHECK(s.front() == std::optional<std::string>("one"));  // until pop()
        s.pop();
        CHECK(s.pending() == 2);
    }
    CHECK(mode_of(dir) == 0700);
    for (const auto& e : fs::directory_iterator(dir)) {
        CHECK(mode_of(e.path().string()) == 0600);
    }
    Spool again(dir, 1 << 20);
    CHECK(again.pending() == 2);
    REQUIRE(again.front() == std::optional<std::string>("two\nlines"));
    again.pop();
    REQUIRE(again.append("four") == Spool::Append::Ok);
    REQUIRE(again.front() == std::optional<std::string>("three"));
    again.pop();
    REQUIRE(again.front() == std::optional<std::string>("four"));
    again.pop();
    CHECK(again.empty());
    CHECK(again.bytes() == 0);  // delivered segments are deleted
    CHECK_FALSE(again.front().has_value());
}

TEST_CASE("spool is bounded, spans segments and refuses a second process", "[outputs][spool]") {
    TempDir tmp;
    const std::string dir = tmp / "s";
    const std::string payload(1000, 'x');
    std::size_t accepted = 0;
    {
        Spool s(dir, 20000, 4096);
        while (s.append(payload) == Spool::Append::Ok) {
            ++accepted;
        }
        CHECK(accepted == 19);  // 1006 bytes a record, 20000 at most
        CHECK(s.bytes() <= 20000);
        CHECK(s.append(payload) == Spool::Append::Full);
        std::size_t segments = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
            segments += e.path().extension() == ".seg" ? 1 : 0;
        }
        CHECK(segments > 1);
        // One process per spool: another open of the same directory is refused (flock).
        CHECK_THROWS(Spool(dir, 20000));
        // Within the process, open() shares the instance (an output and its reload successor).
        auto a = Spool::open(tmp / "shared", 20000);
        auto b = Spool::open(tmp / "shared", 20000);
        CHECK(a.get() == b.get());
    }
    Spool s(dir, 20000, 4096);
    CHECK(s.pending() == accepted);
    std::size_t read = 0;
    while (auto r = s.front()) {
        CHECK(*r == payload);
        s.pop();
        ++read;
    }
    CHECK(read == accepted);
}

TEST_CASE("spool truncates a record torn by a crash and keeps the rest", "[outputs][spool]") {
    TempDir tmp;
    const std::string dir = tmp / "s";
    {
        Spool s(dir, 1 << 20);
        REQUIRE(s.append("a") == Spool::Append::Ok);
        REQUIRE(s.append("b") == Spool::Append::Ok);
    }
    std::string seg;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".seg") {
            seg = e.path().string();
        }
    }
    REQUIRE_FALSE(seg.empty());
    {
        std::ofstream out(seg, std::ios::app | std::ios::binary);
        out << "120\n{\"half";  // a write cut short
    }
    Spool s(dir, 1 << 20);
    CHECK(s.pending() == 2);
    CHECK(s.lost() == 1);
    REQUIRE(s.append("c") == Spool::Append::Ok);
    std::vector<std::string> got;
    while (auto r = s.front()) {
        got.push_back(*r);
        s.pop();
    }
    CHECK(got == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("an endpoint down for the first alerts gets all of them, in order, none twice",
          "[outputs][delivery]") {
    ensure_curl_global();
    TempDir tmp;
    const std::uint16_t port = closed_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    auto sink = adock::outputs::make_sink(spooled_hook(url, tmp / "spool"));
    sink->start();
    for (int i = 0; i < 5; ++i) {
        REQUIRE(sink->submit(message(seq_json(i))));
    }
    REQUIRE(wait_for([&] { return sink->stats().spooled == 5; }));
    CHECK(sink->stats().spool_pending == 5);
    CHECK(sink->stats().delivered == 0);

    TestServer server({Reply{200}}, port);  // the endpoint comes back
    REQUIRE(wait_for([&] { return sink->stats().delivered == 5; }, 10s));
    for (int i = 5; i < 8; ++i) {
        REQUIRE(sink->submit(message(seq_json(i))));
    }
    REQUIRE(wait_for([&] { return sink->stats().delivered == 8; }));
    sink->stop(1s);
    std::vector<std::string> want;
    for (int i = 0; i < 8; ++i) {
        want.push_back(seq_json(i));
    }
    CHECK(bodies(server) == want);
    const auto s = sink->stats();
    CHECK(s.dropped == 0);
    CHECK(s.spool_pending == 0);
}

/// The payloads on disk in a spool directory (read without opening the spool: its owner may still
/// hold it), undelivered or not, in file order.
std::string raw_spool(const std::string& dir) {
    std::vector<std::string> segs;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".seg") {
            segs.push_back(e.path().string());
        }
    }
    std::sort(segs.begin(), segs.end());
    std::string all;
    for (const auto& s : segs) {
        all += adock::test::slurp(s);
    }
    return all;
}

TEST_CASE("write-ahead: alerts are on disk before the first attempt, while retried in memory",
          "[outputs][delivery][wal]") {
    ensure_curl_global();
    TempDir tmp;
    const std::uint16_t port = closed_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    auto cfg = spooled_hook(url, tmp / "spool");
    cfg.retries = 100;  // the most a config allows: retried in memory for a long time
    cfg.backoff_initial_ms = 200;
    cfg.backoff_max_ms = 200;
    {
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 0; i < 6; ++i) {
            REQUIRE(sink->submit(message(seq_json(i))));
        }
        // The first attempt can fail before the worker has taken the later alerts off its queue:
        // wait for both, then read what a kill -9 now would leave: every alert, in order, on disk.
        REQUIRE(wait_for([&] {
            const auto s = sink->stats();
            return s.failed >= 1 && s.spooled >= 6;
        }));
        const std::string disk = raw_spool(tmp / "spool");
        std::size_t at = 0;
        for (int i = 0; i < 6; ++i) {
            const auto found = disk.find(seq_json(i), at);
            REQUIRE(found != std::string::npos);
            at = found;
        }
        CHECK(sink->stats().spool_pending == 6);
        CHECK(sink->stats().backlogged);
        sink->stop(0ms);
    }
    TestServer server({Reply{200}}, port);
    auto sink = adock::outputs::make_sink(spooled_hook(url, tmp / "spool"));
    sink->start();
    REQUIRE(wait_for([&] { return sink->stats().delivered == 6; }));
    sink->stop(1s);
    std::vector<std::string> want;
    for (int i = 0; i < 6; ++i) {
        want.push_back(seq_json(i));
    }
    CHECK(bodies(server) == want);
    CHECK_FALSE(sink->stats().backlogged);
}

TEST_CASE(
    "write-ahead: the cursor moves only past delivered records; a spool that cannot take an "
    "alert falls back to memory",
    "[outputs][delivery][wal]") {
    ensure_curl_global();
    TempDir tmp;
    SECTION("delivered records leave the spool, nothing else does") {
        TestServer server({Reply{200}, Reply{503}});
        auto sink = adock::outputs::make_sink(spooled_hook(server.url(), tmp / "spool"));
        sink->start();
        REQUIRE(sink->submit(message(seq_json(1))));
        REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
        REQUIRE(wait_for([&] { return sink->stats().spool_pending == 0; }));
        REQUIRE(sink->submit(message(seq_json(2))));  // 503 from now on
        REQUIRE(wait_for([&] { return sink->stats().failed >= 2; }));
        sink->stop(0ms);
        sink.reset();
        Spool left(tmp / "spool", 1 << 20);
        CHECK(left.pending() == 1);
        CHECK(left.front() == std::optional<std::string>(seq_json(2)));
    }
    SECTION("an alert larger than the spool's bound is still delivered") {
        TestServer server({Reply{200}});
        auto cfg = spooled_hook(server.url(), tmp / "spool");
        cfg.spool_max_bytes = 8;
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        REQUIRE(sink->submit(message(seq_json(123456))));
        REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
        sink->stop(1s);
        CHECK(sink->stats().dropped == 0);
        CHECK(bodies(server) == std::vector<std::string>{seq_json(123456)});
    }
}

TEST_CASE("500s are retried, then spooled, then delivered once the endpoint recovers",
          "[outputs][delivery]") {
    ensure_curl_global();
    TempDir tmp;
    TestServer server({Reply{500}, Reply{500}, Reply{500}, Reply{200}});
    auto cfg = spooled_hook(server.url(), tmp / "spool");
    cfg.retries = 2;
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    REQUIRE(sink->submit(message(seq_json(1))));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    const auto s = sink->stats();
    CHECK(s.failed == 3);
    CHECK(s.retried >= 2);
    CHECK(s.spooled == 1);
    CHECK(s.dropped == 0);
    CHECK(server.request_count() == 4);
}

TEST_CASE("alerts spooled at shutdown are delivered after a restart", "[outputs][delivery]") {
    ensure_curl_global();
    TempDir tmp;
    const std::uint16_t port = closed_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    {
        auto cfg = spooled_hook(url, tmp / "spool");
        cfg.retries = 50;  // still retrying the first when the stop comes
        cfg.backoff_initial_ms = 100;
        cfg.backoff_max_ms = 100;
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 0; i < 4; ++i) {
            REQUIRE(sink->submit(message(seq_json(i))));
        }
        sink->stop(300ms);  // SIGTERM/EOF: drain until the deadline, spool the rest
        const auto s = sink->stats();
        CHECK(s.spooled == 4);
        CHECK(s.dropped == 0);
    }
    TestServer server({Reply{200}}, port);
    auto sink = adock::outputs::make_sink(spooled_hook(url, tmp / "spool"));
    CHECK(sink->stats().spool_pending == 4);
    sink->start();
    REQUIRE(wait_for([&] { return sink->stats().delivered == 4; }));
    sink->stop(1s);
    CHECK(bodies(server) ==
          std::vector<std::string>{seq_json(0), seq_json(1), seq_json(2), seq_json(3)});
}

TEST_CASE("a receiver answering after 10 s delays neither the engine nor the file output",
          "[outputs][delivery]") {
    ensure_curl_global();
    TempDir tmp;
    TestServer server({Reply{200, 10s}});
    auto hook = spooled_hook(server.url(), tmp / "spool");
    hook.timeout_ms = 20000;
    hook.queue_size = 4096;
    adock::config::OutputConfig file;
    file.name = "file";
    file.type = adock::config::OutputType::File;
    file.path = tmp / "alerts.jsonl";
    std::vector<std::unique_ptr<adock::outputs::Sink>> sinks;
    sinks.push_back(adock::outputs::make_sink(hook));
    sinks.push_back(adock::outputs::make_sink(file));
    for (auto& s : sinks) {
        s->start();
    }
    adock::outputs::Dispatcher out;
    (void)out.replace(std::move(sinks));
    for (int i = 0; i < 200; ++i) {
        out.dispatch(sample_alert("r" + std::to_string(i), "/bin/x"));
    }
    // Not a stopwatch: the file output has all 200 while the receiver has answered nothing
    // (its first answer is 10 s after the first request), so neither dispatch() nor the file
    // output waited for it.
    REQUIRE(wait_for(
        [&] {
            for (const auto& s : out.stats()) {
                if (s.name == "file" && s.stats.delivered == 200) {
                    return true;
                }
            }
            return false;
        },
        8s));
    REQUIRE(wait_for([&] { return server.request_count() >= 1; }, 8s));  // control: the hook asked
    CHECK(server.answered() == 0);
    out.stop(200ms);  // the slow one: what it did not deliver is spooled, not lost
    Spool left(tmp / "spool", 1 << 30);
    CHECK(left.pending() >= 199);
}

TEST_CASE("gate routes by rule and tag globs", "[outputs][gate]") {
    adock::config::OutputConfig cfg;
    cfg.name = "g";
    cfg.include_rules = {"runc_*", "runtime_binary_tampered"};
    cfg.exclude_tags = {"authorized_*"};
    adock::outputs::Gate gate(cfg);
    const auto now = adock::outputs::Gate::Clock::now();
    using V = adock::outputs::Gate::Verdict;
    CHECK(gate.offer(msg_of(sample_alert("runc_suspicious_exec", "/a")), now) == V::Pass);
    CHECK(gate.offer(msg_of(sample_alert("seccomp_violation", "/a")), now) == V::Filtered);
    CHECK(gate.offer(msg_of(sample_alert("runtime_binary_tampered", "/b", {"authorized_update"})),
                     now) == V::Filtered);
    CHECK(gate.offer(msg_of(sample_alert("runtime_binary_tampered", "/b", {"container_escape"})),
                     now) == V::Pass);
    CHECK(gate.counters().filtered == 2);

    adock::config::OutputConfig tags;
    tags.include_tags = {"container_escape"};
    tags.min_severity = adock::Severity::Critical;
    adock::outputs::Gate by_tag(tags);
    auto crit = sample_alert("x", "/a", {"container_escape"});
    crit.severity = adock::Severity::Critical;
    CHECK(by_tag.offer(msg_of(crit), now) == V::Pass);
    // high
    CHECK(by_tag.offer(msg_of(sample_alert("x", "/a", {"container_escape"})), now) == V::Filtered);
    CHECK(by_tag.offer(msg_of(sample_alert("x", "/a", {"other"})), now) == V::Filtered);
}

TEST_CASE("gate folds repeats of one incident into one later message with the count",
          "[outputs][gate]") {
    adock::config::OutputConfig cfg;
    cfg.name = "g";
    cfg.dedup_window_s = 60;
    adock::outputs::Gate gate(cfg);
    using V = adock::outputs::Gate::Verdict;
    const auto t0 = adock::outputs::Gate::Clock::now();
    CHECK(gate.offer(msg_of(sample_alert("r", "/bin/bash")), t0) == V::Pass);
    for (int i = 1; i <= 4; ++i) {
        CHECK(gate.offer(msg_of(sample_alert("r", "/bin/bash")), t0 + std::chrono::seconds(i)) ==
              V::Folded);
    }
    // Another executable is another incident.
    CHECK(gate.offer(msg_of(sample_alert("r", "/usr/bin/python3")), t0 + 5s) == V::Pass);
    CHECK(gate.due(t0 + 30s).empty());
    const auto due = gate.due(t0 + 61s);
    REQUIRE(due.size() == 1);
    CHECK(due[0].alert->repeats == 4ULL);
    CHECK(due[0].alert->summary.find("repeated 4 more times within 60 s") != std::string::npos);
    CHECK(due[0].json->find(R"("repeats":4)") != std::string::npos);
    CHECK(gate.counters().folded == 4);
    // The window is over: the next one passes and opens a new window.
    CHECK(gate.offer(msg_of(sample_alert("r", "/bin/bash")), t0 + 62s) == V::Pass);
    CHECK(gate.due(t0 + 200s).empty());  // no repeats in it: nothing to say

    // A window that ends between two due() calls keeps its count: the next offer opens a new
    // window and the summary of the old one waits for due().
    const auto t1 = t0 + 300s;
    CHECK(gate.offer(msg_of(sample_alert("r", "/bin/zsh")), t1) == V::Pass);
    CHECK(gate.offer(msg_of(sample_alert("r", "/bin/zsh")), t1 + 1s) == V::Folded);
    CHECK(gate.offer(msg_of(sample_alert("r", "/bin/zsh")), t1 + 61s) == V::Pass);
    const auto late = gate.due(t1 + 62s);
    REQUIRE(late.size() == 1);
    CHECK(late[0].alert->repeats == 1ULL);
}

TEST_CASE("gate rate limit holds back the excess in each window and counts it", "[outputs][gate]") {
    adock::config::OutputConfig cfg;
    cfg.name = "g";
    cfg.rate_limit = 3;
    cfg.rate_window_s = 10;
    adock::outputs::Gate gate(cfg);
    using V = adock::outputs::Gate::Verdict;
    const auto t0 = adock::outputs::Gate::Clock::now();
    int passed = 0;
    for (int i = 0; i < 10; ++i) {
        passed +=
            gate.offer(msg_of(sample_alert("r" + std::to_string(i), "/x")), t0) == V::Pass ? 1 : 0;
    }
    CHECK(passed == 3);
    CHECK(gate.counters().rate_limited == 7);
    CHECK(gate.offer(msg_of(sample_alert("later", "/x")), t0 + 11s) == V::Pass);
}

TEST_CASE("an output that drops raises plugin_degraded through the outputs that still work",
          "[outputs][delivery]") {
    ensure_curl_global();
    auto dead = hook_config("http://127.0.0.1:" + std::to_string(closed_port()) + "/hook");
    dead.name = "pager";
    dead.retries = 0;  // no spool configured: a failure is a drop
    std::vector<adock::Alert> collected;
    std::vector<std::unique_ptr<adock::outputs::Sink>> sinks;
    sinks.push_back(adock::outputs::make_sink(dead));
    sinks.push_back(std::make_unique<adock::test::CollectSink>(collected));
    std::vector<adock::Alert> critical_only;  // plugin_degraded is high: not for this one
    sinks.push_back(
        std::make_unique<adock::test::CollectSink>(critical_only, adock::Severity::Critical));
    for (auto& s : sinks) {
        s->start();
    }
    adock::util::ManualClock clock;
    adock::outputs::Dispatcher out(clock);
    out.configure("host-a", 50);
    (void)out.replace(std::move(sinks));
    out.dispatch(sample_alert("runc_suspicious_exec", "/bin/bash"));
    REQUIRE(wait_for([&] { return out.stats()[0].stats.dropped == 1; }));
    out.tick(clock.now());
    CHECK(out.degraded_alerts() == 1);
    const auto degraded = adock::test::alerts_of(collected, "plugin_degraded");
    REQUIRE(degraded.size() == 1);
    CHECK(degraded[0]->host == "host-a");
    CHECK(degraded[0]->summary.find("output 'pager' is degraded: 1 alert(s) dropped") !=
          std::string::npos);
    CHECK(out.stats()[0].stats.generated == 1);  // not offered to the broken output itself
    CHECK(critical_only.empty());                // nor to one whose min_severity is above it
    out.tick(clock.now());                       // reported once, not on every tick
    CHECK(out.degraded_alerts() == 1);
    // Still dropping: reported again once the repeat interval (10 min) is over, not before.
    out.dispatch(sample_alert("runc_leaked_fd_cwd", "/bin/bash"));
    REQUIRE(wait_for([&] { return out.stats()[0].stats.dropped == 2; }));
    clock.advance(10min - 1ns);
    out.tick(clock.now());
    CHECK(out.degraded_alerts() == 1);
    out.dispatch(sample_alert("container_host_mount", "/bin/bash"));
    REQUIRE(wait_for([&] { return out.stats()[0].stats.dropped == 3; }));
    clock.advance(1ns);
    out.tick(clock.now());
    CHECK(out.degraded_alerts() == 2);
    CHECK(adock::test::alerts_of(collected, "plugin_degraded").size() == 2);
    out.stop(500ms);
}

TEST_CASE("syslog: RFC 5424 over UDP, TCP (octet counting) and a local datagram socket",
          "[outputs][syslog]") {
    auto a = sample_alert("runc_suspicious_exec", "/usr/bin/runc");
    a.time = "2026-11-30T10:00:00.123Z";
    a.severity = adock::Severity::Critical;
    const auto m = msg_of(a);
    const std::string line = adock::outputs::syslog_message(m, 10, "audisp-docker", 64 * 1024);
    // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG; authpriv(10)*8 + crit(2) = 82
    CHECK(line == "<82>1 2026-11-30T10:00:00.123Z h1 audisp-docker " + std::to_string(::getpid()) +
                      " runc_suspicious_exec - " + *m.json);
    const std::string small = adock::outputs::syslog_message(m, 10, "audisp-docker", 200);
    CHECK(small.size() <= 200 + 64);
    CHECK(small.find(R"("truncated":true)") != std::string::npos);

    TempDir tmp;
    SECTION("udp") {
        const auto [fd, port] = loopback_socket(SOCK_DGRAM);
        auto sink = adock::outputs::make_sink(syslog_to("udp:127.0.0.1:" + std::to_string(port)));
        sink->start();
        REQUIRE(sink->submit(m));
        CHECK(recv_datagram(fd) == line);
        sink->stop(1s);
        CHECK(sink->stats().delivered == 1);
        ::close(fd);
    }
    SECTION("tcp") {
        const auto [fd, port] = loopback_socket(SOCK_STREAM);
        auto sink = adock::outputs::make_sink(syslog_to("tcp:127.0.0.1:" + std::to_string(port)));
        sink->start();
        REQUIRE(sink->submit(m));
        REQUIRE(sink->submit(m));
        const int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        REQUIRE(conn >= 0);
        const std::string frame = std::to_string(line.size()) + " " + line;
        std::string got;
        timeval tv{5, 0};
        ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (got.size() < 2 * frame.size()) {
            char chunk[4096];
            const ssize_t n = ::recv(conn, chunk, sizeof chunk, 0);
            REQUIRE(n > 0);
            got.append(chunk, static_cast<std::size_t>(n));
        }
        CHECK(got == frame + frame);
        sink->stop(1s);
        CHECK(sink->stats().delivered == 2);
        ::close(conn);
        ::close(fd);
    }
    SECTION("unix datagram (the /dev/log kind)") {
        const std::string path = tmp / "log.sock";
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        auto sink = adock::outputs::make_sink(syslog_to("unix:" + path));
        sink->start();
        REQUIRE(sink->submit(m));
        CHECK(recv_datagram(fd) == line);
        sink->stop(1s);
        ::close(fd);
    }
}

TEST_CASE("every HTTP output type POSTs its documented shape; secrets stay off the spool",
          "[outputs][delivery]") {
    ensure_curl_global();
    TempDir tmp;
    TestServer server({Reply{202}});
    { std::ofstream(tmp / "pd.key") << "R0123456789abcdef0123456789abcdef\n"; }
    const std::string url =
        "http://127.0.0.1:" + server.url().substr(17, server.url().find('/', 17) - 17);
    const std::string yaml = "spool_dir: " + (tmp / "spool") +
                             "\n"
                             "outputs:\n"
                             "  - {name: t, type: teams, url: \"" +
                             url +
                             "/teams\"}\n"
                             "  - {name: d, type: discord, url: \"" +
                             url +
                             "/discord\"}\n"
                             "  - {name: p, type: pagerduty, url: \"" +
                             url + "/pd\", routing_key_file: " + (tmp / "pd.key") +
                             "}\n"
                             "  - {name: o, type: opsgenie, url: \"" +
                             url +
                             "/og\", api_key: og-secret-key}\n"
                             "  - {name: f, type: falco, url: \"" +
                             url +
                             "/falco\"}\n"
                             "  - {name: s, type: slack, url: \"" +
                             url + "/slack\"}\n";
    const auto cfg = adock::config::load_config_string(yaml, "c.yaml");
    REQUIRE(cfg.outputs.size() == 6);
    CHECK(cfg.outputs[2].spool_dir == tmp / "spool/p.pagerduty");
    CHECK(cfg.outputs[0].dedup_window_s == 60);  // chat and pager outputs fold repeats by default
    auto alert = sample_alert("runc_suspicious_exec", "/usr/sbin/runc", {"container_runtime"});
    alert.time = "2026-11-30T10:00:00.123Z";
    alert.process.argv = {"runc", "--root", "/run/x", "exec", "<!channel> @everyone"};
    const auto m = msg_of(alert);
    for (const auto& o : cfg.outputs) {
        auto sink = adock::outputs::make_sink(o);
        sink->start();
        REQUIRE(sink->submit(m));
        REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
        sink->stop(1s);
    }
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 6);
    auto body_of = [&](const std::string& path) {
        for (const auto& r : reqs) {
            if (r.request_line.find("POST " + path + " ") == 0) {
                return adock::test::load_json(r.body);
            }
        }
        FAIL("no request to " << path);
        return YAML::Node();
    };
    const auto teams = body_of("/teams");
    CHECK(teams["type"].as<std::string>() == "message");
    CHECK(teams["attachments"][0]["contentType"].as<std::string>() ==
          "application/vnd.microsoft.card.adaptive");
    CHECK(teams["attachments"][0]["content"]["type"].as<std::string>() == "AdaptiveCard");
    const auto discord = body_of("/discord");
    CHECK(discord["allowed_mentions"]["parse"].size() == 0);
    CHECK(discord["embeds"].size() == 1);
    const auto pd = body_of("/pd");
    // spliced on the wire
    CHECK(pd["routing_key"].as<std::string>() == "R0123456789abcdef0123456789abcdef");
    CHECK(pd["event_action"].as<std::string>() == "trigger");
    CHECK(pd["payload"]["severity"].as<std::string>() == "error");
    CHECK(pd["dedup_key"].as<std::string>().starts_with("audisp-docker/runc_suspicious_exec/"));
    const auto og = body_of("/og");
    CHECK(og["priority"].as<std::string>() == "P2");
    CHECK(og["alias"].as<std::string>() == pd["dedup_key"].as<std::string>());
    for (const auto& r : reqs) {
        if (r.request_line.starts_with("POST /og ")) {
            CHECK(r.headers.find("Authorization: GenieKey og-secret-key\r\n") != std::string::npos);
        }
    }
    const auto falco = body_of("/falco");
    CHECK(falco["source"].as<std::string>() == "auditd");
    CHECK(falco["rule"].as<std::string>() == "runc_suspicious_exec");
    CHECK(falco["priority"].as<std::string>() == "Error");
    CHECK(falco["time"].as<std::string>() == "2026-11-30T10:00:00.123000000Z");
    const auto slack = body_of("/slack");
    CHECK(slack["blocks"].size() >= 3);

    // The same alert spooled for PagerDuty (endpoint down) holds no routing key.
    auto down = cfg.outputs[2];
    down.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/pd";
    down.retries = 0;
    {
        auto sink = adock::outputs::make_sink(down);
        sink->start();
        REQUIRE(sink->submit(m));
        REQUIRE(wait_for([&] { return sink->stats().spooled == 1; }));
        sink->stop(200ms);
    }
    std::string spooled;
    for (const auto& e : fs::directory_iterator(down.spool_dir)) {
        spooled += adock::test::slurp(e.path().string());
    }
    CHECK(spooled.find("event_action") != std::string::npos);
    CHECK(spooled.find("R0123456789abcdef") == std::string::npos);
}

TEST_CASE("config: secrets from files and the environment, errors that name no secret",
          "[outputs][config]") {
    TempDir tmp;
    { std::ofstream(tmp / "url") << "https://hooks.example/services/T/B/secret\n"; }
    ::setenv("ADOCK_TEST_OG_KEY", "env-key-123", 1);
    const auto c = adock::config::load_config_string(
        "outputs:\n"
        "  - {name: s, type: slack, url_file: " +
            (tmp / "url") +
            "}\n"
            "  - {name: o, type: opsgenie, api_key_env: ADOCK_TEST_OG_KEY, include_rules: "
            "[runc_*],\n"
            "     exclude_tags: [authorized_update], rate_limit: 10, rate_window_s: 60, "
            "dedup_window_s: 0}\n"
            "  - {name: sys, type: syslog, address: \"tcp:127.0.0.1:6514\", facility: local3, "
            "spool: false}\n",
        "c.yaml");
    CHECK(c.outputs[0].url == "https://hooks.example/services/T/B/secret");
    CHECK(c.outputs[1].secret == "env-key-123");
    CHECK(c.outputs[1].url == "https://api.opsgenie.com/v2/alerts");
    CHECK(c.outputs[1].include_rules == std::vector<std::string>{"runc_*"});
    CHECK(c.outputs[1].rate_limit == 10);
    CHECK(c.outputs[1].dedup_window_s == 0);
    CHECK(c.outputs[2].facility == 19);
    CHECK(c.outputs[2].spool_dir.empty());
    ::setenv("ADOCK_TEST_URL", "http://127.0.0.1:9/hook", 1);
    CHECK(adock::config::load_config_string(
              "outputs:\n  - {name: w, type: webhook, url_env: ADOCK_TEST_URL}\n", "c.yaml")
              .outputs[0]
              .url == "http://127.0.0.1:9/hook");
    ::unsetenv("ADOCK_TEST_URL");
    ::unsetenv("ADOCK_TEST_OG_KEY");

    auto error_of = [](const std::string& text) {
        try {
            (void)adock::config::load_config_string(text, "c.yaml");
        } catch (const adock::config::ConfigError& e) {
            return e.format();
        }
        return std::string("no error");
    };
    CHECK(error_of("outputs:\n  - {name: p, type: pagerduty}\n") ==
          "c.yaml:2:5: output 'p': needs 'routing_key', 'routing_key_file' or 'routing_key_env'");
    CHECK(
        error_of(
            "outputs:\n  - {name: p, type: pagerduty, routing_key: a, routing_key_env: B}\n") ==
        "c.yaml:2:5: output 'p': give one of 'routing_key', 'routing_key_file', 'routing_key_env'");
    CHECK(error_of("outputs:\n  - {name: o, type: opsgenie, api_key_env: ADOCK_NOT_SET_ANYWHERE}\n")
              .find("environment variable ADOCK_NOT_SET_ANYWHERE is not set") != std::string::npos);
    CHECK(error_of("outputs:\n  - {name: s, type: slack, url: \"https://x\", url_env: X}\n") ==
          "c.yaml:2:5: output 's': give one of 'url', 'url_file', 'url_env'");
    CHECK(error_of("outputs:\n  - {name: s, type: slack, url_file: /nonexistent/u}\n") ==
          "c.yaml:2:5: output 's': url_file: cannot read /nonexistent/u");
    CHECK(error_of("outputs:\n  - {name: w, type: webhook, url: \"http://h\", headers_file: "
                   "{X-Key: /nonexistent/k}}\n") ==
          "c.yaml:2:5: output 'w': headers_file: cannot read /nonexistent/k");
    CHECK(error_of("outputs:\n  - {name: s, type: syslog, address: \"10.0.0.1:514\"}\n") ==
          "c.yaml:2:5: output 's': address: expected unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT");
    CHECK(error_of("outputs:\n  - {name: s, type: syslog, facility: mars}\n").find("facility") !=
          std::string::npos);
    CHECK(error_of("outputs:\n  - {name: ../x, type: stdout}\n").find("a name is letters") !=
          std::string::npos);
    CHECK(error_of("outputs:\n  - {name: f, type: file, path: /x, retries: 3}\n") ==
          "c.yaml:2:37: unknown key 'retries' in output 'file'");
}

TEST_CASE("dispatcher: an output's fold summary goes out when its window ends; others get all",
          "[outputs][gate]") {
    TempDir tmp;
    adock::config::OutputConfig folded;
    folded.name = "folded";
    folded.type = adock::config::OutputType::File;
    folded.path = tmp / "folded.jsonl";
    folded.dedup_window_s = 1;
    adock::config::OutputConfig all = folded;
    all.name = "all";
    all.path = tmp / "all.jsonl";
    all.dedup_window_s = 0;
    std::vector<std::unique_ptr<adock::outputs::Sink>> sinks;
    sinks.push_back(adock::outputs::make_sink(folded));
    sinks.push_back(adock::outputs::make_sink(all));
    for (auto& s : sinks) {
        s->start();
    }
    adock::util::ManualClock clock;
    adock::outputs::Dispatcher out(clock);
    (void)out.replace(std::move(sinks));
    for (int i = 0; i < 3; ++i) {
        out.dispatch(sample_alert("runc_suspicious_exec", "/bin/bash"));
    }
    out.tick(clock.now());  // the window is still open
    CHECK(out.stats()[0].stats.generated == 1);
    clock.advance(1s - 1ns);
    out.tick(clock.now());  // ... to its last instant
    CHECK(out.stats()[0].stats.generated == 1);
    clock.advance(1ns);
    out.tick(clock.now());  // it ends exactly a window after the first: the summary goes out
    const auto stats = out.stats();
    CHECK(stats[0].stats.generated == 2);
    CHECK(stats[0].stats.folded == 2);
    out.dispatch(sample_alert("runc_suspicious_exec", "/bin/sh"));
    out.dispatch(sample_alert("runc_suspicious_exec", "/bin/sh"));  // folded, window open
    out.stop(1s);                                                   // ... and told at shutdown
    const std::string f = adock::test::slurp(tmp / "folded.jsonl");
    const std::string a = adock::test::slurp(tmp / "all.jsonl");
    CHECK(std::count(a.begin(), a.end(), '\n') == 5);
    REQUIRE(std::count(f.begin(), f.end(), '\n') == 4);
    CHECK(f.find(R"("repeats":1)") != std::string::npos);
    CHECK(f.find(R"("repeats":2)") != std::string::npos);
    CHECK(f.find("(repeated 2 more times within 1 s)") != std::string::npos);
}

TEST_CASE("after a reload the old and the new output share the spool: each record once",
          "[outputs][delivery]") {
    ensure_curl_global();
    TempDir tmp;
    const std::uint16_t port = closed_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    auto cfg = spooled_hook(url, tmp / "spool");
    cfg.backoff_initial_ms = 5;
    cfg.backoff_max_ms = 5;  // the old output keeps trying the head as fast as it can
    auto old_sink = adock::outputs::make_sink(cfg);
    old_sink->start();
    for (int i = 0; i < 20; ++i) {
        REQUIRE(old_sink->submit(message(seq_json(i))));
    }
    REQUIRE(wait_for([&] { return old_sink->stats().spooled == 20; }));
    TestServer server({Reply{200, 20ms}}, port);     // back, a little slow: attempts overlap
    auto new_sink = adock::outputs::make_sink(cfg);  // SIGHUP: same spool, while the old one runs
    new_sink->start();
    for (int i = 20; i < 25; ++i) {
        REQUIRE(new_sink->submit(message(seq_json(i))));
    }
    std::this_thread::sleep_for(100ms);
    old_sink->stop(1s);
    REQUIRE(wait_for([&] { return server.request_count() >= 25; }, 10s));
    std::this_thread::sleep_for(200ms);
    new_sink->stop(1s);
    std::vector<std::string> want;
    for (int i = 0; i < 25; ++i) {
        want.push_back(seq_json(i));
    }
    CHECK(bodies(server) == want);
}

TEST_CASE("delivery latency: from the event's time to the endpoint's 2xx, spooled alerts included",
          "[outputs][delivery][metrics]") {
    ensure_curl_global();
    TempDir tmp;
    const std::uint16_t port = closed_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    auto timed = [](int i, std::int64_t age_ms) {
        auto a = std::make_shared<adock::Alert>();
        a->severity = adock::Severity::High;
        a->time_ms = adock::outputs::wall_ms() - age_ms;
        return AlertMessage{a, std::make_shared<const std::string>(seq_json(i))};
    };
    {
        // A previous run leaves two records in the spool: their event times are not known.
        auto cfg = spooled_hook(url, tmp / "spool");
        cfg.retries = 50;
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        REQUIRE(sink->submit(timed(0, 0)));
        REQUIRE(sink->submit(timed(1, 0)));
        sink->stop(200ms);
        REQUIRE(sink->stats().spooled == 2);
    }
    auto sink = adock::outputs::make_sink(spooled_hook(url, tmp / "spool"));
    sink->start();
    // Three events 3 s old (the 5 s bucket), spooled behind the endpoint being down.
    for (int i = 2; i < 5; ++i) {
        REQUIRE(sink->submit(timed(i, 3000)));
    }
    REQUIRE(wait_for([&] { return sink->stats().spooled == 3; }));
    CHECK(sink->stats().latency.count == 0);
    TestServer server({Reply{200}}, port);
    REQUIRE(wait_for([&] { return sink->stats().delivered == 5; }, 10s));
    sink->stop(1s);
    const auto c = sink->stats().latency;
    CHECK(c.count == 3);
    // 3 s up to a few seconds of retries: between 2.5 s and 30 s, never below.
    std::uint64_t below = 0;
    std::uint64_t in_range = 0;
    for (std::size_t i = 0; i < adock::util::kLatencyBounds.size(); ++i) {
        if (adock::util::kLatencyBounds[i] <= 2.5) {
            below += c.buckets[i];
        } else if (adock::util::kLatencyBounds[i] <= 30) {
            in_range += c.buckets[i];
        }
    }
    CHECK(below == 0);
    CHECK(in_range == 3);
    CHECK(c.sum_us >= 9'000'000);
}

TEST_CASE("delivery latency of the file output: every line written", "[outputs][file][metrics]") {
    TempDir tmp;
    adock::config::OutputConfig cfg;
    cfg.name = "local";
    cfg.type = adock::config::OutputType::File;
    cfg.path = tmp / "alerts.jsonl";
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    for (int i = 0; i < 4; ++i) {
        auto a = sample_alert("r", "/x");
        a.time_ms = adock::outputs::wall_ms() - 40;  // 40 ms old: the 0.05 s bucket
        REQUIRE(sink->submit(msg_of(std::move(a))));
    }
    auto untimed = sample_alert("r", "/y");  // time unknown: not counted
    REQUIRE(sink->submit(msg_of(std::move(untimed))));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 5; }));
    sink->stop(1s);
    const auto c = sink->stats().latency;
    CHECK(c.count == 4);
    CHECK(c.buckets[0] + c.buckets[1] + c.buckets[2] == 0);  // none under 25 ms
    // 40 ms, up to 100 ms on a busy machine
    CHECK(c.buckets[3] + c.buckets[4] == 4);
}

TEST_CASE("LogLimiter: one line per interval on its clock, the lines held back counted",
          "[outputs][clock]") {
    adock::util::ManualClock clock;
    adock::outputs::LogLimiter limit(clock);
    unsigned long long held = 99;
    REQUIRE(limit.allow(held));  // the first line always goes out
    CHECK(held == 0);
    CHECK_FALSE(limit.allow(held));
    clock.advance(adock::outputs::LogLimiter::kInterval - 1ns);
    CHECK_FALSE(limit.allow(held));  // the interval's last instant: still limited
    clock.advance(1ns);
    REQUIRE(limit.allow(held));  // exactly an interval after the last line
    CHECK(held == 2);
    CHECK_FALSE(limit.allow(held));  // ... which starts a new interval
    clock.advance(adock::outputs::LogLimiter::kInterval);
    REQUIRE(limit.allow(held));
    CHECK(held == 1);
}
