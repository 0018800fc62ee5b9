// SPDX-License-Identifier: Apache-2.0
#include "outputs/slack.hpp"

#include <cctype>
#include <vector>

#include "outputs/display.hpp"
#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "util/json.hpp"

namespace adock::outputs {

using detail::file_text;
using detail::process_text;
using detail::seccomp_text;
using detail::title_of;

namespace {

// Slack's documented limits: header text 150, section text 3000, field text 2000, 10 fields,
// message fallback text 40000 (kept far lower: a notification is not a log).
constexpr std::size_t kHeaderMax = 150;
constexpr std::size_t kSectionMax = 3000;
constexpr std::size_t kFieldMax = 2000;
constexpr std::size_t kFallbackMax = 1000;

/// "*Label*\nvalue" with the value escaped and cut to fit a field.
std::string field(const std::string& label, std::string_view value) {
    return "*" + label + "*\n" + slack_text(value, kFieldMax - label.size() - 3);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) {
            out += sep;
        }
        out += s;
    }
    return out;
}

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

/// One code point of valid UTF-8 as mrkdwn shows it: controls and bidi controls replaced
/// (display_replacement); * _ ~ ` where they could open or close formatting (Slack has no escape
/// for them; inside a word, as in runc_suspicious_exec, they cannot) as their full-width forms;
/// & < > as entities. `before`/`after`: the neighbouring bytes ('\0' at either end).
std::string slack_piece(std::string_view cp, char before, char after) {
    if (auto shown = display_replacement(cp)) {
        return *shown;
    }
    if (cp.size() == 1 && !(is_word_char(before) && is_word_char(after))) {
        switch (cp[0]) {
            case '*':
                return "\xEF\xBC\x8A";  // U+FF0A
            case '_':
                return "\xEF\xBC\xBF";  // U+FF3F
            case '~':
                return "\xEF\xBD\x9E";  // U+FF5E
            case '`':
                return "\xEF\xBD\x80";  // U+FF40
            default:
                break;
        }
    }
    return slack_escape(cp);
}

/// Plain text (the header): valid UTF-8, controls and bidi controls replaced.
std::string slack_plain(std::string_view s) {
    const std::string clean = util::sanitize_utf8(s);
    std::string out;
    std::size_t i = 0;
    while (i < clean.size()) {
        std::size_t j = i + 1;
        while (j < clean.size() && (static_cast<unsigned char>(clean[j]) & 0xC0U) == 0x80U) {
            ++j;
        }
        const std::string_view cp = std::string_view(clean).substr(i, j - i);
        if (auto shown = display_replacement(cp)) {
            out += *shown;
        } else {
            out += cp;
        }
        i = j;
    }
    return out;
}

}  // namespace

std::string truncate_utf8(std::string_view s, std::size_t max_chars) {
    const std::string clean = util::sanitize_utf8(s);
    std::size_t chars = 0;
    std::size_t cut = clean.size();  // byte offset where code point max_chars - 1 starts
    for (std::size_t i = 0; i < clean.size(); ++i) {
        if ((static_cast<unsigned char>(clean[i]) & 0xC0U) != 0x80U) {
            if (max_chars > 0 && chars == max_chars - 1) {
                cut = i;
            }
            ++chars;
        }
    }
    if (chars <= max_chars) {
        return clean;
    }
    return clean.substr(0, cut) + "\xE2\x80\xA6";
}

std::string slack_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string slack_text(std::string_view s, std::size_t max_chars) {
    const std::string clean = util::sanitize_utf8(s);
    std::string out;
    std::size_t chars = 0;
    std::size_t i = 0;
    while (i < clean.size()) {
        std::size_t j = i + 1;
        while (j < clean.size() && (static_cast<unsigned char>(clean[j]) & 0xC0U) == 0x80U) {
            ++j;
        }
        const char before = i > 0 ? clean[i - 1] : '\0';
        const char after = j < clean.size() ? clean[j] : '\0';
        const std::string piece =
            slack_piece(std::string_view(clean).substr(i, j - i), before, after);
        const std::size_t width = piece.size() > 1 && piece.front() == '&' ? piece.size() : 1;
        if (chars + width > max_chars - 1 && j < clean.size()) {
            out += "\xE2\x80\xA6";  // more follows and only the ellipsis still fits
            return out;
        }
        if (chars + width > max_chars) {
            out += "\xE2\x80\xA6";
            return out;
        }
        out += piece;
        chars += width;
        i = j;
    }
    return out;
}

std::string slack_payload(const Alert& a) {
    const std::string title = truncate_utf8(slack_plain(title_of(a)), kHeaderMax);
    std::vector<std::string> fields;
    fields.push_back(field("Host", a.host));
    fields.push_back(field("Process", process_text(a.process)));
    if (!a.ancestry.empty()) {
        fields.push_back(field("Parent", process_text(a.ancestry.front())));
    }
    fields.push_back(field(
        "Container",
        a.container ? a.container->id + (a.container->name ? " (" + *a.container->name + ")" : "")
                    : std::string("host")));
    if (a.initiator) {
        fields.push_back(field("Initiator", initiator_text(a)));
    }
    if (a.file) {
        fields.push_back(field("File", file_text(a)));
    }
    if (a.seccomp) {
        fields.push_back(field("Seccomp", seccomp_text(a)));
    }
    if (!a.mitre.empty()) {
        fields.push_back(field("MITRE ATT&CK", join(a.mitre, ", ")));
    }
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    // The notification text: plain, escaped too (Slack parses it as mrkdwn).
    w.key("text").value(slack_text(title + ": " + a.summary, kFallbackMax));
    w.key("blocks").begin_array();
    w.begin_object();
    w.key("type").value("header");
    w.key("text").begin_object();
    w.key("type").value("plain_text");
    w.key("text").value(title);
    w.key("emoji").value(false);
    w.end_object();
    w.end_object();
    w.begin_object();
    w.key("type").value("section");
    w.key("text").begin_object();
    w.key("type").value("mrkdwn");
    w.key("text").value(slack_text(a.summary, kSectionMax));
    w.end_object();
    w.end_object();
    w.begin_object();
    w.key("type").value("section");
    w.key("fields").begin_array();
    for (const auto& f : fields) {  // at most 8 here; Slack allows 10
        w.begin_object();
        w.key("type").value("mrkdwn");
        w.key("text").value(f);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.begin_object();
    w.key("type").value("context");
    w.key("elements").begin_array();
    w.begin_object();
    w.key("type").value("mrkdwn");
    w.key("text").value(slack_text(a.time + " | serial " + std::to_string(a.serial) +
                                       (a.remediation.empty() ? "" : " | " + a.remediation),
                                   kSectionMax));
    w.end_object();
    w.end_array();
    w.end_object();
    w.end_array();
    w.end_object();
    return out;
}

}  // namespace adock::outputs
