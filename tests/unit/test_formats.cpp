// SPDX-License-Identifier: Apache-2.0
// Payloads for Teams, Discord, PagerDuty, Opsgenie and Falco: the documented shape field by
// field, the severity maps, the incident key, and hostile alerts (quotes, newlines, mentions,
// Markdown, invalid UTF-8, 100 KB strings) that must yield valid JSON within each API's limits.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.hpp"
#include "outputs/formats.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;
using adock::outputs::discord_payload;
using adock::outputs::falco_payload;
using adock::outputs::incident_key;
using adock::outputs::opsgenie_payload;
using adock::outputs::pagerduty_payload;
using adock::outputs::teams_payload;

namespace {

const std::string kHostileArgv =
    "\"quoted\" 'single'\nnewline\r\t<!channel> @everyone @here **bold** [x](http://evil) \xff\xfe";

Alert sample_alert() {
    Alert a;
    a.time = "2026-11-22T14:04:36.770Z";
    a.host = "node-1";
    a.rule_id = "runc_suspicious_exec";
    a.severity = Severity::Critical;
    a.mitre = {"T1609", "T1036"};
    a.tags = {"container", "runtime"};
    a.summary = "runc run by bash in a container";
    a.serial = 42;
    a.key = "adock_exec";
    a.syscall = "execve";
    a.success = true;
    a.exit = 0;
    a.process.pid = 7;
    a.process.ppid = 6;
    a.process.exe = "/usr/sbin/runc";
    a.process.comm = "runc";
    a.process.argv = {"runc", "--root", "/run/runc", "exec"};
    a.process.uid = 0;
    a.process.auid = 1000;
    a.ancestry.push_back(ProcessRef{6, 1, "/usr/bin/bash", "bash", {"bash", "-c", "x"}, 0, 0});
    a.container = ContainerRef{"c1",
                               "containerd",
                               std::string("default"),
                               std::string("web"),
                               std::string("registry:5000/team/app:1.2")};
    a.file = FileRef{"/usr/sbin/runc", "exec"};
    a.seccomp = SeccompRef{"ptrace", "kill_process"};
    a.integrity = IntegrityRef{"ab12",
                               10,
                               std::string("runc"),
                               false,
                               std::nullopt,
                               std::nullopt,
                               std::nullopt,
                               std::nullopt};
    a.remediation = "stop the container";
    a.count = 3;
    return a;
}

/// Every attacker-reachable string carries quotes, newlines, mentions, Markdown and bad bytes.
Alert hostile_alert() {
    Alert a = sample_alert();
    a.host = "node-1 @everyone";
    a.summary =
        "runc by \"bash\" <!channel> <!here> <@U123|boss> @everyone @here **bold** `code` ~~s~~ "
        "||spoiler|| [x](http://evil)\n# heading\n> quote\n- item \xff\xfe & <http://evil|click>";
    a.process.exe = "/tmp/**x**/[run](http://evil)/@everyone";
    a.process.comm = "@here";
    a.process.argv = {"sh",
                      kHostileArgv,
                      "\x01\x02\x7f",
                      "\xe2\x80\xae"
                      "gnp.exe"};
    a.container->name = "@everyone <!channel>";
    a.container->image = "evil/**image**:latest";
    a.file->path = "/etc/[shadow](http://evil)\n";
    a.remediation = "see [docs](http://evil) @everyone";
    a.tags = {"@everyone", "**tag**"};
    return a;
}

/// The hostile alert with 100 KB in every string and long lists.
Alert huge_alert() {
    Alert a = hostile_alert();
    const std::string big(100000, 'x');
    const std::string big_specials = [] {
        std::string s;
        while (s.size() < 100000) {
            s += "*\\\"\n\x01@everyone\xff\xF0\x9F\x90\xB3";  // escapes, controls, bad bytes, an
                                                              // emoji
        }
        return s;
    }();
    a.host = big_specials;
    a.rule_id = std::string(600, 'r');
    a.summary = big_specials;
    a.process.exe = big_specials;
    a.process.comm = big;
    a.process.argv.assign(100, big_specials);
    a.ancestry.assign(
        50, ProcessRef{6, 1, big_specials, big, std::vector<std::string>(100, big_specials), 0, 0});
    a.container->id = big;
    a.container->name = big_specials;
    a.container->image = big_specials;
    a.file->path = big_specials;
    a.seccomp->syscall = big;
    a.integrity->recognized_as = big_specials;
    a.remediation = big_specials;
    a.key = big_specials;
    a.mitre.clear();
    a.tags.clear();
    for (int i = 0; i < 100; ++i) {
        a.mitre.push_back("T" + std::to_string(i) + big_specials);
        a.tags.push_back(std::to_string(i) + big_specials);
    }
    return a;
}

/// A JSON string value (quoted), not a number, bool or null.
bool is_json_string(const YAML::Node& n) {
    return n.IsScalar() && n.Tag() == "!";
}

/// True when every character of `specials` in `s` is preceded by an escaping backslash.
bool markdown_escaped(std::string_view s, std::string_view specials) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\') {
            ++i;  // the escaped character
            continue;
        }
        if (specials.find(s[i]) != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

bool has_raw_mention(const std::string& s) {
    return s.find("@everyone") != std::string::npos || s.find("@here") != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// incident_key

TEST_CASE("incident_key: rule, host, container and exe make the incident", "[formats]") {
    Alert a = sample_alert();
    a.rule_id = "r";
    a.host = "h";
    a.process.exe = "/bin/x";
    // sha256("r\nh\nc1\n/bin/x"), first 32 hex digits
    CHECK(incident_key(a) == "audisp-docker/r/8472a96deab280210ed82a43800e3c08");
    a.container.reset();
    CHECK(incident_key(a) == "audisp-docker/r/089f7c027794752696e388b2662810d8");  // "host"
}

TEST_CASE("incident_key: same for pid and time, different for container, host, rule, exe",
          "[formats]") {
    const Alert a = sample_alert();
    Alert b = a;
    b.process.pid = 99999;
    b.process.ppid = 1;
    b.time = "2027-01-01T00:00:00.000Z";
    b.serial = 7;
    b.summary = "another summary";
    b.process.argv = {"other"};
    CHECK(incident_key(a) == incident_key(b));

    Alert c = a;
    c.container->id = "c2";
    CHECK(incident_key(a) != incident_key(c));
    Alert d = a;
    d.container.reset();
    CHECK(incident_key(a) != incident_key(d));
    Alert e = a;
    e.host = "node-2";
    CHECK(incident_key(a) != incident_key(e));
    Alert f = a;
    f.process.exe = "/usr/bin/runc";
    CHECK(incident_key(a) != incident_key(f));
    Alert g = a;
    g.rule_id = "other_rule";
    CHECK(incident_key(a) != incident_key(g));
}

TEST_CASE("incident_key: a long rule id is cut to 255 characters, the hash still tells them apart",
          "[formats]") {
    Alert a = sample_alert();
    a.rule_id = std::string(1000, 'r') + "a";
    Alert b = a;
    b.rule_id = std::string(1000, 'r') + "b";
    CHECK(adock::test::code_points(incident_key(a)) <= 255);
    CHECK(incident_key(a) != incident_key(b));
    a.rule_id = "bad\xff";
    CHECK(incident_key(a).find('\xff') == std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Teams

TEST_CASE("teams: Workflows message with an Adaptive Card", "[formats]") {
    const YAML::Node p = adock::test::load_json(teams_payload(sample_alert()));
    CHECK(p["type"].as<std::string>() == "message");
    REQUIRE(p["attachments"].IsSequence());
    REQUIRE(p["attachments"].size() == 1);
    const YAML::Node att = p["attachments"][0];
    CHECK(att["contentType"].as<std::string>() == "application/vnd.microsoft.card.adaptive");
    CHECK(att["contentUrl"].IsNull());
    const YAML::Node card = att["content"];
    CHECK(card["$schema"].as<std::string>() ==
          "http://adaptivecards.io/schemas/adaptive-card.json");
    CHECK(card["type"].as<std::string>() == "AdaptiveCard");
    CHECK(card["version"].as<std::string>() == "1.4");
    REQUIRE(card["body"].size() == 3);
    const YAML::Node title = card["body"][0];
    CHECK(title["type"].as<std::string>() == "TextBlock");
    CHECK(title["weight"].as<std::string>() == "bolder");
    CHECK(title["wrap"].as<bool>());
    CHECK(title["text"].as<std::string>() == "\\[CRITICAL\\] runc\\_suspicious\\_exec on node\\-1");
    CHECK(title["color"].as<std::string>() == "attention");
    const YAML::Node summary = card["body"][1];
    CHECK(summary["type"].as<std::string>() == "TextBlock");
    CHECK(summary["wrap"].as<bool>());
    CHECK(summary["text"].as<std::string>() == "runc run by bash in a container");
    const YAML::Node facts = card["body"][2];
    CHECK(facts["type"].as<std::string>() == "FactSet");
    std::vector<std::string> titles;
    for (const auto& f : facts["facts"]) {
        titles.push_back(f["title"].as<std::string>());
    }
    CHECK(titles == std::vector<std::string>{"Host",
                                             "Process",
                                             "Command",
                                             "Parent",
                                             "Container",
                                             "File",
                                             "Seccomp",
                                             "MITRE",
                                             "Time",
                                             "Remediation"});
    CHECK(facts["facts"][0]["value"].as<std::string>() == "node\\-1");
    CHECK(facts["facts"][1]["value"].as<std::string>() == "/usr/sbin/runc \\(pid 7\\)");
    CHECK(facts["facts"][4]["value"].as<std::string>() ==
          "c1 \\(web\\) image registry:5000/team/app:1\\.2");
    CHECK(facts["facts"][7]["value"].as<std::string>() == "T1609, T1036");
    CHECK(facts["facts"][8]["value"].as<std::string>() == "2026\\-11\\-22T14:04:36\\.770Z");
}

TEST_CASE("teams: optional facts are left out when the alert has none", "[formats]") {
    Alert a = sample_alert();
    a.ancestry.clear();
    a.file.reset();
    a.seccomp.reset();
    a.mitre.clear();
    a.remediation.clear();
    a.container.reset();
    const YAML::Node p = adock::test::load_json(teams_payload(a));
    std::vector<std::string> titles;
    for (const auto& f : p["attachments"][0]["content"]["body"][2]["facts"]) {
        titles.push_back(f["title"].as<std::string>());
    }
    CHECK(titles == std::vector<std::string>{"Host", "Process", "Command", "Container", "Time"});
    CHECK(p["attachments"][0]["content"]["body"][2]["facts"][3]["value"].as<std::string>() ==
          "host");
}

TEST_CASE("teams: hostile text is escaped for Markdown and stays valid JSON", "[formats]") {
    const std::string body = teams_payload(hostile_alert());
    const YAML::Node p = adock::test::load_json(body);
    const YAML::Node card = p["attachments"][0]["content"];
    std::vector<std::string> shown;
    adock::test::yaml_texts(card["body"], shown);
    for (const auto& t : shown) {
        CHECK(markdown_escaped(t, "*_~`[]()#<>|!"));
    }
    const std::string summary = card["body"][1]["text"].as<std::string>();
    CHECK(summary.find("\\*\\*bold\\*\\*") != std::string::npos);
    CHECK(summary.find("\\[x\\]\\(http://evil\\)") != std::string::npos);
    // A newline in a value is shown as a picture (U+240A), never a line break of the card.
    CHECK(summary.find("\xE2\x90\x8A\\# heading\xE2\x90\x8A\\> quote\xE2\x90\x8A\\- item") !=
          std::string::npos);
    CHECK(summary.find("\xEF\xBF\xBD") != std::string::npos);  // invalid bytes replaced
    CHECK(body.find('\xff') == std::string::npos);
    std::string command;
    for (const auto& f : card["body"][2]["facts"]) {
        if (f["title"].as<std::string>() == "Command") {
            command = f["value"].as<std::string>();
        }
    }
    CHECK(command.find("\"quoted\" 'single'\xE2\x90\x8Anewline\xE2\x90\x8D\xE2\x90\x89") !=
          std::string::npos);
    CHECK(command.find("\xe2\x80\xae") == std::string::npos);  // no right-to-left override
}

TEST_CASE("teams: 100 KB strings keep the body well under 28 KB", "[formats]") {
    const std::string body = teams_payload(huge_alert());
    CHECK(body.size() < std::size_t{24} * 1024);
    const YAML::Node p = adock::test::load_json(body);
    const YAML::Node card = p["attachments"][0]["content"];
    CHECK(adock::test::code_points(card["body"][0]["text"].as<std::string>()) <= 200);
    CHECK(adock::test::code_points(card["body"][1]["text"].as<std::string>()) <= 2000);
    CHECK(card["body"][1]["text"].as<std::string>().ends_with("\xE2\x80\xA6"));
    for (const auto& f : card["body"][2]["facts"]) {
        CHECK(adock::test::code_points(f["value"].as<std::string>()) <= 500);
    }
}

// ---------------------------------------------------------------------------------------------
// Discord

TEST_CASE("discord: one embed with the alert's facts, mentions off", "[formats]") {
    const YAML::Node p = adock::test::load_json(discord_payload(sample_alert()));
    CHECK(p["username"].as<std::string>() == "audisp-docker");
    REQUIRE(p["allowed_mentions"]["parse"].IsSequence());
    CHECK(p["allowed_mentions"]["parse"].size() == 0);
    REQUIRE(p["embeds"].size() == 1);
    const YAML::Node e = p["embeds"][0];
    CHECK(e["title"].as<std::string>() == "\\[CRITICAL\\] runc\\_suspicious\\_exec on node\\-1");
    CHECK(e["description"].as<std::string>() == "runc run by bash in a container");
    CHECK(e["color"].Tag() == "?");  // a number, not a string
    CHECK(e["color"].as<int>() == 0x992D22);
    CHECK(e["timestamp"].as<std::string>() == "2026-11-22T14:04:36.770Z");
    CHECK(e["footer"]["text"].as<std::string>() ==
          "audisp-docker | serial 42, key adock_exec, 3 events");
    REQUIRE(e["fields"].IsSequence());
    std::vector<std::string> names;
    for (const auto& f : e["fields"]) {
        names.push_back(f["name"].as<std::string>());
        CHECK(f["inline"].Tag() == "?");
        CHECK_FALSE(f["value"].as<std::string>().empty());
    }
    CHECK(names == std::vector<std::string>{"Severity",
                                            "Rule",
                                            "Host",
                                            "Process",
                                            "Command",
                                            "Parent",
                                            "Container",
                                            "File",
                                            "Seccomp",
                                            "MITRE ATT&CK",
                                            "Tags",
                                            "Remediation"});
    CHECK(e["fields"][0]["value"].as<std::string>() == "critical");
    CHECK(e["fields"][0]["inline"].as<bool>());
    CHECK(e["fields"][3]["value"].as<std::string>() == "/usr/sbin/runc \\(pid 7\\)");
    CHECK_FALSE(e["fields"][3]["inline"].as<bool>());
    CHECK(e["fields"][4]["value"].as<std::string>() == "runc \\-\\-root /run/runc exec");
}

TEST_CASE("discord: no argv can ping, format or break the JSON", "[formats]") {
    const std::string body = discord_payload(hostile_alert());
    const YAML::Node p = adock::test::load_json(body);
    std::vector<std::string> all;
    adock::test::yaml_texts(p["embeds"], all);
    for (const auto& t : all) {
        CHECK_FALSE(has_raw_mention(t));
    }
    const YAML::Node e = p["embeds"][0];
    std::vector<std::string> rendered{e["title"].as<std::string>(),
                                      e["description"].as<std::string>()};
    for (const auto& f : e["fields"]) {
        rendered.push_back(f["value"].as<std::string>());
    }
    for (const auto& t : rendered) {
        CHECK(markdown_escaped(t, "*_~`|>#-[]()<"));
    }
    const std::string description = e["description"].as<std::string>();
    CHECK(description.find("@\xE2\x80\x8B"
                           "everyone") != std::string::npos);
    CHECK(description.find("\\*\\*bold\\*\\*") != std::string::npos);
    CHECK(description.find("\\|\\|spoiler\\|\\|") != std::string::npos);
    CHECK(description.find("\\[x\\]\\(http://evil\\)") != std::string::npos);
    CHECK(description.find("\xEF\xBF\xBD") != std::string::npos);
    CHECK(body.find('\xff') == std::string::npos);
}

TEST_CASE("discord: 100 KB strings are cut to the embed limits, 6000 in all", "[formats]") {
    const std::string body = discord_payload(huge_alert());
    const YAML::Node p = adock::test::load_json(body);
    const YAML::Node e = p["embeds"][0];
    const std::string title = e["title"].as<std::string>();
    const std::string description = e["description"].as<std::string>();
    const std::string footer = e["footer"]["text"].as<std::string>();
    CHECK(adock::test::code_points(title) <= 256);
    CHECK(adock::test::code_points(description) <= 4096);
    CHECK(adock::test::code_points(footer) <= 2048);
    REQUIRE(e["fields"].size() >= 1);
    CHECK(e["fields"].size() <= 25);
    std::size_t total = adock::test::code_points(title) + adock::test::code_points(description) +
                        adock::test::code_points(footer);
    for (const auto& f : e["fields"]) {
        const std::string name = f["name"].as<std::string>();
        const std::string value = f["value"].as<std::string>();
        CHECK(adock::test::code_points(name) <= 256);
        CHECK(adock::test::code_points(value) <= 1024);
        CHECK_FALSE(value.empty());
        total += adock::test::code_points(name) + adock::test::code_points(value);
        CHECK_FALSE(has_raw_mention(value));
    }
    CHECK(total <= 6000);
    CHECK_FALSE(has_raw_mention(description));
    CHECK(body.size() < std::size_t{64} * 1024);
}

// ---------------------------------------------------------------------------------------------
// PagerDuty

TEST_CASE("pagerduty: Events API v2 trigger without routing_key", "[formats]") {
    const Alert a = sample_alert();
    const std::string body = pagerduty_payload(a);
    CHECK(body.starts_with(R"({"event_action":"trigger")"));
    const YAML::Node p = adock::test::load_json(body);
    CHECK_FALSE(p["routing_key"]);
    CHECK(p["event_action"].as<std::string>() == "trigger");
    CHECK(p["dedup_key"].as<std::string>() == incident_key(a));
    CHECK(p["client"].as<std::string>() == "audisp-docker");
    const YAML::Node pl = p["payload"];
    CHECK(pl["summary"].as<std::string>() ==
          "runc_suspicious_exec on node-1: runc run by bash in a container");
    CHECK(pl["source"].as<std::string>() == "node-1");
    CHECK(pl["severity"].as<std::string>() == "critical");
    CHECK(pl["timestamp"].as<std::string>() == "2026-11-22T14:04:36.770Z");
    CHECK(pl["component"].as<std::string>() == "c1");
    CHECK(pl["group"].as<std::string>() == "runc_suspicious_exec");
    CHECK(pl["class"].as<std::string>() == "runc_suspicious_exec");
    const YAML::Node d = pl["custom_details"];
    CHECK(d["rule"].as<std::string>() == "runc_suspicious_exec");
    CHECK(d["severity"].as<std::string>() == "critical");
    CHECK(d["mitre"].as<std::vector<std::string>>() == a.mitre);
    CHECK(d["tags"].as<std::vector<std::string>>() == a.tags);
    CHECK(d["process"]["exe"].as<std::string>() == "/usr/sbin/runc");
    CHECK(d["process"]["pid"].as<int>() == 7);
    CHECK(d["process"]["argv"].as<std::vector<std::string>>() == a.process.argv);
    CHECK(d["process"]["uid"].as<unsigned>() == 0);
    CHECK(d["process"]["auid"].as<unsigned>() == 1000);
    CHECK(d["parent"]["exe"].as<std::string>() == "/usr/bin/bash");
    CHECK(d["parent"]["pid"].as<int>() == 6);
    CHECK(d["container"]["id"].as<std::string>() == "c1");
    CHECK(d["container"]["name"].as<std::string>() == "web");
    CHECK(d["container"]["image"].as<std::string>() == "registry:5000/team/app:1.2");
    CHECK(d["file"]["path"].as<std::string>() == "/usr/sbin/runc");
    CHECK(d["file"]["operation"].as<std::string>() == "exec");
    CHECK(d["seccomp"]["syscall"].as<std::string>() == "ptrace");
    CHECK(d["seccomp"]["action"].as<std::string>() == "kill_process");
    CHECK(d["integrity"]["sha256"].as<std::string>() == "ab12");
    CHECK(d["integrity"]["recognized_as"].as<std::string>() == "runc");
    CHECK_FALSE(d["integrity"]["trusted"].as<bool>());
    CHECK(d["remediation"].as<std::string>() == "stop the container");
    CHECK(d["serial"].as<std::uint64_t>() == 42);
    CHECK(d["key"].as<std::string>() == "adock_exec");
    CHECK(d["count"].as<std::uint64_t>() == 3);

    // The sender's splice gives a valid body.
    const std::string sent =
        "{\"routing_key\":\"R0123456789abcdef0123456789abcde\"," + body.substr(1);
    const YAML::Node s = adock::test::load_json(sent);
    CHECK(s["routing_key"].as<std::string>() == "R0123456789abcdef0123456789abcde");
    CHECK(s["event_action"].as<std::string>() == "trigger");
}

TEST_CASE("pagerduty: on the host, the component is \"host\"", "[formats]") {
    Alert a = sample_alert();
    a.container.reset();
    const YAML::Node p = adock::test::load_json(pagerduty_payload(a));
    CHECK(p["payload"]["component"].as<std::string>() == "host");
    CHECK(p["payload"]["custom_details"]["container"].IsNull());
}

TEST_CASE("pagerduty: 100 KB strings keep the body under 512 KB and the summary within 1024",
          "[formats]") {
    const std::string body = pagerduty_payload(huge_alert());
    CHECK(body.starts_with(R"({"event_action":"trigger")"));
    CHECK(body.size() < std::size_t{512} * 1024);
    CHECK(body.find('\xff') == std::string::npos);
    const YAML::Node p = adock::test::load_json(body);
    CHECK(adock::test::code_points(p["dedup_key"].as<std::string>()) <= 255);
    const std::string summary = p["payload"]["summary"].as<std::string>();
    CHECK(adock::test::code_points(summary) <= 1024);
    CHECK(summary.find('\n') == std::string::npos);
    const YAML::Node d = p["payload"]["custom_details"];
    CHECK(d["process"]["argv"].size() <= 64);
    CHECK(d["process"]["argc"].as<std::size_t>() == 100);
    CHECK(d["mitre"].size() <= 32);
    std::vector<std::string> all;
    adock::test::yaml_texts(d, all);
    for (const auto& t : all) {
        CHECK(adock::test::code_points(t) <= 4096);
    }
    const YAML::Node h = adock::test::load_json(pagerduty_payload(hostile_alert()));
    CHECK(h["payload"]["custom_details"]["process"]["argv"][1].as<std::string>() ==
          "\"quoted\" 'single'\xE2\x90\x8Anewline\xE2\x90\x8D\xE2\x90\x89<!channel> @everyone "
          "@here **bold** "
          "[x](http://evil) "
          "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// ---------------------------------------------------------------------------------------------
// Opsgenie

TEST_CASE("opsgenie: Alert API body", "[formats]") {
    const Alert a = sample_alert();
    const YAML::Node p = adock::test::load_json(opsgenie_payload(a));
    CHECK(p["message"].as<std::string>() ==
          "[CRITICAL] runc_suspicious_exec on node-1: runc run by bash in a container");
    CHECK(p["alias"].as<std::string>() == incident_key(a));
    const std::string description = p["description"].as<std::string>();
    CHECK(description.starts_with(
        "runc run by bash in a container\n\nRule: runc_suspicious_exec (critical)\n"));
    CHECK(description.find("Command: runc --root /run/runc exec\n") != std::string::npos);
    CHECK(description.find("Container: c1 (web) image registry:5000/team/app:1.2\n") !=
          std::string::npos);
    CHECK(p["tags"].as<std::vector<std::string>>() ==
          std::vector<std::string>{"critical", "container", "runtime", "T1609", "T1036"});
    const YAML::Node d = p["details"];
    REQUIRE(d.IsMap());
    for (const auto& kv : d) {
        CHECK(is_json_string(kv.second));
    }
    CHECK(d["host"].as<std::string>() == "node-1");
    CHECK(d["rule"].as<std::string>() == "runc_suspicious_exec");
    CHECK(d["exe"].as<std::string>() == "/usr/sbin/runc");
    CHECK(d["pid"].as<std::string>() == "7");
    CHECK(d["container_id"].as<std::string>() == "c1");
    CHECK(d["container_name"].as<std::string>() == "web");
    CHECK(d["file"].as<std::string>() == "/usr/sbin/runc");
    CHECK(d["cmdline"].as<std::string>() == "runc --root /run/runc exec");
    CHECK(p["entity"].as<std::string>() == "c1");
    CHECK(p["source"].as<std::string>() == "audisp-docker");
    CHECK(p["priority"].as<std::string>() == "P1");
}

TEST_CASE("opsgenie: hostile and 100 KB strings stay within the Alert API limits", "[formats]") {
    for (const Alert& a : {hostile_alert(), huge_alert()}) {
        const std::string body = opsgenie_payload(a);
        CHECK(body.find('\xff') == std::string::npos);
        const YAML::Node p = adock::test::load_json(body);
        const std::string message = p["message"].as<std::string>();
        CHECK(adock::test::code_points(message) <= 130);
        CHECK(message.find('\n') == std::string::npos);
        CHECK(adock::test::code_points(p["alias"].as<std::string>()) <= 512);
        CHECK(adock::test::code_points(p["description"].as<std::string>()) <= 15000);
        CHECK(p["tags"].size() <= 20);
        for (const auto& t : p["tags"]) {
            CHECK(adock::test::code_points(t.as<std::string>()) <= 50);
        }
        std::size_t details = 0;
        for (const auto& kv : p["details"]) {
            CHECK(is_json_string(kv.second));
            details += adock::test::code_points(kv.first.as<std::string>()) +
                       adock::test::code_points(kv.second.as<std::string>());
        }
        CHECK(details <= 8000);
        CHECK(adock::test::code_points(p["entity"].as<std::string>()) <= 512);
    }
    const YAML::Node h = adock::test::load_json(opsgenie_payload(huge_alert()));
    CHECK(h["message"].as<std::string>().ends_with("\xE2\x80\xA6"));
    CHECK(h["tags"].size() == 20);
}

// ---------------------------------------------------------------------------------------------
// Falco

TEST_CASE("falco: the Falco JSON event falcosidekick accepts", "[formats]") {
    const YAML::Node p = adock::test::load_json(falco_payload(sample_alert()));
    CHECK(p["time"].as<std::string>() == "2026-11-22T14:04:36.770000000Z");
    CHECK(p["rule"].as<std::string>() == "runc_suspicious_exec");
    CHECK(p["priority"].as<std::string>() == "Critical");
    CHECK(p["source"].as<std::string>() == "auditd");
    CHECK(p["hostname"].as<std::string>() == "node-1");
    CHECK(p["tags"].as<std::vector<std::string>>() ==
          std::vector<std::string>{"container", "runtime", "T1609", "T1036"});
    const std::string output = p["output"].as<std::string>();
    CHECK(output ==
          "2026-11-22T14:04:36.770000000Z: Critical runc run by bash in a container "
          "(rule=runc_suspicious_exec "
          "host=node-1 exe=/usr/sbin/runc pid=7 cmdline=runc --root /run/runc exec container=c1 "
          "file=exec /usr/sbin/runc seccomp=kill_process ptrace)");
    const YAML::Node f = p["output_fields"];
    REQUIRE(f.IsMap());
    REQUIRE(f.size() > 0);
    for (const auto& kv : f) {
        INFO(kv.first.as<std::string>());
        CHECK(is_json_string(kv.second));
    }
    CHECK(f["proc.exepath"].as<std::string>() == "/usr/sbin/runc");
    CHECK(f["proc.name"].as<std::string>() == "runc");
    CHECK(f["proc.pid"].as<std::string>() == "7");
    CHECK(f["proc.ppid"].as<std::string>() == "6");
    CHECK(f["proc.cmdline"].as<std::string>() == "runc --root /run/runc exec");
    CHECK(f["proc.pexepath"].as<std::string>() == "/usr/bin/bash");
    CHECK(f["proc.pcmdline"].as<std::string>() == "bash -c x");
    CHECK(f["container.id"].as<std::string>() == "c1");
    CHECK(f["container.name"].as<std::string>() == "web");
    CHECK(f["container.image"].as<std::string>() == "registry:5000/team/app:1.2");
    CHECK(f["container.image.repository"].as<std::string>() == "registry:5000/team/app");
    CHECK(f["container.type"].as<std::string>() == "containerd");
    CHECK(f["fd.name"].as<std::string>() == "/usr/sbin/runc");
    CHECK(f["evt.type"].as<std::string>() == "execve");
    CHECK(f["user.uid"].as<std::string>() == "0");
    CHECK(f["user.loginuid"].as<std::string>() == "1000");
    CHECK(f["audit.serial"].as<std::string>() == "42");
    CHECK(f["audit.key"].as<std::string>() == "adock_exec");
    CHECK(f["audit.count"].as<std::string>() == "3");
    CHECK(f["audit.file.operation"].as<std::string>() == "exec");
}

TEST_CASE("falco: time is converted to UTC with nanoseconds", "[formats]") {
    const auto time_of = [](const std::string& t) {
        Alert a = sample_alert();
        a.time = t;
        return adock::test::load_json(falco_payload(a))["time"].as<std::string>();
    };
    CHECK(time_of("2026-01-02T03:04:05.123Z") == "2026-01-02T03:04:05.123000000Z");
    CHECK(time_of("2026-01-02T03:04:05Z") == "2026-01-02T03:04:05.000000000Z");
    CHECK(time_of("2026-01-02T03:04:05.123456789123Z") == "2026-01-02T03:04:05.123456789Z");
    CHECK(time_of("2026-01-01T01:30:00.5+02:00") == "2025-12-31T23:30:00.500000000Z");
    CHECK(time_of("2024-02-28T23:00:00-01:30") == "2024-02-29T00:30:00.000000000Z");
    CHECK(time_of("not a time") == "1970-01-01T00:00:00.000000000Z");
    CHECK(time_of("2026-02-30T00:00:00Z") == "1970-01-01T00:00:00.000000000Z");
}

TEST_CASE("falco: hostile and 100 KB strings: one output line, string fields, valid JSON",
          "[formats]") {
    for (const Alert& a : {hostile_alert(), huge_alert()}) {
        const std::string body = falco_payload(a);
        CHECK(body.find('\xff') == std::string::npos);
        const YAML::Node p = adock::test::load_json(body);
        const std::string output = p["output"].as<std::string>();
        CHECK(output.find('\n') == std::string::npos);
        CHECK(output.find('\r') == std::string::npos);
        CHECK(adock::test::code_points(output) <= 4096);
        REQUIRE(p["output_fields"].size() > 0);
        for (const auto& kv : p["output_fields"]) {
            CHECK(is_json_string(kv.second));
            CHECK(adock::test::code_points(kv.second.as<std::string>()) <= 2048);
        }
        CHECK(p["tags"].size() <= 64);
        CHECK(adock::test::code_points(p["hostname"].as<std::string>()) <= 255);
        CHECK(body.size() < std::size_t{512} * 1024);
    }
    const YAML::Node h = adock::test::load_json(falco_payload(hostile_alert()));
    CHECK(h["output_fields"]["proc.cmdline"].as<std::string>().find(
              "\"quoted\" 'single'\nnewline") != std::string::npos);
    CHECK(h["output_fields"]["container.id"].as<std::string>() == "c1");
}

// ---------------------------------------------------------------------------------------------
// All five

TEST_CASE("all formats: severities map as each API names them", "[formats]") {
    struct Expected {
        Severity severity;
        const char* pagerduty;
        const char* opsgenie;
        const char* falco;
        int discord;
    };

    const std::vector<Expected> table{
        {Severity::Critical, "critical", "P1", "Critical", 0x992D22},
        {Severity::High, "error", "P2", "Error", 0xE74C3C},
        {Severity::Medium, "warning", "P3", "Warning", 0xE67E22},
        {Severity::Low, "info", "P4", "Notice", 0xF1C40F},
        {Severity::Info, "info", "P5", "Informational", 0x3498DB},
    };
    for (const auto& e : table) {
        Alert a = sample_alert();
        a.severity = e.severity;
        INFO(severity_name(e.severity));
        CHECK(
            adock::test::load_json(pagerduty_payload(a))["payload"]["severity"].as<std::string>() ==
            e.pagerduty);
        CHECK(adock::test::load_json(opsgenie_payload(a))["priority"].as<std::string>() ==
              e.opsgenie);
        CHECK(adock::test::load_json(falco_payload(a))["priority"].as<std::string>() == e.falco);
        CHECK(adock::test::load_json(falco_payload(a))["output"].as<std::string>().starts_with(
            std::string("2026-11-22T14:04:36.770000000Z: ") + e.falco + " "));
        CHECK(adock::test::load_json(discord_payload(a))["embeds"][0]["color"].as<int>() ==
              e.discord);
        const std::string title =
            adock::test::load_json(teams_payload(a))["attachments"][0]["content"]["body"][0]["text"]
                .as<std::string>();
        std::string upper = severity_name(e.severity);
        for (auto& c : upper) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        CHECK(title.starts_with("\\[" + upper + "\\]"));
        CHECK(adock::test::load_json(opsgenie_payload(a))["tags"][0].as<std::string>() ==
              severity_name(e.severity));
    }
}

TEST_CASE("all formats: an empty alert still gives valid JSON", "[formats]") {
    const Alert a;
    for (const auto& body : {teams_payload(a),
                             discord_payload(a),
                             pagerduty_payload(a),
                             opsgenie_payload(a),
                             falco_payload(a)}) {
        CHECK_NOTHROW(adock::test::load_json(body));
    }
    CHECK(adock::test::load_json(pagerduty_payload(a))["payload"]["source"].as<std::string>() ==
          "unknown");
    CHECK(adock::test::load_json(falco_payload(a))["output_fields"].size() > 0);
    CHECK_FALSE(adock::test::load_json(discord_payload(a))["embeds"][0]["timestamp"]);
}

// ---------------------------------------------------------------------------------------------
// The initiator (issue 15): one fact in every chat and pager payload, present only when known

namespace {

InitiatorRef docker_exec_initiator() {
    InitiatorRef i;
    i.pid = 123;
    i.exe = "/usr/bin/docker";
    i.argv = {"docker", "exec", "-it", "c1", "sh"};
    i.auid = 1000;
    i.uid = 0;
    return i;
}

/// The value of Teams' fact `title`, or "<missing>".
std::string teams_fact(const Alert& a, const std::string& title) {
    const YAML::Node p = adock::test::load_json(teams_payload(a));
    for (const auto& f : p["attachments"][0]["content"]["body"][2]["facts"]) {
        if (f["title"].as<std::string>() == title) {
            return f["value"].as<std::string>();
        }
    }
    return "<missing>";
}

std::string discord_field(const Alert& a, const std::string& name) {
    const YAML::Node p = adock::test::load_json(discord_payload(a));
    for (const auto& f : p["embeds"][0]["fields"]) {
        if (f["name"].as<std::string>() == name) {
            return f["value"].as<std::string>();
        }
    }
    return "<missing>";
}

}  // namespace

TEST_CASE("all formats: the initiator is a fact when the alert has one, and only then",
          "[formats][initiator]") {
    Alert a = sample_alert();
    a.initiator = docker_exec_initiator();
    CHECK(adock::outputs::initiator_text(a) == "docker exec -it c1 sh (pid 123, auid 1000)");
    CHECK(teams_fact(a, "Initiator") == "docker exec \\-it c1 sh \\(pid 123, auid 1000\\)");
    CHECK(discord_field(a, "Initiator") == "docker exec \\-it c1 sh \\(pid 123, auid 1000\\)");
    const YAML::Node pd =
        adock::test::load_json(pagerduty_payload(a))["payload"]["custom_details"]["initiator"];
    REQUIRE(pd.IsMap());
    CHECK(pd["pid"].as<int>() == 123);
    CHECK(pd["exe"].as<std::string>() == "/usr/bin/docker");
    CHECK(pd["argv"].as<std::vector<std::string>>() == a.initiator->argv);
    CHECK(pd["auid"].as<unsigned>() == 1000U);
    CHECK(pd["text"].as<std::string>() == "docker exec -it c1 sh (pid 123, auid 1000)");
    const YAML::Node og = adock::test::load_json(opsgenie_payload(a));
    CHECK(og["description"].as<std::string>().find(
              "Initiator: docker exec -it c1 sh (pid 123, auid 1000)\n") != std::string::npos);
    CHECK(og["details"]["initiator"].as<std::string>() ==
          "docker exec -it c1 sh (pid 123, auid 1000)");
    CHECK(adock::test::load_json(falco_payload(a))["output_fields"]["audit.initiator"]
              .as<std::string>() == "docker exec -it c1 sh (pid 123, auid 1000)");

    SECTION("ambiguous: the candidates' pids, never one of them as the initiator") {
        InitiatorRef amb;
        amb.ambiguous = true;
        amb.candidates = {docker_exec_initiator(), docker_exec_initiator()};
        amb.candidates[1].pid = 124;
        a.initiator = amb;
        CHECK(adock::outputs::initiator_text(a) == "ambiguous (2 candidates: pid 123, pid 124)");
        CHECK(teams_fact(a, "Initiator") == "ambiguous \\(2 candidates: pid 123, pid 124\\)");
        const YAML::Node d =
            adock::test::load_json(pagerduty_payload(a))["payload"]["custom_details"]["initiator"];
        CHECK(d["ambiguous"].as<bool>());
        CHECK(d["candidates"].size() == 2);
        CHECK_FALSE(d["pid"]);
        amb.candidates.assign(20, docker_exec_initiator());
        a.initiator = amb;
        CHECK(adock::outputs::initiator_text(a).starts_with("ambiguous (20 candidates: pid 123, "));
        CHECK(adock::outputs::initiator_text(a).ends_with(", \xE2\x80\xA6)"));
    }
    SECTION("an unset auid and a cut argv say so") {
        a.initiator->auid = 4294967295U;
        a.initiator->truncated = true;
        CHECK(adock::outputs::initiator_text(a) ==
              "docker exec -it c1 sh \xE2\x80\xA6 (pid 123, auid unset)");
    }
    SECTION("no initiator: no fact, no field, no detail") {
        a.initiator.reset();
        CHECK(adock::outputs::initiator_text(a).empty());
        CHECK(teams_fact(a, "Initiator") == "<missing>");
        CHECK(discord_field(a, "Initiator") == "<missing>");
        CHECK_FALSE(
            adock::test::load_json(pagerduty_payload(a))["payload"]["custom_details"]["initiator"]);
        const YAML::Node o = adock::test::load_json(opsgenie_payload(a));
        CHECK(o["description"].as<std::string>().find("Initiator") == std::string::npos);
        CHECK_FALSE(o["details"]["initiator"]);
        CHECK_FALSE(adock::test::load_json(falco_payload(a))["output_fields"]["audit.initiator"]);
    }
}

TEST_CASE("all formats: a hostile or 100 KB initiator is escaped and cut like every fact",
          "[formats][initiator]") {
    Alert a = hostile_alert();
    InitiatorRef i = docker_exec_initiator();
    i.exe = "/tmp/@everyone";
    i.argv = {"docker",
              "exec",
              kHostileArgv,
              "**c1**",
              "\xe2\x80\xae"
              "hs"};
    i.user = "<!channel> @here";
    a.initiator = i;
    const std::string teams = teams_fact(a, "Initiator");
    CHECK(markdown_escaped(teams, "*_~`[]()#<>|!"));
    CHECK(teams.find("\xe2\x80\xae") == std::string::npos);
    CHECK(teams.find('\n') == std::string::npos);
    const std::string discord = discord_field(a, "Initiator");
    CHECK_FALSE(has_raw_mention(discord));
    CHECK(markdown_escaped(discord, "*_~`|>#-[]()<"));
    const std::string og =
        adock::test::load_json(opsgenie_payload(a))["description"].as<std::string>();
    const auto line = og.substr(og.find("Initiator: "),
                                og.find('\n', og.find("Initiator: ")) - og.find("Initiator: "));
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find("\xe2\x80\xae") == std::string::npos);
    CHECK(line.find("\xE2\x90\x8A") != std::string::npos);  // the argv's newline, as its picture

    Alert h = huge_alert();
    i.argv.assign(100, std::string(100000, '*'));
    i.exe = std::string(100000, 'e');
    h.initiator = i;
    CHECK(adock::outputs::initiator_text(h).size() < 16 * 1024);  // joined up to a bound, not whole
    CHECK(adock::test::code_points(teams_fact(h, "Initiator")) <= 500);
    const std::string big_discord = discord_field(h, "Initiator");
    if (big_discord != "<missing>") {  // the 6000 may be spent before it
        CHECK(adock::test::code_points(big_discord) <= 1024);
    }
    CHECK(teams_payload(h).size() < std::size_t{24} * 1024);
    CHECK(pagerduty_payload(h).size() < std::size_t{400} * 1024);
    CHECK(adock::test::load_json(opsgenie_payload(h))["description"].as<std::string>().size() <
          15000 * 4);
}
