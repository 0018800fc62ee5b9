// SPDX-License-Identifier: Apache-2.0
#include <cstdint>
#include <limits>
#include <string>

#include "alert/alert.hpp"
#include "strict_json.hpp"
#include "test_catch.hpp"
#include "util/json.hpp"

namespace {

std::string escaped(std::string_view s) {
    std::string out;
    adock::util::json_escape_into(out, s);
    return out;
}

const std::string kFffd = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("json_escape_into escapes quotes, backslashes and whitespace", "[json]") {
    CHECK(escaped("plain text") == "plain text");
    CHECK(escaped("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escaped("C:\\dir") == "C:\\\\dir");
    CHECK(escaped("a\nb\rc\td") == "a\\nb\\rc\\td");
    CHECK(escaped("") == "");
}

TEST_CASE("json_escape_into writes other control characters as \\u00XX", "[json]") {
    CHECK(escaped(std::string_view("\x00", 1)) == "\\u0000");
    CHECK(escaped("\x01\x1f") == "\\u0001\\u001f");
    CHECK(escaped("\x1b[31m") == "\\u001b[31m");
    CHECK(escaped("\x7f") == "\\u007f");
    CHECK(escaped("\b\f") == "\\u0008\\u000c");
}

TEST_CASE("json_escape_into keeps valid UTF-8 and replaces invalid bytes", "[json]") {
    SECTION("valid multibyte sequences are kept as they are") {
        CHECK(escaped("caf\xC3\xA9") == "caf\xC3\xA9");            // é, 2 bytes
        CHECK(escaped("\xE2\x82\xAC 5") == "\xE2\x82\xAC 5");      // €, 3 bytes
        CHECK(escaped("\xF0\x9F\x90\xB3") == "\xF0\x9F\x90\xB3");  // 🐳, 4 bytes
    }
    SECTION("a stray byte becomes U+FFFD") {
        CHECK(escaped("a\xFFz") == "a" + kFffd + "z");
        CHECK(escaped("\x80") == kFffd);
    }
    SECTION("a truncated sequence at the end becomes U+FFFD") {
        CHECK(escaped("x\xC3") == "x" + kFffd);
        CHECK(escaped("\xE2\x82") == kFffd + kFffd);
    }
    SECTION("overlong encodings and surrogates are rejected byte by byte") {
        CHECK(escaped("\xC0\xAF") == kFffd + kFffd);
        CHECK(escaped("\xED\xA0\x80") == kFffd + kFffd + kFffd);
    }
    SECTION("a quote after an invalid byte is still escaped") {
        CHECK(escaped("\xC3\"") == kFffd + "\\\"");
    }
}

TEST_CASE("sanitize_utf8 replaces invalid bytes without escaping", "[json]") {
    CHECK(adock::util::sanitize_utf8("a\"b\n\xFF") == "a\"b\n" + kFffd);
}

TEST_CASE("to_json serializes a full alert exactly", "[json][alert]") {
    adock::Alert a;
    a.time = "2024-05-01T12:00:00.123Z";
    a.host = "node-1";
    a.rule_id = "container.shell";
    a.severity = adock::Severity::High;
    a.mitre = {"T1059"};
    a.tags = {"container", "shell"};
    a.summary = "shell \"sh\" in web";
    a.serial = 4242;
    a.key = "docker-exec";
    a.process.pid = 100;
    a.process.ppid = 99;
    a.process.exe = "/bin/sh";
    a.process.comm = "sh";
    a.process.argv = {"sh", "-c", "id\n\xFF"};
    a.process.uid = 0;
    a.ancestry.push_back(adock::ProcessRef{99, 1, "/usr/bin/runc", "runc", {}, {}, {}});
    a.container = adock::ContainerRef{"abc123", "docker", std::nullopt, "web", std::nullopt};
    a.file = adock::FileRef{"/etc/shadow", "read"};

    const std::string expected =
        R"({"time":"2024-05-01T12:00:00.123Z","host":"node-1",)"
        R"("rule":{"id":"container.shell","severity":"high","mitre":["T1059"],)"
        R"("tags":["container","shell"]},"summary":"shell \"sh\" in web",)"
        R"("event":{"serial":4242,"key":"docker-exec"},)"
        R"("process":{"pid":100,"ppid":99,"exe":"/bin/sh","comm":"sh",)"
        R"("argv":["sh","-c","id\n)" +
        kFffd +
        R"("],"uid":0,"auid":null},)"
        R"("ancestry":[{"pid":99,"exe":"/usr/bin/runc","comm":"runc","argv":[]}],)"
        R"("container":{"id":"abc123","runtime":"docker","namespace":null,"name":"web",)"
        R"("image":null,"pod":null,"pod_namespace":null},"file":{"path":"/etc/shadow","operation":"read"}})";
    CHECK(adock::to_json(a) == expected);
}

TEST_CASE("to_json writes nulls for a host alert and omits an absent file", "[json][alert]") {
    adock::Alert a;
    a.time = "t";
    a.host = "h";
    a.rule_id = "r";
    const std::string expected =
        R"({"time":"t","host":"h","rule":{"id":"r","severity":"info","mitre":[],"tags":[]},)"
        R"("summary":"","event":{"serial":0,"key":null},)"
        R"("process":{"pid":-1,"ppid":-1,"exe":"","comm":"","argv":[],"uid":null,"auid":null},)"
        R"("ancestry":[],"container":null})";
    CHECK(adock::to_json(a) == expected);
}

TEST_CASE("the tests' strict JSON check refuses what YAML would accept", "[json][test]") {
    using adock::test::StrictJson;
    for (const char* ok : {R"({"a":[1,-2.5e3,0,true,false,null,"x\u00e9\n"],"b":{}})",
                           "[]",
                           " \"s\" ",
                           "0",
                           "{\"k\":\"caf\xc3\xa9 \xf0\x9f\x90\xb3\"}"}) {
        INFO(ok);
        CHECK(StrictJson::check(ok).empty());
    }
    for (const char* bad : {"{a: 1}",
                            "{'a': 1}",
                            "[1,]",
                            "{\"a\":1,}",
                            "01",
                            "[1] x",
                            "",
                            "{\"a\" 1}",
                            "\"tab\there\"",
                            "\"\\x41\"",
                            "NaN",
                            "[.5]",
                            "\"\xc3\"",
                            "\"\xc0\xaf\"",
                            "\"\xed\xa0\x80\"",
                            "- a",
                            "{\"a\":1}{}"}) {
        INFO(bad);
        CHECK_FALSE(StrictJson::check(bad).empty());
    }
    CHECK_THROWS(adock::test::load_json("{a: 1}"));
    CHECK(adock::test::load_json(R"({"a":"b"})")["a"].as<std::string>() == "b");
}

TEST_CASE("JsonWriter: every integer type is written as its value, without a cast; bool as bool",
          "[json]") {
    std::string out;
    adock::util::JsonWriter w(out);
    w.begin_array();
    w.value(std::numeric_limits<unsigned>::max());
    w.value(std::numeric_limits<unsigned long>::max());
    w.value(std::numeric_limits<unsigned long long>::max());
    w.value(std::size_t{42});
    w.value(std::uint64_t{7});
    w.value(static_cast<std::uint8_t>(200));
    w.value(static_cast<unsigned short>(65535));
    w.value(std::numeric_limits<long long>::min());
    w.value(std::numeric_limits<long>::min());
    w.value(std::int64_t{-1});
    w.value(-5);
    w.value(static_cast<short>(-3));
    w.value(true);
    w.value(false);
    w.end_array();
    CHECK(out ==
          "[4294967295,18446744073709551615,18446744073709551615,42,7,200,65535,"
          "-9223372036854775808,-9223372036854775808,-1,-5,-3,true,false]");
}
