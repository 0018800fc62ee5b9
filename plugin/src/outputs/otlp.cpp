// SPDX-License-Identifier: Apache-2.0
#include "outputs/otlp.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "outputs/formats.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace adock::outputs {
namespace {

constexpr const char* kServiceName = "audisp-docker";
constexpr const char* kScopeVersion = "0.1.0";
constexpr int kMaxDepth = 32;             // the alert's nesting is 4 at most
constexpr std::size_t kMessageMax = 200;  // bytes of a receiver's errorMessage kept for the log
constexpr long kHttpOk = 200;
constexpr long kHttpTooManyRequests = 429;
constexpr long kHttpBadGateway = 502;
constexpr long kHttpServiceUnavailable = 503;
constexpr long kHttpGatewayTimeout = 504;

/// Reads JSON made by util::JsonWriter (to_json) and writes its members as OTLP attributes.
/// Strings are copied as they are: already escaped, valid UTF-8, valid JSON.
class AttributeWriter {
public:
    AttributeWriter(std::string_view in, std::string& out) : in_(in), out_(out) {}

    /// The top-level object's members, flattened, without those named in `skip`.
    void top_level(std::initializer_list<std::string_view> skip) {
        ws();
        expect('{');
        each_in('}', [&](std::string_view key) {
            const std::string_view inner = key.substr(1, key.size() - 2);
            if (std::find(skip.begin(), skip.end(), inner) != skip.end()) {
                skip_value(0);
            } else {
                member(std::string(inner), 0);
            }
        });
    }

private:
    void member(const std::string& name, int depth) {
        if (depth > kMaxDepth) {
            throw std::runtime_error("alert JSON nested too deeply");
        }
        const char c = peek();
        if (c == 'n') {
            (void)scalar_token();  // null: left out
            return;
        }
        if (c == '{') {
            ++pos_;
            each_in('}', [&](std::string_view key) {
                member(name + "." + std::string(key.substr(1, key.size() - 2)), depth + 1);
            });
            return;
        }
        attribute_open(name);
        any_value(depth + 1);
        out_ += "}}";
    }

    void attribute_open(std::string_view escaped_key) {
        if (!first_) {
            out_ += ',';
        }
        first_ = false;
        out_ += "{\"key\":\"";
        out_ += escaped_key;
        out_ += "\",\"value\":";  // the caller closes the value and the attribute: "}}"
    }

    /// An AnyValue for the JSON value at pos_.
    void any_value(int depth) {
        if (depth > kMaxDepth) {
            throw std::runtime_error("alert JSON nested too deeply");
        }
        const char c = peek();
        if (c == '"') {
            out_ += "{\"stringValue\":";
            out_ += string_token();
            return;
        }
        if (c == '{') {
            ++pos_;
            out_ += "{\"kvlistValue\":{\"values\":[";
            bool first = true;
            each_in('}', [&](std::string_view key) {
                if (peek() == 'n') {
                    (void)scalar_token();
                    return;
                }
                out_ += first ? "" : ",";
                first = false;
                out_ += "{\"key\":";
                out_ += key;
                out_ += ",\"value\":";
                any_value(depth + 1);
                out_ += "}}";
            });
            out_ += "]}";
            return;
        }
        if (c == '[') {
            ++pos_;
            out_ += "{\"arrayValue\":{\"values\":[";
            bool first = true;
            each_in(']', [&](std::string_view /*no key*/) {
                out_ += first ? "" : ",";
                first = false;
                if (peek() == 'n') {
                    (void)scalar_token();
                    out_ += "{";  // an empty AnyValue keeps the positions of the others
                } else {
                    any_value(depth + 1);
                }
                out_ += '}';
            });
            out_ += "]}";
            return;
        }
        const std::string_view token = scalar_token();
        if (token == "true" || token == "false") {
            out_ += "{\"boolValue\":";
            out_ += token;
            return;
        }
        if (token.find_first_of(".eE") != std::string_view::npos) {
            out_ += "{\"doubleValue\":";
            out_ += token;
            return;
        }
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
        // int64 as a JSON string (OTLP JSON); beyond int64 the digits are kept as text.
        out_ += (ec == std::errc() && end == token.data() + token.size()) ? "{\"intValue\":\""
                                                                          : "{\"stringValue\":\"";
        out_ += token;
        out_ += '"';
    }

    void skip_value(int depth) {
        if (depth > kMaxDepth) {
            throw std::runtime_error("alert JSON nested too deeply");
        }
        const char c = peek();
        if (c == '"') {
            (void)string_token();
        } else if (c == '{' || c == '[') {
            ++pos_;
            each_in(c == '{' ? '}' : ']', [&](std::string_view /*key*/) { skip_value(depth + 1); });
        } else {
            (void)scalar_token();
        }
    }

    /// The members of the object (or the elements of the array) whose opening bracket was just
    /// read, through its `close`: `each(key)` with pos_ at each value (key: the member's name
    /// token, quotes included; empty in an array).
    template <typename Each>
    void each_in(char close, Each&& each) {
        ws();
        if (peek() == close) {
            ++pos_;
            return;
        }
        while (true) {
            ws();
            std::string_view key;
            if (close == '}') {
                key = string_token();
                ws();
                expect(':');
                ws();
            }
            each(key);
            if (!next_member(close)) {
                return;
            }
        }
    }

    /// After a member: true on ',' (another follows), false on `close`.
    bool next_member(char close) {
        ws();
        const char c = peek();
        ++pos_;
        if (c == ',') {
            return true;
        }
        if (c == close) {
            return false;
        }
        throw std::runtime_error("malformed alert JSON");
    }

    std::string_view string_token() {
        const std::size_t start = pos_;
        expect('"');
        while (pos_ < in_.size() && in_[pos_] != '"') {
            pos_ += in_[pos_] == '\\' ? std::size_t{2} : std::size_t{1};
        }
        expect('"');
        if (pos_ > in_.size()) {
            throw std::runtime_error("malformed alert JSON");
        }
        return in_.substr(start, pos_ - start);
    }

    std::string_view scalar_token() {
        const std::size_t start = pos_;
        while (pos_ < in_.size() && std::string_view("-+.0123456789eEtruefalsn").find(in_[pos_]) !=
                                        std::string_view::npos) {
            ++pos_;
        }
        if (pos_ == start) {
            throw std::runtime_error("malformed alert JSON");
        }
        const std::string_view t = in_.substr(start, pos_ - start);
        if ((t[0] >= 'a' && t[0] <= 'z') && t != "true" && t != "false" && t != "null") {
            throw std::runtime_error("malformed alert JSON");
        }
        return t;
    }

    void expect(char c) {
        if (pos_ >= in_.size() || in_[pos_] != c) {
            throw std::runtime_error("malformed alert JSON");
        }
        ++pos_;
    }

    [[nodiscard]] char peek() const {
        if (pos_ >= in_.size()) {
            throw std::runtime_error("truncated alert JSON");
        }
        return in_[pos_];
    }

    void ws() {
        while (pos_ < in_.size() &&
               (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\t' || in_[pos_] == '\r')) {
            ++pos_;
        }
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    std::string& out_;
    bool first_ = true;
};

/// A receiver's message, safe for the log: printable ASCII, bounded.
std::string loggable(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (out.size() >= kMessageMax) {
            out += "...";
            break;
        }
        out += (c >= 32 && c < 127) ? c : '?';
    }
    return out;
}

/// partialSuccess of an ExportLogsServiceResponse (JSON). int64 fields arrive as strings or
/// numbers (the JSON mapping accepts both).
struct PartialSuccess {
    unsigned long long rejected = 0;
    std::string message;
};

std::optional<PartialSuccess> partial_success(const std::string& body) {
    if (body.find("partialSuccess") == std::string::npos &&
        body.find("partial_success") == std::string::npos) {
        return std::nullopt;
    }
    try {
        const YAML::Node doc = YAML::Load(body);
        if (!doc.IsMap()) {
            return std::nullopt;
        }
        YAML::Node ps = doc["partialSuccess"];
        if (!ps) {
            ps = doc["partial_success"];
        }
        if (!ps || !ps.IsMap()) {
            return std::nullopt;
        }
        PartialSuccess out;
        for (const char* key : {"rejectedLogRecords", "rejected_log_records"}) {
            if (const YAML::Node n = ps[key]; n && n.IsScalar()) {
                const std::string& v = n.Scalar();
                unsigned long long count = 0;
                const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), count);
                if (ec == std::errc() && end == v.data() + v.size()) {
                    out.rejected = count;
                }
            }
        }
        for (const char* key : {"errorMessage", "error_message"}) {
            if (const YAML::Node n = ps[key]; n && n.IsScalar()) {
                out.message = n.Scalar();
            }
        }
        return out;
    } catch (const YAML::Exception&) {
        return std::nullopt;  // not JSON (or cut at the kept size): the 200 stands
    }
}

}  // namespace

int otlp_severity_number(Severity s) {
    switch (s) {
        case Severity::Critical:
            return 21;
        case Severity::High:
            return 17;
        case Severity::Medium:
            return 13;
        case Severity::Low:
            return 10;
        case Severity::Info:
            return 9;
    }
    return 0;  // SEVERITY_NUMBER_UNSPECIFIED
}

std::string otlp_logs_payload(const Alert& a,
                              const std::string& alert_json,
                              std::int64_t observed_unix_nanos) {
    std::string out;
    out.reserve(alert_json.size() * 3 + 512);
    util::JsonWriter w(out);
    w.begin_object();
    w.key("resourceLogs").begin_array().begin_object();
    w.key("resource").begin_object();
    w.key("attributes").begin_array();
    w.begin_object().key("key").value("service.name");
    w.key("value").begin_object().key("stringValue").value(kServiceName).end_object().end_object();
    w.begin_object().key("key").value("host.name");
    w.key("value").begin_object().key("stringValue").value(a.host).end_object().end_object();
    w.end_array();
    w.end_object();
    w.key("scopeLogs").begin_array().begin_object();
    w.key("scope")
        .begin_object()
        .key("name")
        .value(kServiceName)
        .key("version")
        .value(kScopeVersion)
        .end_object();
    w.key("logRecords").begin_array().begin_object();
    if (const auto t = unix_nanos(a.time)) {
        w.key("timeUnixNano").value(std::to_string(*t));
    }  // else 0, "unknown" in OTLP: receivers use the observed time
    w.key("observedTimeUnixNano").value(std::to_string(observed_unix_nanos));
    w.key("severityNumber").value(otlp_severity_number(a.severity));
    w.key("severityText").value(severity_name(a.severity));
    w.key("body").begin_object().key("stringValue").value(a.summary).end_object();
    std::string attributes;
    AttributeWriter(alert_json, attributes).top_level({"time", "host", "summary"});
    w.key("attributes").raw("[" + attributes + "]");
    w.end_object().end_array();
    w.end_object().end_array();
    w.end_object().end_array();
    w.end_object();
    return out;
}

SendResult classify_otlp(SendResult r) {
    if (r.status == 0) {
        return r;  // no answer: transport error (retried), abort, or a request never sent
    }
    const std::string status = "HTTP " + std::to_string(r.status);
    if (r.status == kHttpOk) {
        r.kind = SendResult::Kind::Delivered;
        r.detail = status;
        if (const auto ps = partial_success(r.response)) {
            if (ps->rejected > 0) {
                // One record per request: the receiver refused this alert. Retrying sends the same.
                r.kind = SendResult::Kind::Permanent;
                r.detail = status + ", partialSuccess: " + std::to_string(ps->rejected) +
                           " log record(s) rejected";
            } else if (!ps->message.empty()) {
                r.detail = status + ", partialSuccess warning";
            }
            if (!ps->message.empty()) {
                r.detail += ": " + loggable(ps->message);
            }
        }
        return r;
    }
    if (r.status == kHttpTooManyRequests || r.status == kHttpBadGateway ||
        r.status == kHttpServiceUnavailable || r.status == kHttpGatewayTimeout) {
        r.kind = SendResult::Kind::Retry;
        r.detail = status;
        return r;
    }
    r.kind = SendResult::Kind::Permanent;
    r.detail = status +
               (r.status >= 200 && r.status < 300 ? " (an OTLP receiver answers 200)" : "") +
               ", not retryable under OTLP";
    return r;
}

OtlpTransport::OtlpTransport(const config::OutputConfig& cfg) : name_(cfg.name), http_(cfg) {}

SendResult OtlpTransport::send(const std::string& payload, const std::atomic<bool>& abort) {
    SendResult r = classify_otlp(http_.send(payload, abort));
    if (r.kind == SendResult::Kind::Delivered &&
        r.detail.find("partialSuccess warning") != std::string::npos) {
        unsigned long long held = 0;
        if (warn_log_.allow(held)) {
            log::warning("output '" + name_ + "': " + http_.target() + ": " + r.detail);
        }
    }
    return r;
}

}  // namespace adock::outputs
