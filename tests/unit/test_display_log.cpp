// SPDX-License-Identifier: Apache-2.0
// Strings from the audit stream on their way to a reader: control characters in log messages and
// chat or pager display text, timestamps that overflow.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.hpp"
#include "audit/event.hpp"
#include "http_test_server.hpp"
#include "outputs/display.hpp"
#include "outputs/formats.hpp"
#include "outputs/slack.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/log.hpp"

TEST_CASE("log messages are one line: C0, DEL and the backslash escaped", "[util][log][hostile]") {
    using adock::log::escape;
    CHECK(escape("plain /usr/bin/runc") == "plain /usr/bin/runc");
    CHECK(escape("x\naudisp-docker: info: forged") == "x\\x0aaudisp-docker: info: forged");
    CHECK(escape("a\rb\tc\x1b[2Jd\x7f") == "a\\x0db\\x09c\\x1b[2Jd\\x7f");
    CHECK(escape("back\\x0a") == "back\\\\x0a");  // an escape cannot be forged either
    CHECK(escape("\xC3\xA9") == "\xC3\xA9");      // UTF-8 passes
}

TEST_CASE("a logged exe path with newlines and a copy of a log line stays one line",
          "[util][log][hostile]") {
    adock::test_http::StderrCapture capture;
    adock::log::warning(
        "cannot read /tmp/x\naudisp-docker: info: integrity: 0 differences (all good)\n/runc");
    const std::string text = capture.finish();
    CHECK(text ==
          "audisp-docker: warning: cannot read /tmp/x\\x0aaudisp-docker: info: integrity: 0 "
          "differences (all good)"
          "\\x0a/runc\n");
}

TEST_CASE("rfc3339: crafted seconds are clamped, never a wrapped year", "[audit][hostile]") {
    using adock::audit::rfc3339;
    CHECK(rfc3339(67767976233532800, 2) == "9999-12-31T23:59:59.002Z");
    CHECK(rfc3339(INT64_MAX, 0) == "9999-12-31T23:59:59.000Z");
    CHECK(rfc3339(-5, 0) == "1970-01-01T00:00:00.000Z");
    CHECK(rfc3339(INT64_MIN, 0) == "1970-01-01T00:00:00.000Z");
    CHECK(rfc3339(1764583200, 123) == "2025-12-01T10:00:00.123Z");
}

TEST_CASE("display text: controls become pictures, bidi controls U+FFFD", "[outputs][hostile]") {
    using adock::outputs::display_replacement;
    CHECK(display_replacement("\x1b") == std::optional<std::string>("\xE2\x90\x9B"));
    CHECK(display_replacement("\n") == std::optional<std::string>("\xE2\x90\x8A"));
    CHECK(display_replacement("\x7f") == std::optional<std::string>("\xE2\x90\xA1"));
    for (const char* bidi : {"\xE2\x80\xAE",
                             "\xE2\x80\xAA",
                             "\xE2\x81\xA6",
                             "\xE2\x81\xA9",
                             "\xE2\x80\x8E",
                             "\xE2\x80\x8F",
                             "\xD8\x9C"}) {
        CHECK(display_replacement(bidi) == std::optional<std::string>("\xEF\xBF\xBD"));
    }
    CHECK_FALSE(display_replacement("a").has_value());
    CHECK_FALSE(display_replacement("\xE2\x80\xA6").has_value());  // the ellipsis stays

    // Slack: mrkdwn emphasis cannot be formed from a value.
    const std::string t =
        adock::outputs::slack_text("*bold* _it_ ~st~ `code` \x1b[31m\xE2\x80\xAEtxt", 200);
    for (const char c : std::string("*_~`\x1b")) {
        CHECK(t.find(c) == std::string::npos);
    }
    CHECK(t.find("\xE2\x80\xAE") == std::string::npos);
}

TEST_CASE("every chat and pager payload: no control or bidi character in any string",
          "[outputs][formats][hostile]") {
    adock::Alert a;
    a.rule_id = "container_sensitive_syscall";
    a.host = "h\x1b]0;x\x07";
    a.severity = adock::Severity::Critical;
    a.summary = "unshare by /tmp/\x1b[31mevil\r\nFAKE: ok\xE2\x80\xAEtxt.sh \xD8\x9C\x7f";
    a.process.exe = a.summary;
    a.process.comm = "c\x1b";
    a.process.argv = {"/tmp/x\n",
                      "\xE2\x81\xA6@everyone\x1b[2J",
                      "\xE2\x80\x8F"
                      "arg\t"};
    a.ancestry.push_back({});
    a.ancestry.back().exe = "/bin/\x1bsh";
    a.ancestry.back().argv = {"sh\r"};
    a.remediation = "r\x08";
    const auto bad = [](const std::string& s) {
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto u = static_cast<unsigned char>(s[i]);
            if (u < 0x20U || u == 0x7fU) {
                return true;
            }
            for (const char* b : {"\xE2\x80\xAE", "\xE2\x81\xA6", "\xE2\x80\x8F", "\xD8\x9C"}) {
                if (s.compare(i, std::string_view(b).size(), b) == 0) {
                    return true;
                }
            }
        }
        return false;
    };
    for (const auto& body : {adock::outputs::slack_payload(a),
                             adock::outputs::teams_payload(a),
                             adock::outputs::discord_payload(a),
                             adock::outputs::pagerduty_payload(a),
                             adock::outputs::opsgenie_payload(a)}) {
        const YAML::Node p = adock::test::load_json(body);
        std::vector<std::string> all;
        adock::test::yaml_texts(p, all);
        REQUIRE_FALSE(all.empty());
        for (const auto& s : all) {
            // Our own structure may break lines (Slack "*Label*\nvalue", Opsgenie's description);
            // a value never brings any other control with it.
            std::string without_our_newlines;
            for (const char c : s) {
                if (c != '\n') {
                    without_our_newlines += c;
                }
            }
            INFO(body.substr(0, 200));
            CHECK_FALSE(bad(without_our_newlines));
            CHECK(s.find("\nFAKE") == std::string::npos);  // \r\n is shown, never a line of its own
        }
    }
}
