// SPDX-License-Identifier: Apache-2.0
// The OTLP/HTTP logs output: the ExportLogsServiceRequest it sends (JSON encoding) and what it
// makes of a receiver's answers, against a scripted loopback receiver.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http_test_server.hpp"
#include "outputs/otlp.hpp"
#include "outputs/sink.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock::test_http;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
using adock::outputs::SendResult;

namespace {

adock::Alert rich_alert() {
    adock::Alert a;
    a.time = "2026-11-30T10:00:00.123456789Z";
    a.host = "node-7";
    a.rule_id = "container_binary_modified";
    a.severity = adock::Severity::High;
    a.mitre = {"T1609", "T1036"};
    a.tags = {"container", "drift"};
    a.summary = "quote \" backslash \\ newline \n bad utf8 \xff end";
    a.serial = 9007199254740993ULL;  // beyond a double's exact integers
    a.syscall = "openat";
    a.success = false;
    a.exit = -26;
    a.process.pid = 4242;
    a.process.ppid = 1;
    a.process.exe = "/usr/bin/sh";
    a.process.comm = "sh";
    a.process.argv = {"sh", "-c", "echo \"x\" > /usr/bin/runc"};
    a.process.uid = 0;
    a.process.auid = 4294967295U;
    adock::ProcessRef parent;
    parent.pid = 77;
    parent.exe = "/usr/sbin/runc";
    parent.comm = "runc";
    parent.argv = {"runc", "init"};
    a.ancestry = {parent};
    adock::ContainerRef c;
    c.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    c.runtime = "docker";
    c.name = "web";
    a.container = c;
    a.file = adock::FileRef{"/usr/bin/runc", "write"};
    return a;
}

std::string payload_of(const adock::Alert& a, std::int64_t observed = 1796000000000000000LL) {
    return adock::outputs::otlp_logs_payload(a, adock::to_json(a), observed);
}

/// The log record's attribute `key` (its AnyValue), or a null node.
YAML::Node attribute(const YAML::Node& record, const std::string& key) {
    for (const auto& kv : record["attributes"]) {
        if (kv["key"].as<std::string>() == key) {
            return kv["value"];
        }
    }
    return YAML::Node();
}

adock::config::OutputConfig otlp_config(const std::string& url) {
    auto cfg = hook_config(url);
    cfg.name = "otel";
    cfg.type = adock::config::OutputType::Otlp;
    return cfg;
}

std::string base_url(const TestServer& server) {
    const std::string u = server.url();  // http://127.0.0.1:PORT/hook?...
    return u.substr(0, u.find('/', 7));
}

}  // namespace

TEST_CASE("otlp: one log record per alert, the alert's fields as typed attributes",
          "[outputs][otlp]") {
    const adock::Alert a = rich_alert();
    const std::string body = payload_of(a);
    const YAML::Node doc = adock::test::load_json(body);
    REQUIRE(doc["resourceLogs"].size() == 1);
    const YAML::Node rl = doc["resourceLogs"][0];
    std::map<std::string, std::string> resource;
    for (const auto& kv : rl["resource"]["attributes"]) {
        resource[kv["key"].as<std::string>()] = kv["value"]["stringValue"].as<std::string>();
    }
    CHECK(resource == std::map<std::string, std::string>{{"service.name", "audisp-docker"},
                                                         {"host.name", "node-7"}});
    REQUIRE(rl["scopeLogs"].size() == 1);
    CHECK(rl["scopeLogs"][0]["scope"]["name"].as<std::string>() == "audisp-docker");
    REQUIRE(rl["scopeLogs"][0]["logRecords"].size() == 1);
    const YAML::Node rec = rl["scopeLogs"][0]["logRecords"][0];

    // Timestamps and int64 values are JSON strings; severityNumber a JSON integer.
    const auto expected_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            (std::chrono::sys_days{std::chrono::year{2026} / 11 / 30} + 10h).time_since_epoch())
            .count() +
        123456789;
    CHECK(body.find("\"timeUnixNano\":\"" + std::to_string(expected_ns) + "\"") !=
          std::string::npos);
    CHECK(body.find("\"observedTimeUnixNano\":\"1796000000000000000\"") != std::string::npos);
    CHECK(body.find("\"severityNumber\":17,") != std::string::npos);
    CHECK(rec["severityText"].as<std::string>() == "high");
    CHECK(rec["body"]["stringValue"].as<std::string>() ==
          "quote \" backslash \\ newline \n bad utf8 \xEF\xBF\xBD end");

    CHECK(body.find(R"({"key":"process.pid","value":{"intValue":"4242"}})") != std::string::npos);
    CHECK(body.find(R"({"key":"event.serial","value":{"intValue":"9007199254740993"}})") !=
          std::string::npos);
    CHECK(body.find(R"({"key":"event.exit","value":{"intValue":"-26"}})") != std::string::npos);
    CHECK(body.find(R"({"key":"process.auid","value":{"intValue":"4294967295"}})") !=
          std::string::npos);
    CHECK(body.find(R"({"key":"event.success","value":{"boolValue":false}})") != std::string::npos);
    CHECK(attribute(rec, "rule.id")["stringValue"].as<std::string>() ==
          "container_binary_modified");
    CHECK(attribute(rec, "rule.severity")["stringValue"].as<std::string>() == "high");
    const YAML::Node mitre = attribute(rec, "rule.mitre")["arrayValue"]["values"];
    REQUIRE(mitre.size() == 2);
    CHECK(mitre[1]["stringValue"].as<std::string>() == "T1036");
    const YAML::Node argv = attribute(rec, "process.argv")["arrayValue"]["values"];
    REQUIRE(argv.size() == 3);
    CHECK(argv[2]["stringValue"].as<std::string>() == "echo \"x\" > /usr/bin/runc");
    CHECK(attribute(rec, "container.id")["stringValue"].as<std::string>() == a.container->id);
    CHECK(attribute(rec, "container.runtime")["stringValue"].as<std::string>() == "docker");
    CHECK(attribute(rec, "file.path")["stringValue"].as<std::string>() == "/usr/bin/runc");
    CHECK(attribute(rec, "file.operation")["stringValue"].as<std::string>() == "write");
    // A list of objects: arrayValue of kvlistValue.
    const YAML::Node anc = attribute(rec, "ancestry")["arrayValue"]["values"];
    REQUIRE(anc.size() == 1);
    std::map<std::string, YAML::Node> parent;
    for (const auto& kv : anc[0]["kvlistValue"]["values"]) {
        parent[kv["key"].as<std::string>()] = kv["value"];
    }
    CHECK(parent["pid"]["intValue"].as<std::string>() == "77");
    CHECK(parent["exe"]["stringValue"].as<std::string>() == "/usr/sbin/runc");
    CHECK(parent["argv"]["arrayValue"]["values"].size() == 2);
    // In dedicated fields, not repeated; nulls (event.key, container.image) left out.
    for (const char* absent :
         {"time", "host", "summary", "event.key", "container.image", "container"}) {
        CAPTURE(absent);
        CHECK(attribute(rec, absent).IsNull());
    }
}

TEST_CASE("otlp: severity numbers, an unknown time, a host alert", "[outputs][otlp]") {
    using adock::Severity;
    const auto [sev, number] = GENERATE(std::pair{Severity::Critical, 21},
                                        std::pair{Severity::High, 17},
                                        std::pair{Severity::Medium, 13},
                                        std::pair{Severity::Low, 10},
                                        std::pair{Severity::Info, 9});
    CHECK(adock::outputs::otlp_severity_number(sev) == number);
    adock::Alert a;
    a.severity = sev;
    a.time = "not a time";
    a.host = "h";
    a.rule_id = "r";
    a.summary = "s";
    const std::string body = payload_of(a, 5);
    CHECK(body.find("\"severityNumber\":" + std::to_string(number) + ",") != std::string::npos);
    CHECK(body.find("\"severityText\":\"" + std::string(adock::severity_name(sev)) + "\"") !=
          std::string::npos);
    // only the observed time
    CHECK(body.find("\"observedTimeUnixNano\":\"5\"") != std::string::npos);
    CHECK(body.find("\"timeUnixNano\"") == std::string::npos);
    const YAML::Node rec =
        adock::test::load_json(body)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    CHECK(attribute(rec, "container.id").IsNull());  // on the host: no container attributes
}

TEST_CASE("otlp: status rules of OTLP/HTTP", "[outputs][otlp]") {
    auto answer = [](long status, std::string body = {}) {
        SendResult r;
        r.status = status;
        r.kind = SendResult::Kind::Delivered;
        r.response = std::move(body);
        return adock::outputs::classify_otlp(r);
    };
    CHECK(answer(200).kind == SendResult::Kind::Delivered);
    CHECK(answer(200, "{}").kind == SendResult::Kind::Delivered);
    CHECK(answer(200, R"({"partialSuccess":{}})").kind == SendResult::Kind::Delivered);
    CHECK(
        answer(200, R"({"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"bad"}})").kind ==
        SendResult::Kind::Permanent);
    CHECK(answer(200, R"({"partialSuccess":{"rejectedLogRecords":2}})").kind ==
          SendResult::Kind::Permanent);
    CHECK(answer(200, R"({"partialSuccess":{"rejectedLogRecords":"0"}})").kind ==
          SendResult::Kind::Delivered);
    const auto warned = answer(200, R"({"partialSuccess":{"errorMessage":"slow down\u0007"}})");
    CHECK(warned.kind == SendResult::Kind::Delivered);
    CHECK(warned.detail == "HTTP 200, partialSuccess warning: slow down?");
    CHECK(answer(200, "not json {").kind == SendResult::Kind::Delivered);
    for (const long s : {429L, 502L, 503L, 504L}) {
        CAPTURE(s);
        CHECK(answer(s).kind == SendResult::Kind::Retry);
    }
    for (const long s : {201L, 202L, 204L, 301L, 400L, 401L, 404L, 408L, 413L, 500L, 501L}) {
        CAPTURE(s);
        CHECK(answer(s).kind == SendResult::Kind::Permanent);
    }
    SendResult refused;  // no answer at all: the transport's verdict stands
    refused.kind = SendResult::Kind::Retry;
    CHECK(adock::outputs::classify_otlp(refused).kind == SendResult::Kind::Retry);
}

TEST_CASE("otlp: config types, the logs path, the spool", "[outputs][otlp][config]") {
    const auto c = adock::config::load_config_string(
        "spool_dir: /tmp/sp\n"
        "outputs:\n"
        "  - {name: a, type: otlp}\n"
        "  - {name: b, type: otlp, url: \"http://collector:4318\"}\n"
        "  - {name: c, type: otlp, url: \"https://collector:4318/\", headers: {Authorization: "
        "Bearer t}}\n"
        "  - {name: d, type: otlp, url: \"http://gw/custom/logs\"}\n",
        "o.yaml");
    REQUIRE(c.outputs.size() == 4);
    CHECK(c.outputs[0].url == "http://localhost:4318/v1/logs");
    CHECK(c.outputs[1].url == "http://collector:4318/v1/logs");
    CHECK(c.outputs[2].url == "https://collector:4318/v1/logs");
    CHECK(c.outputs[2].headers.at("Authorization") == "Bearer t");
    CHECK(c.outputs[3].url == "http://gw/custom/logs");
    CHECK(c.outputs[0].spool_dir == "/tmp/sp/a.otlp");
    CHECK(std::string(adock::config::output_type_name(c.outputs[0].type)) == "otlp");
    CHECK_THROWS_AS(
        adock::config::load_config_string("outputs:\n  - {type: otlp, url: \"ftp://x\"}\n"),
        adock::config::ConfigError);
}

TEST_CASE("otlp receiver: 200 delivers to /v1/logs as application/json", "[outputs][otlp]") {
    ensure_curl_global();
    TestServer server({Reply{200, 0ms, "Content-Type: application/json\r\n", "{}"}});
    const adock::test::TempDir tmp;  // not the default /var/lib/audisp-docker/spool of the host
    auto cfg = adock::config::load_config_string(
                   "spool_dir: " + (tmp / "spool") +
                   "\noutputs:\n  - {name: otel, type: otlp, url: \"" + base_url(server) + "\"}\n")
                   .outputs.at(0);
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    const auto m = AlertMessage::of(rich_alert());
    REQUIRE(sink->submit(m));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].request_line == "POST /v1/logs HTTP/1.1");
    CHECK(reqs[0].headers.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    const YAML::Node doc = adock::test::load_json(reqs[0].body);
    CHECK(doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"].size() == 1);
    CHECK(sink->stats().dropped == 0);
}

TEST_CASE("otlp receiver: partialSuccess rejections are counted and not retried",
          "[outputs][otlp]") {
    ensure_curl_global();
    TestServer server(
        {Reply{200,
               0ms,
               {},
               R"({"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"attribute limit"}})"},
         Reply{200, 0ms, {}, R"({"partialSuccess":{"errorMessage":"sampled"}})"},
         Reply{200, 0ms, {}, "{}"}});
    auto sink = adock::outputs::make_sink(otlp_config(server.url()));
    StderrCapture err;
    sink->start();
    for (int i = 0; i < 3; ++i) {
        REQUIRE(sink->submit(AlertMessage::of(rich_alert())));
    }
    REQUIRE(wait_for([&] { return sink->stats().delivered == 2; }));
    sink->stop(1s);
    const std::string log = err.finish();
    CHECK(server.request_count() == 3);  // the rejected record was not sent again
    const auto s = sink->stats();
    CHECK(s.dropped == 1);
    CHECK(s.failed == 1);
    CHECK(s.retried == 0);
    CHECK(log.find("1 log record(s) rejected: attribute limit") != std::string::npos);
    CHECK(log.find("partialSuccess warning: sampled") != std::string::npos);
}

TEST_CASE("otlp receiver: 429 with Retry-After and 502/503/504 are retried", "[outputs][otlp]") {
    ensure_curl_global();
    TestServer server(
        {Reply{429, 0ms, "Retry-After: 1\r\n"}, Reply{503}, Reply{502}, Reply{504}, Reply{200}});
    auto cfg = otlp_config(server.url());
    cfg.backoff_max_ms = 3000;  // the cap must allow the 1 s asked for
    cfg.retries = 5;
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    REQUIRE(sink->submit(AlertMessage::of(rich_alert())));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 5);
    CHECK(reqs[1].at - reqs[0].at >= 900ms);
    CHECK(reqs[4].body == reqs[0].body);
    const auto s = sink->stats();
    CHECK(s.retried == 4);
    CHECK(s.dropped == 0);
}

TEST_CASE("otlp receiver: 400 and 413 are permanent; the next alert still goes",
          "[outputs][otlp]") {
    ensure_curl_global();
    const int status = GENERATE(400, 413, 500);
    TestServer server({Reply{status}, Reply{200}});
    auto sink = adock::outputs::make_sink(otlp_config(server.url()));
    sink->start();
    REQUIRE(sink->submit(AlertMessage::of(rich_alert())));
    REQUIRE(wait_for([&] { return sink->stats().dropped == 1; }));
    REQUIRE(sink->submit(AlertMessage::of(rich_alert())));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));
    sink->stop(1s);
    CHECK(server.request_count() == 2);
    CHECK(sink->stats().retried == 0);
}

TEST_CASE("otlp: a receiver down keeps alerts in the spool; the next start delivers them in order",
          "[outputs][otlp]") {
    ensure_curl_global();
    adock::test::TempDir tmp;
    const std::uint16_t port = closed_port();
    auto cfg = otlp_config("http://127.0.0.1:" + std::to_string(port) + "/v1/logs");
    cfg.spool_dir = tmp / "spool";
    cfg.retries = 0;
    {
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 0; i < 3; ++i) {
            auto a = rich_alert();
            a.summary = "alert " + std::to_string(i);
            REQUIRE(sink->submit(AlertMessage::of(std::move(a))));
        }
        REQUIRE(wait_for([&] { return sink->stats().spooled == 3; }));
        sink->stop(200ms);
        CHECK(sink->stats().delivered == 0);
    }
    TestServer server({Reply{200}}, port);
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    REQUIRE(wait_for([&] { return sink->stats().delivered == 3; }));
    sink->stop(1s);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 3);
    for (int i = 0; i < 3; ++i) {
        const YAML::Node rec =
            adock::test::load_json(reqs[static_cast<std::size_t>(i)]
                                       .body)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
        CHECK(rec["body"]["stringValue"].as<std::string>() == "alert " + std::to_string(i));
    }
}
