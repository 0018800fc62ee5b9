// SPDX-License-Identifier: Apache-2.0
// The Slack payload: Block Kit shape, escaping of attacker-controlled text, Slack's size limits.
#include <yaml-cpp/yaml.h>

#include <string>

#include "alert/alert.hpp"
#include "outputs/slack.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;
using adock::outputs::slack_payload;
using adock::outputs::slack_text;
using adock::outputs::truncate_utf8;

namespace {

Alert hostile_alert() {
    Alert a;
    a.time = "2026-11-22T14:04:36.770Z";
    a.host = "node-1";
    a.rule_id = "runc_suspicious_exec";
    a.severity = Severity::Critical;
    a.mitre = {"T1609", "T1036"};
    a.serial = 42;
    a.process.pid = 7;
    a.process.exe = "/tmp/<!channel>/runc";
    a.summary =
        "runc by \"bash\" <!channel> <!here> <@U123|boss> @everyone *bold* `code`\nline2 \xff\xfe "
        "& <http://evil|click>";
    a.ancestry.push_back(ProcessRef{6, 1, "/usr/bin/bash", "bash", {"bash"}, 0, 0});
    a.container = ContainerRef{
        "c1", "containerd", std::string("default"), std::string("<!everyone>"), std::nullopt};
    a.file = FileRef{"/usr/sbin/runc", "exec"};
    a.remediation = "stop <it>";
    return a;
}

}  // namespace

TEST_CASE("slack: Block Kit shape with the alert's facts", "[outputs][slack]") {
    const YAML::Node p = adock::test::load_json(slack_payload(hostile_alert()));
    REQUIRE(p["blocks"].IsSequence());
    CHECK(p["blocks"][0]["type"].as<std::string>() == "header");
    CHECK(p["blocks"][0]["text"]["type"].as<std::string>() == "plain_text");
    CHECK(p["blocks"][0]["text"]["text"].as<std::string>() ==
          "[CRITICAL] runc_suspicious_exec on node-1");
    CHECK(p["blocks"][1]["text"]["type"].as<std::string>() == "mrkdwn");
    CHECK(p["blocks"][2]["fields"].size() <= 10);
    CHECK(p["blocks"][3]["type"].as<std::string>() == "context");
    CHECK(p["text"].as<std::string>().starts_with("[CRITICAL] runc_suspicious_exec on node-1: "));
}

TEST_CASE("slack: no argv can mention, link or break the JSON", "[outputs][slack]") {
    const std::string body = slack_payload(hostile_alert());
    const YAML::Node p = adock::test::load_json(body);  // valid JSON (JSON is YAML)
    std::vector<std::string> all;
    adock::test::yaml_texts(p, all);
    for (const auto& t : all) {
        CHECK(t.find("<!") == std::string::npos);
        CHECK(t.find("<@") == std::string::npos);
        CHECK(t.find("<http") == std::string::npos);
    }
    const std::string summary = p["blocks"][1]["text"]["text"].as<std::string>();
    CHECK(summary.find("&lt;!channel&gt;") != std::string::npos);
    CHECK(summary.find("&amp; &lt;http://evil|click&gt;") != std::string::npos);
    CHECK(summary.find("\xEF\xBF\xBD") != std::string::npos);  // invalid bytes replaced
    CHECK(body.find('\xff') == std::string::npos);
}

TEST_CASE("slack: 100 KB strings are cut to Slack's limits without breaking an entity",
          "[outputs][slack]") {
    Alert a = hostile_alert();
    a.summary = std::string(100000, '<');
    a.process.exe = std::string(100000, 'x');
    a.host = std::string(500, 'h');
    const std::string body = slack_payload(a);
    const YAML::Node p = adock::test::load_json(body);
    CHECK(adock::test::code_points(p["blocks"][0]["text"]["text"].as<std::string>()) <= 150);
    const std::string summary = p["blocks"][1]["text"]["text"].as<std::string>();
    CHECK(adock::test::code_points(summary) <= 3000);
    CHECK(summary.ends_with("&lt;\xE2\x80\xA6"));
    for (const auto& f : p["blocks"][2]["fields"]) {
        CHECK(adock::test::code_points(f["text"].as<std::string>()) <= 2000);
    }
    CHECK(adock::test::code_points(p["text"].as<std::string>()) <= 1000);
    CHECK(body.size() < 20000);
}

TEST_CASE("slack: text helpers", "[outputs][slack]") {
    CHECK(truncate_utf8("abc", 3) == "abc");
    CHECK(truncate_utf8("abcd", 3) == "ab\xE2\x80\xA6");
    CHECK(truncate_utf8("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3) == "\xC3\xA9\xC3\xA9\xE2\x80\xA6");
    CHECK(slack_text("a<b", 10) == "a&lt;b");
    // 9 code points: a third entity would not fit
    CHECK(slack_text("<<<<", 9) == "&lt;&lt;\xE2\x80\xA6");
    CHECK(slack_text("<<<<", 7) == "&lt;\xE2\x80\xA6");  // never half an entity
    CHECK(slack_text("ok", 2) == "ok");
}

TEST_CASE("slack: the initiator is a field when the alert has one, escaped and cut",
          "[outputs][slack][initiator]") {
    auto field_texts = [](const Alert& a) {
        std::vector<std::string> out;
        for (const auto& f : adock::test::load_json(slack_payload(a))["blocks"][2]["fields"]) {
            out.push_back(f["text"].as<std::string>());
        }
        return out;
    };
    auto initiator_field = [&](const Alert& a) -> std::string {
        for (const auto& t : field_texts(a)) {
            if (t.starts_with("*Initiator*\n")) {
                return t;
            }
        }
        return "<missing>";
    };
    Alert a = hostile_alert();
    CHECK(initiator_field(a) == "<missing>");
    InitiatorRef i;
    i.pid = 123;
    i.exe = "/usr/bin/docker";
    i.argv = {"docker", "exec", "-it", "c1", "sh"};
    i.auid = 1000;
    a.initiator = i;
    CHECK(initiator_field(a) == "*Initiator*\ndocker exec -it c1 sh (pid 123, auid 1000)");
    CHECK(field_texts(a).size() <= 10);
    a.initiator->argv = {
        "docker", "exec", "<!channel>", "<http://evil|x>", std::string(100000, '&')};
    const std::string t = initiator_field(a);
    CHECK(t.find("<!") == std::string::npos);
    CHECK(t.find("<http") == std::string::npos);
    CHECK(t.find("&lt;!channel&gt;") != std::string::npos);
    // Slack's 2000 a field (an entity counts its bytes), the cut marked.
    CHECK(t.size() <= 2000 + 3);
    CHECK(t.ends_with("\xE2\x80\xA6"));
}
