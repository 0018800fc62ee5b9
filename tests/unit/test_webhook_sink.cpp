// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "http_test_server.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/http_transport.hpp"
#include "outputs/sink.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/clock.hpp"

using namespace adock::test_http;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;

namespace {

/// A webhook output whose retries are decided by `clock` (make_sink's use the real one).
std::unique_ptr<adock::outputs::DeliverySink> clocked_hook(const adock::config::OutputConfig& cfg,
                                                           const adock::util::Clock& clock) {
    return std::make_unique<adock::outputs::DeliverySink>(
        cfg,
        std::make_unique<adock::outputs::HttpTransport>(cfg),
        [](const AlertMessage& m) { return *m.json; },
        clock);
}

/// A retry asked for `due` after the first attempt: not sent at its last instant (the worker is
/// given real time to get it wrong), sent at `due` on the sink's clock. A sink that read the real
/// clock instead would not retry within wait_for()'s 5 s.
void check_retry_due(adock::util::ManualClock& clock,
                     adock::outputs::DeliverySink& sink,
                     const TestServer& server,
                     std::chrono::milliseconds due) {
    REQUIRE(wait_for([&] { return sink.stats().failed == 1; }));
    clock.advance(due - 1ms);
    std::this_thread::sleep_for(100ms);  // a wrong early retry would happen meanwhile
    CHECK(server.request_count() == 1);
    CHECK(sink.stats().retried == 0);
    clock.advance(1ms);
    REQUIRE(wait_for([&] { return sink.stats().delivered == 1; }));
}

}  // namespace

TEST_CASE("webhook delivers the alert JSON on 200", "[outputs][webhook]") {
    ensure_curl_global();
    TestServer server({Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.headers = {{"X-Api-Key", "k-123"}, {"X-Empty", ""}};
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    const std::string body = R"({"rule":{"id":"r1"},"summary":"caf)"
                             "\xC3\xA9"
                             R"("})";
    REQUIRE(sink->submit(message(body)));
    REQUIRE(sink->submit(message(R"({"second":true})")));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 2; }));
    sink->stop(1s);

    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].request_line == "POST /hook?token=s3cr3t-query HTTP/1.1");
    CHECK(reqs[0].body == body);
    CHECK(reqs[1].body == R"({"second":true})");
    CHECK(reqs[0].headers.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    CHECK(reqs[0].headers.find("\r\nUser-Agent: audisp-docker/0.1\r\n") != std::string::npos);
    CHECK(reqs[0].headers.find("\r\nX-Api-Key: k-123\r\n") != std::string::npos);
    CHECK(reqs[0].headers.find("\r\nX-Empty:") != std::string::npos);
    CHECK(reqs[0].headers.find("Expect:") == std::string::npos);
    const auto s = sink->stats();
    CHECK(s.generated == 2);
    CHECK(s.delivered == 2);
    CHECK(s.retried == 0);
    CHECK(s.failed == 0);
    CHECK(s.dropped == 0);
}

TEST_CASE("webhook ignores proxies from the environment", "[outputs][webhook]") {
    ensure_curl_global();
    TestServer server({Reply{200}});
    // Set before the sink's thread exists and cleared after it is gone (setenv is not thread-safe).
    REQUIRE(::setenv("http_proxy",
                     ("http://127.0.0.1:" + std::to_string(closed_port())).c_str(),
                     1) == 0);
    REQUIRE(::setenv("no_proxy", "", 1) == 0);
    auto sink = adock::outputs::make_sink(hook_config(server.url()));
    sink->start();
    REQUIRE(sink->submit(message("{}")));
    const bool delivered = wait_for([&] { return sink->stats().delivered == 1; });
    sink->stop(1s);
    ::unsetenv("http_proxy");
    ::unsetenv("no_proxy");
    CHECK(delivered);
    CHECK(server.request_count() == 1);
}

TEST_CASE("webhook retries a 500 and delivers once", "[outputs][webhook]") {
    ensure_curl_global();
    TestServer server({Reply{500}, Reply{503}, Reply{200}});
    auto sink = adock::outputs::make_sink(hook_config(server.url()));
    sink->start();
    REQUIRE(sink->submit(message("{\"n\":1}")));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[2].body == "{\"n\":1}");
    const auto s = sink->stats();
    CHECK(s.delivered == 1);
    CHECK(s.retried == 2);
    CHECK(s.failed == 2);
    CHECK(s.dropped == 0);
}

TEST_CASE("webhook also retries 408 and 429", "[outputs][webhook]") {
    ensure_curl_global();
    TestServer server({Reply{408}, Reply{429}, Reply{204}});
    auto sink = adock::outputs::make_sink(hook_config(server.url()));
    sink->start();
    REQUIRE(sink->submit(message("{}")));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    CHECK(server.request_count() == 3);
    CHECK(sink->stats().retried == 2);
}

TEST_CASE("webhook does not retry a 400, drops it and keeps secrets out of the log",
          "[outputs][webhook]") {
    ensure_curl_global();
    TestServer server({Reply{400}, Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.headers = {{"Authorization", "Bearer very-secret-token"}};
    auto sink = adock::outputs::make_sink(cfg);
    StderrCapture capture;
    sink->start();
    REQUIRE(sink->submit(message("{\"bad\":1}")));
    REQUIRE(wait_for([&] { return sink->stats().dropped == 1; }));
    sink->stop(1s);
    const std::string logged = capture.finish();

    CHECK(server.request_count() == 1);
    const auto s = sink->stats();
    CHECK(s.delivered == 0);
    CHECK(s.retried == 0);
    CHECK(s.failed == 1);
    CHECK(s.dropped == 1);
    CHECK(logged.find("HTTP 400") != std::string::npos);
    CHECK(logged.find("http://127.0.0.1:") != std::string::npos);
    CHECK(logged.find("s3cr3t") == std::string::npos);
    CHECK(logged.find("/hook") == std::string::npos);
    CHECK(logged.find("very-secret-token") == std::string::npos);
}

TEST_CASE("webhook honours Retry-After on 429", "[outputs][webhook][clock]") {
    ensure_curl_global();
    TestServer server({Reply{429, 0ms, "Retry-After: 30\r\n"}, Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.backoff_max_ms = 60000;  // the cap must allow the 30 s asked for
    adock::util::ManualClock clock;
    auto sink = clocked_hook(cfg, clock);
    sink->start();
    REQUIRE(sink->submit(message("{}")));
    check_retry_due(clock, *sink, server, 30s);  // not the backoff's 5..10 ms: what was asked
    sink->stop(1s);
    CHECK(server.request_count() == 2);
    CHECK(sink->stats().retried == 1);
}

TEST_CASE(
    "webhook: a spooled alert is tried again when its Retry-After is due, on the sink's clock",
    "[outputs][webhook][spool][clock]") {
    ensure_curl_global();
    adock::test::TempDir tmp;
    TestServer server({Reply{429, 0ms, "Retry-After: 30\r\n"}, Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.backoff_max_ms = 60000;
    cfg.spool_dir = tmp / "spool";
    adock::util::ManualClock clock;
    auto sink = clocked_hook(cfg, clock);
    sink->start();
    REQUIRE(sink->submit(message("{\"n\":1}")));
    check_retry_due(clock, *sink, server, 30s);
    sink->stop(1s);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[1].body == "{\"n\":1}");
    CHECK(sink->stats().spooled == 1);
    CHECK(sink->stats().spool_pending == 0);
}

TEST_CASE("webhook caps Retry-After at backoff_max_ms", "[outputs][webhook][clock]") {
    ensure_curl_global();
    TestServer server({Reply{429, 0ms, "Retry-After: 60\r\n"}, Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.backoff_max_ms = 20000;
    adock::util::ManualClock clock;
    auto sink = clocked_hook(cfg, clock);
    sink->start();
    REQUIRE(sink->submit(message("{}")));
    check_retry_due(clock, *sink, server, 20s);  // the cap, not the 60 s asked for
    sink->stop(1s);
    CHECK(server.request_count() == 2);
    CHECK(sink->stats().retried == 1);
}

TEST_CASE("webhook retries back off exponentially with equal jitter, capped, on the sink's clock",
          "[outputs][webhook][clock]") {
    ensure_curl_global();
    TestServer server({Reply{503}, Reply{503}, Reply{503}, Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.retries = 3;
    cfg.backoff_initial_ms = 100;
    cfg.backoff_max_ms = 300;
    adock::util::ManualClock clock;
    auto sink = clocked_hook(cfg, clock);
    sink->start();
    REQUIRE(sink->submit(message("{}")));
    // The wait after the n-th failure is in [base/2, base], base = 100 ms doubled per attempt
    // and capped at 300: 100, 200, 300 (not 400).
    const std::array<std::chrono::milliseconds, 3> bases{100ms, 200ms, 300ms};
    for (std::size_t n = 0; n < bases.size(); ++n) {
        REQUIRE(wait_for([&] { return sink->stats().failed == n + 1; }));
        std::this_thread::sleep_for(50ms);  // the worker reads the clock for its wake-up time
        const auto failed_at = clock.now();
        clock.set(failed_at + bases.at(n) / 2 - 1ns);  // before the jitter's least wait
        std::this_thread::sleep_for(100ms);            // a wrong early retry would happen meanwhile
        CHECK(server.request_count() == n + 1);
        clock.set(failed_at + bases.at(n));  // the longest wait: the retry is due
        REQUIRE(wait_for([&] { return server.request_count() == n + 2; }));
    }
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    CHECK(sink->stats().retried == 3);
    CHECK(sink->stats().failed == 3);
}

TEST_CASE("webhook counts a slow endpoint as failed and submit() never blocks",
          "[outputs][webhook]") {
    ensure_curl_global();
    TestServer server({Reply{200, 3000ms}});
    auto cfg = hook_config(server.url());
    cfg.timeout_ms = 200;
    cfg.retries = 0;
    cfg.queue_size = 4;
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    REQUIRE(sink->submit(message("{\"n\":0}")));
    REQUIRE(wait_for([&] { return server.request_count() == 1; }));

    const auto t0 = Clock::now();
    int accepted = 0;
    for (int i = 1; i <= 1000; ++i) {
        if (sink->submit(message("{\"n\":" + std::to_string(i) + "}"))) {
            ++accepted;
        }
    }
    const auto submit_time = Clock::now() - t0;
    CHECK(submit_time < 200ms);
    CHECK(accepted <= 5);  // the queue holds 4; the worker may have taken one more
    REQUIRE(wait_for([&] { return sink->stats().failed >= 1; }));
    const auto t1 = Clock::now();
    sink->stop(100ms);
    CHECK(Clock::now() - t1 < 1s);
    const auto s = sink->stats();
    CHECK(s.delivered == 0);
    CHECK(s.generated == 1001);
    CHECK(s.dropped == s.generated);  // queue-full, timed out, or left at the deadline
}

TEST_CASE("webhook retries a refused connection, then drops", "[outputs][webhook]") {
    ensure_curl_global();
    auto cfg = hook_config("http://127.0.0.1:" + std::to_string(closed_port()) + "/x");
    cfg.retries = 2;
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    REQUIRE(sink->submit(message("{}")));
    REQUIRE(wait_for([&] { return sink->stats().dropped == 1; }));
    sink->stop(1s);
    const auto s = sink->stats();
    CHECK(s.delivered == 0);
    CHECK(s.failed == 3);
    CHECK(s.retried == 2);
    CHECK(s.dropped == 1);
}

TEST_CASE("webhook stop() with a dead endpoint returns within the deadline", "[outputs][webhook]") {
    ensure_curl_global();
    SECTION("endpoint hangs mid-request") {
        TestServer server({Reply{200, 30000ms}});
        auto cfg = hook_config(server.url());
        cfg.timeout_ms = 10000;
        cfg.retries = 5;
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 0; i < 5; ++i) {
            REQUIRE(sink->submit(message("{}")));
        }
        REQUIRE(wait_for([&] { return server.request_count() == 1; }));
        const auto t0 = Clock::now();
        sink->stop(300ms);
        const auto took = Clock::now() - t0;
        CHECK(took >= 250ms);
        CHECK(took < 1300ms);
        CHECK(sink->stats().dropped == 5);
        CHECK(sink->stats().delivered == 0);
    }
    SECTION("refused connections with a long backoff") {
        auto cfg = hook_config("http://127.0.0.1:" + std::to_string(closed_port()) + "/x");
        cfg.retries = 10;
        cfg.backoff_initial_ms = 5000;
        cfg.backoff_max_ms = 10000;
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 0; i < 3; ++i) {
            REQUIRE(sink->submit(message("{}")));
        }
        REQUIRE(wait_for([&] { return sink->stats().failed >= 1; }));
        const auto t0 = Clock::now();
        sink->stop(200ms);
        const auto took = Clock::now() - t0;
        CHECK(took < 1200ms);
        CHECK(sink->stats().dropped == 3);
    }
    SECTION("a live endpoint drains the queue before the deadline") {
        TestServer server({Reply{200}});
        auto sink = adock::outputs::make_sink(hook_config(server.url()));
        for (int i = 0; i < 20; ++i) {
            REQUIRE(sink->submit(message("{\"i\":" + std::to_string(i) + "}")));
        }
        sink->start();
        sink->stop(5s);
        CHECK(sink->stats().delivered == 20);
        CHECK(server.request_count() == 20);
    }
}

TEST_CASE("make_sink rejects unusable webhook entries", "[outputs][config]") {
    ensure_curl_global();
    adock::config::OutputConfig cfg;
    cfg.name = "broken";
    cfg.type = adock::config::OutputType::Webhook;
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
    cfg.url = "ftp://example.invalid/x";
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
    cfg.url = "not a url";
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
    cfg.url = "https://example.invalid/hook";
    cfg.headers = {{"X-Bad", "a\r\nInjected: 1"}};
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
    cfg.headers = {{"Bad Name", "v"}};
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
    cfg.headers = {};
    CHECK_NOTHROW(adock::outputs::make_sink(cfg));
}

TEST_CASE("redacted_url keeps scheme, host and port only", "[outputs][webhook]") {
    using adock::outputs::redacted_url;
    CHECK(redacted_url("https://hooks.example.com/services/T0/B0/XYZ?x=1") ==
          std::optional<std::string>("https://hooks.example.com"));
    CHECK(redacted_url("http://user:pw@127.0.0.1:8080/a") ==
          std::optional<std::string>("http://127.0.0.1:8080"));
    CHECK_FALSE(redacted_url("file:///etc/passwd").has_value());
    CHECK_FALSE(redacted_url("").has_value());
}

TEST_CASE("slack output POSTs the Block Kit payload built from the alert", "[outputs][slack]") {
    ensure_curl_global();
    TestServer server({Reply{200}});
    auto cfg = hook_config(server.url());
    cfg.type = adock::config::OutputType::Slack;
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    auto alert = std::make_shared<adock::Alert>();
    alert->severity = adock::Severity::Critical;
    alert->rule_id = "runc_suspicious_exec";
    alert->host = "h";
    alert->summary = "<!channel> runc";
    REQUIRE(
        sink->submit(AlertMessage{alert, std::make_shared<const std::string>("{\"raw\":true}")}));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].body.find("\"blocks\"") != std::string::npos);
    CHECK(reqs[0].body.find("&lt;!channel&gt; runc") != std::string::npos);
    CHECK(reqs[0].body.find("raw") == std::string::npos);
}
