// SPDX-License-Identifier: Apache-2.0
// Every output format on alerts whose strings are arbitrary bytes (what a container can put in an
// exe path, argv, a container name). Oracles: valid UTF-8 and JSON-shaped payloads of bounded
// size, one-line file and syslog forms, no control or bidi character in chat display text.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.hpp"
#include "fuzz_common.hpp"
#include "outputs/display.hpp"
#include "outputs/formats.hpp"
#include "outputs/kafka.hpp"
#include "outputs/otlp.hpp"
#include "outputs/sink.hpp"
#include "outputs/slack.hpp"
#include "outputs/syslog.hpp"
#include "util/log.hpp"

namespace {

using namespace adock;  // NOLINT(google-build-using-namespace)

/// Splits the input at NUL bytes: one piece per string field, in a fixed order.
class Pieces {
public:
    Pieces(const std::uint8_t* data, std::size_t size)
        : text_(reinterpret_cast<const char*>(data), size) {}

    std::string next() {
        if (pos_ > text_.size()) {
            return {};
        }
        std::size_t end = text_.find('\0', pos_);
        if (end == std::string_view::npos) {
            end = text_.size();
        }
        std::string out(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return out;
    }

    [[nodiscard]] unsigned byte() const {
        return text_.empty() ? 0 : static_cast<unsigned char>(text_[0]);
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

/// True when a display string holds a C0 control other than our own line breaks, DEL, or a bidi
/// control (the L6 expectation).
bool has_control(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto u = static_cast<unsigned char>(s[i]);
        if ((u < 0x20U && u != '\n') || u == 0x7fU) {
            return true;
        }
        for (const std::size_t n : {2U, 3U}) {
            if (i + n <= s.size() && outputs::is_bidi_control(std::string_view(s).substr(i, n))) {
                return true;
            }
        }
    }
    return false;
}

void check_texts(const YAML::Node& n, const char* what) {
    if (n.IsScalar()) {
        if (has_control(n.Scalar())) {
            std::fprintf(stderr, "%s: \"%s\"\n", what, log::escape(n.Scalar()).c_str());
            fuzz::require(false, "no control or bidi character in display text");
        }
    } else if (n.IsSequence()) {
        for (const auto& x : n) {
            check_texts(x, what);
        }
    } else if (n.IsMap()) {
        for (const auto& kv : n) {
            check_texts(kv.first, what);
            check_texts(kv.second, what);
        }
    }
}

void check_chat(const std::string& body, const char* what) {
    fuzz::require_utf8(body, what);
    fuzz::require(body.size() < 600 * 1024, "payload bounded");
    YAML::Node p;
    try {
        p = YAML::Load(body);  // JSON is YAML: a body that does not parse is a finding
    } catch (const YAML::Exception&) {
        fuzz::require(false, what);
    }
    check_texts(p, what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return 0;
    }
    Pieces in(data, size);
    Alert a;
    a.severity = static_cast<Severity>(in.byte() % 5);
    a.time = in.next();
    a.host = in.next();
    a.rule_id = in.next();
    a.summary = in.next();
    a.mitre = {in.next()};
    a.tags = {in.next(), in.next()};
    a.key = in.next();
    a.process.exe = in.next();
    a.process.comm = in.next();
    a.process.argv = {in.next(), in.next(), in.next()};
    ProcessRef parent;
    parent.exe = in.next();
    parent.argv = {in.next()};
    a.ancestry.push_back(parent);
    ContainerRef c;
    c.id = in.next();
    c.runtime = in.next();
    c.name = in.next();
    c.image = in.next();
    c.ns = in.next();
    a.container = c;
    a.file = FileRef{in.next(), in.next()};
    a.seccomp = SeccompRef{in.next(), in.next()};
    a.remediation = in.next();

    const outputs::AlertMessage m = outputs::AlertMessage::of(Alert(a));
    fuzz::require(m.json->find('\n') == std::string::npos, "alert JSON is one line");
    fuzz::require_utf8(*m.json, "alert JSON is UTF-8");
    check_chat(outputs::slack_payload(a), "slack payload");
    check_chat(outputs::teams_payload(a), "teams payload");
    check_chat(outputs::discord_payload(a), "discord payload");
    check_chat(outputs::pagerduty_payload(a), "pagerduty payload");
    check_chat(outputs::opsgenie_payload(a), "opsgenie payload");
    fuzz::require_utf8(outputs::falco_payload(a), "falco payload is UTF-8");
    // OTLP: the alert's JSON rewritten as typed attributes stays JSON, its strings intact.
    const std::string otlp = outputs::otlp_logs_payload(a, *m.json, 1);
    fuzz::require_utf8(otlp, "otlp payload is UTF-8");
    try {
        const YAML::Node doc = YAML::Load(otlp);
        const YAML::Node rec = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
        const YAML::Node alert = YAML::Load(*m.json);
        bool exe_found = false;
        for (const auto& kv : rec["attributes"]) {
            if (kv["key"].as<std::string>() == "process.exe") {
                exe_found = kv["value"]["stringValue"].as<std::string>() ==
                            alert["process"]["exe"].as<std::string>();
            }
        }
        fuzz::require(exe_found, "otlp process.exe attribute is the alert's");
    } catch (const YAML::Exception&) {
        fuzz::require(false, "otlp payload parses");
    }
    std::string_view key;
    std::string_view value;
    const std::string record = outputs::kafka_record(outputs::kafka_key(a), *m.json);
    fuzz::require(outputs::split_kafka_record(record, key, value) && key == outputs::kafka_key(a) &&
                      value == *m.json,
                  "kafka record splits back into key and alert JSON");
    const std::string sys = outputs::syslog_message(m, 16, "audisp-docker", 2048);
    fuzz::require(sys.size() <= 2048, "syslog message within its bound");
    fuzz::require(sys.find('\n') == std::string::npos && sys.find('\r') == std::string::npos,
                  "syslog message is one line");
    return 0;
}
