// SPDX-License-Identifier: Apache-2.0
#include "outputs/formats.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "outputs/display.hpp"
#include "outputs/gate.hpp"
#include "outputs/slack.hpp"
#include "util/json.hpp"
#include "util/rfc3339.hpp"

namespace adock::outputs {
namespace {

constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";   // U+2026: marks a cut
constexpr std::string_view kZeroWidth = "\xE2\x80\x8B";  // U+200B: breaks "@everyone"
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
constexpr const char* kClient = "audisp-docker";

// ---------------------------------------------------------------------------------------------
// Escaping and cutting

enum class Escape {
    None,             ///< as it is (only made valid UTF-8, and JSON-escaped by the writer)
    Line,             ///< one line of plain text: control characters become spaces
    Display,          ///< display text: controls become their pictures (U+2400..), bidi U+FFFD
    TeamsMarkdown,    ///< backslash before every Markdown special of Adaptive Card text
    DiscordMarkdown,  ///< backslash before Discord Markdown specials, zero-width space after '@'
    DiscordMentions,  ///< only the zero-width space after '@' (text Discord does not render)
};

// CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that start
// emphasis, code, links, images, headings, lists, quotes, tables or HTML.
constexpr std::string_view kTeamsSpecials = "\\`*_~#+-.!|<>[](){}";
constexpr std::string_view kDiscordSpecials = "\\*_~`|>#-[]()<";

/// One code point of valid UTF-8, escaped for `e`.
std::string escape_code_point(std::string_view cp, Escape e) {
    if (e == Escape::None) {
        return std::string(cp);
    }
    if (is_bidi_control(cp)) {
        return std::string(kReplacement);
    }
    if (cp.size() != 1) {
        return std::string(cp);
    }
    const char c = cp[0];
    const auto u = static_cast<unsigned char>(c);
    if (e == Escape::Line) {
        return u < 0x20U || u == 0x7FU ? std::string(" ") : std::string(cp);
    }
    if (auto shown = display_replacement(cp)) {  // CR, LF, ESC, any C0, DEL: their pictures
        return *shown;
    }
    switch (e) {
        case Escape::Line:
        case Escape::Display:
            return std::string(cp);
        case Escape::TeamsMarkdown:
            return kTeamsSpecials.find(c) != std::string_view::npos ? "\\" + std::string(cp)
                                                                    : std::string(cp);
        case Escape::DiscordMarkdown:
            if (c == '@') {
                return "@" + std::string(kZeroWidth);
            }
            return kDiscordSpecials.find(c) != std::string_view::npos ? "\\" + std::string(cp)
                                                                      : std::string(cp);
        case Escape::DiscordMentions:
            return c == '@' ? "@" + std::string(kZeroWidth) : std::string(cp);
        case Escape::None:
            break;
    }
    return std::string(cp);
}

/// Length in UTF-16 code units of valid UTF-8: a code point above U+FFFF counts two. Never less
/// than the number of code points, so a cut made with it satisfies an API counting either.
std::size_t units_of(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u & 0xC0U) != 0x80U) {
            n += (u & 0xF8U) == 0xF0U ? 2 : 1;
        }
    }
    return n;
}

/// Bytes `s` takes inside a JSON string once util::JsonWriter has escaped it.
std::size_t json_bytes(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            n += 2;
        } else if (u < 0x20U || u == 0x7FU) {
            n += 6;  // \u00XX
        } else {
            ++n;
        }
    }
    return n;
}

/// `s` made valid UTF-8 and escaped for `e`, at most `max_units` UTF-16 units and `max_bytes`
/// bytes once JSON-escaped; "…" marks a cut and an escape is never split. truncate_utf8 with
/// escaping and a byte bound: the bytes are what keeps a body under an API's size limit.
std::string fit(std::string_view s, std::size_t max_units, std::size_t max_bytes, Escape e) {
    const std::string clean = util::sanitize_utf8(s);
    const std::size_t ellipsis_units = units_of(kEllipsis);
    const std::size_t ellipsis_bytes = kEllipsis.size();
    const bool ellipsis_fits = max_units >= ellipsis_units && max_bytes >= ellipsis_bytes;
    std::string out;
    std::size_t units = 0;
    std::size_t bytes = 0;
    std::size_t cut = 0;  // longest prefix of `out` after which the ellipsis still fits
    std::size_t i = 0;
    while (i < clean.size()) {
        std::size_t j = i + 1;
        while (j < clean.size() && (static_cast<unsigned char>(clean[j]) & 0xC0U) == 0x80U) {
            ++j;
        }
        const std::string piece = escape_code_point(std::string_view(clean).substr(i, j - i), e);
        const std::size_t pu = units_of(piece);
        const std::size_t pb = json_bytes(piece);
        if (pu > max_units - units || pb > max_bytes - bytes) {
            out.resize(cut);
            if (ellipsis_fits) {
                out += kEllipsis;
            }
            return out;
        }
        out += piece;
        units += pu;
        bytes += pb;
        if (ellipsis_fits && units <= max_units - ellipsis_units &&
            bytes <= max_bytes - ellipsis_bytes) {
            cut = out.size();
        }
        i = j;
    }
    return out;
}

/// Plain text cut to `max_units`, with no byte bound beyond what the units imply.
std::string fit(std::string_view s, std::size_t max_units, Escape e = Escape::None) {
    return fit(s, max_units, kUnlimited, e);
}

/// Spends one allowance across several strings: Discord's 6000 characters per embed, Opsgenie's
/// 8000 characters of details, the bytes PagerDuty's custom_details may take.
class Budget {
public:
    Budget(std::size_t units, std::size_t bytes) : units_(units), bytes_(bytes) {}

    /// `s` fitted to its own limits and to what is left, which it then uses up.
    std::string take(std::string_view s, std::size_t max_units, std::size_t max_bytes, Escape e) {
        std::string out = fit(s, std::min(max_units, units_), std::min(max_bytes, bytes_), e);
        spend(out);
        return out;
    }

    /// Counts text already fitted (a fixed label) against the allowance.
    void spend(std::string_view fitted) {
        units_ -= std::min(units_, units_of(fitted));
        bytes_ -= std::min(bytes_, json_bytes(fitted));
    }

    [[nodiscard]] std::size_t units_left() const { return units_; }

private:
    std::size_t units_;
    std::size_t bytes_;
};

/// Joins at most `max_items` of `v` with `sep`, stopping once past `raw_cap` bytes: a 100 KB
/// argv is not copied whole only to be cut. A cap of 4 bytes per unit of the later cut plus 4
/// (a code point is at most 4 bytes and counts at least one unit) leaves that cut unchanged.
std::string join_capped(const std::vector<std::string>& v,
                        std::string_view sep,
                        std::size_t max_items,
                        std::size_t raw_cap) {
    std::string out;
    std::size_t n = 0;
    for (const auto& s : v) {
        if (n == max_items) {
            out += sep;
            out += kEllipsis;
            out += "(+" + std::to_string(v.size() - n) + ")";
            break;
        }
        if (n > 0) {
            out += sep;
        }
        out.append(s, 0, std::min(s.size(), raw_cap + 1));
        ++n;
        if (out.size() > raw_cap) {
            break;
        }
    }
    return out;
}

constexpr std::size_t raw_cap_for(std::size_t max_units) {
    return max_units * 4 + 4;
}

// ---------------------------------------------------------------------------------------------
// Time

/// The alert's time in a form every API parses, or nullopt when it is no RFC 3339 time.
std::optional<std::string> normalized_time(const std::string& time, std::size_t fraction_digits) {
    const auto t = util::parse_rfc3339(time);
    if (!t || t->sec < -62135596800LL || t->sec > 253402300799LL) {  // years 1..9999
        return std::nullopt;
    }
    return util::format_utc(*t, fraction_digits);
}

}  // namespace

std::optional<std::int64_t> unix_nanos(const std::string& rfc3339) {
    const auto t = util::parse_rfc3339(rfc3339);
    constexpr std::int64_t kMaxSec = 9223372035LL;  // INT64_MAX / 1e9, minus the fraction
    if (!t || t->sec < 0 || t->sec > kMaxSec) {
        return std::nullopt;
    }
    return t->sec * 1000000000LL + static_cast<std::int64_t>(t->nanos);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Text shared by the formats

std::string upper(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

std::string title_of(const Alert& a) {
    std::string t(1, '[');  // built by appending: GCC 12's -Wrestrict misfires on "[" + ...
    t += upper(severity_name(a.severity));
    t += "] ";
    t += a.rule_id;
    t += " on ";
    t += a.host;
    return t;
}

std::string process_text(const ProcessRef& p) {
    return p.exe + " (pid " + std::to_string(p.pid) + ")";
}

std::string container_id_or_host(const Alert& a) {
    return a.container ? a.container->id : std::string("host");
}

std::string container_text(const Alert& a) {
    if (!a.container) {
        return "host";
    }
    std::string s = a.container->id;
    if (a.container->name) {
        s += " (" + *a.container->name + ")";
    }
    if (a.container->image) {
        s += " image " + *a.container->image;
    }
    return s;
}

std::string file_text(const Alert& a) {
    return a.file ? a.file->operation + " " + a.file->path : std::string();
}

std::string seccomp_text(const Alert& a) {
    return a.seccomp ? a.seccomp->action + " " + a.seccomp->syscall : std::string();
}

// The initiator fact's raw text: the argv joined up to what the widest fact shows (Slack's 2000).
constexpr std::size_t kInitiatorUnits = 2000;
constexpr std::size_t kInitiatorCandidatesShown = 8;

std::string auid_text(const std::optional<std::uint32_t>& auid) {
    if (!auid) {
        return "auid unknown";
    }
    return *auid == 4294967295U ? std::string("auid unset") : "auid " + std::to_string(*auid);
}

std::string join_all(const std::vector<std::string>& v, std::size_t max_units) {
    return join_capped(v, ", ", kUnlimited, raw_cap_for(max_units));
}

std::string audit_text(const Alert& a) {
    std::string s = "serial " + std::to_string(a.serial);
    if (a.key) {
        s += ", key " + *a.key;
    }
    if (a.count) {
        s += ", " + std::to_string(*a.count) + " events";
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// Incident key

constexpr std::array<char, 16> kHexDigits{
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

std::optional<std::string> sha256_hex(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(static_cast<std::size_t>(len) * 2);
    for (unsigned i = 0; i < len; ++i) {
        out += kHexDigits.at(md.at(i) >> 4U);
        out += kHexDigits.at(md.at(i) & 0xFU);
    }
    return out;
}

/// FNV-1a, only for the case libcrypto cannot digest (out of memory): a stable key still beats
/// none, which would open a new incident for every alert.
std::string fnv1a_hex(std::string_view data) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    std::string out;
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += kHexDigits.at((h >> static_cast<unsigned>(shift)) & 0xFU);
    }
    return out;
}

// PagerDuty's dedup_key limit; the rule id gets what the prefix and hash leave.
constexpr std::size_t kIncidentKeyMax = 255;
constexpr std::size_t kIncidentHashChars = 32;
constexpr std::string_view kIncidentPrefix = "audisp-docker/";

// ---------------------------------------------------------------------------------------------
// Severity maps

const char* pagerduty_severity(Severity s) {
    switch (s) {
        case Severity::Critical:
            return "critical";
        case Severity::High:
            return "error";
        case Severity::Medium:
            return "warning";
        case Severity::Low:
        case Severity::Info:
            return "info";
    }
    return "info";
}

const char* opsgenie_priority(Severity s) {
    switch (s) {
        case Severity::Critical:
            return "P1";
        case Severity::High:
            return "P2";
        case Severity::Medium:
            return "P3";
        case Severity::Low:
            return "P4";
        case Severity::Info:
            return "P5";
    }
    return "P5";
}

const char* falco_priority(Severity s) {
    switch (s) {
        case Severity::Critical:
            return "Critical";
        case Severity::High:
            return "Error";
        case Severity::Medium:
            return "Warning";
        case Severity::Low:
            return "Notice";
        case Severity::Info:
            return "Informational";
    }
    return "Informational";
}

/// Discord embed colour (decimal RGB): dark red, red, orange, yellow, blue.
int discord_color(Severity s) {
    switch (s) {
        case Severity::Critical:
            return 0x992D22;
        case Severity::High:
            return 0xE74C3C;
        case Severity::Medium:
            return 0xE67E22;
        case Severity::Low:
            return 0xF1C40F;
        case Severity::Info:
            return 0x3498DB;
    }
    return 0x3498DB;
}

/// Adaptive Card TextBlock colour of the title.
const char* teams_color(Severity s) {
    switch (s) {
        case Severity::Critical:
        case Severity::High:
            return "attention";
        case Severity::Medium:
            return "warning";
        case Severity::Low:
        case Severity::Info:
            return "default";
    }
    return "default";
}

// ---------------------------------------------------------------------------------------------
// Limits (outputs.md §6 and the APIs' documentation)

// Teams: ~28 KB per message (HTTP 413 above). Every text is bounded in JSON bytes, so the card
// stays under ~19 KB whatever the alert holds.
constexpr std::size_t kTeamsTitleUnits = 200;
constexpr std::size_t kTeamsTitleBytes = 768;
constexpr std::size_t kTeamsSummaryUnits = 2000;
constexpr std::size_t kTeamsSummaryBytes = 4096;
constexpr std::size_t kTeamsFactUnits = 500;
constexpr std::size_t kTeamsFactBytes = 1200;

constexpr std::size_t kDiscordTitleMax = 256;
constexpr std::size_t kDiscordDescriptionMax = 4096;
constexpr std::size_t kDiscordDescriptionShare = 2048;  // leaves the fields room in the 6000
constexpr std::size_t kDiscordFieldNameMax = 256;
constexpr std::size_t kDiscordFieldValueMax = 1024;
constexpr std::size_t kDiscordFieldsMax = 25;
constexpr std::size_t kDiscordFooterMax = 2048;
constexpr std::size_t kDiscordFooterShare = 256;
constexpr std::size_t kDiscordEmbedMax = 6000;

// PagerDuty: 512 KB per event, summary 1024, dedup_key 255. custom_details gets 256 KB of string
// bytes; the rest of the body is bounded by the item caps, so it stays under ~300 KB.
constexpr std::size_t kPagerDutySummaryMax = 1024;
constexpr std::size_t kPagerDutyFieldMax = 255;
constexpr std::size_t kPagerDutyDetailsBytes = std::size_t{256} * 1024;
constexpr std::size_t kPagerDutyStringUnits = 4096;
constexpr std::size_t kPagerDutyStringBytes = std::size_t{16} * 1024;
constexpr std::size_t kPagerDutyArgvMax = 64;
constexpr std::size_t kPagerDutyParentArgvMax = 16;
constexpr std::size_t kPagerDutyListMax = 32;
constexpr std::size_t kPagerDutyAncestryMax = 8;

constexpr std::size_t kOpsgenieMessageMax = 130;
constexpr std::size_t kOpsgenieAliasMax = 512;
constexpr std::size_t kOpsgenieDescriptionMax = 15000;
constexpr std::size_t kOpsgenieLineMax = 2048;
constexpr std::size_t kOpsgenieTagMax = 50;
constexpr std::size_t kOpsgenieTagsMax = 20;
constexpr std::size_t kOpsgenieDetailsMax = 8000;
constexpr std::size_t kOpsgenieDetailValueMax = 1024;
constexpr std::size_t kOpsgenieEntityMax = 512;

// Falco / falcosidekick: no documented limits; these keep chat outputs behind sidekick sane.
constexpr std::size_t kFalcoFieldUnits = 2048;
constexpr std::size_t kFalcoFieldBytes = 8192;
constexpr std::size_t kFalcoOutputUnits = 4096;
constexpr std::size_t kFalcoOutputBytes = 16384;
constexpr std::size_t kFalcoOutputPartMax = 256;
constexpr std::size_t kFalcoSummaryPartMax = 1024;
constexpr std::size_t kFalcoTagMax = 128;
constexpr std::size_t kFalcoTagsMax = 64;
constexpr std::size_t kFalcoArgvMax = 64;
constexpr std::size_t kHostMax = 255;

/// repository of an image reference: "reg:5000/app:1.2@sha256:…" → "reg:5000/app".
std::string image_repository(const std::string& image) {
    std::string repo = image.substr(0, image.find('@'));
    const auto colon = repo.rfind(':');
    const auto slash = repo.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        repo.resize(colon);
    }
    return repo;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string initiator_text(const Alert& a) {
    if (!a.initiator) {
        return {};
    }
    const InitiatorRef& i = *a.initiator;
    if (i.ambiguous) {
        std::string s = "ambiguous (" + std::to_string(i.candidates.size()) + " candidates";
        for (std::size_t k = 0; k < i.candidates.size() && k < kInitiatorCandidatesShown; ++k) {
            s += k == 0 ? ": pid " : ", pid ";
            s += std::to_string(i.candidates[k].pid);
        }
        if (i.candidates.size() > kInitiatorCandidatesShown) {
            s += ", ";
            s += kEllipsis;
        }
        return s + ")";
    }
    std::string s = i.argv.empty() ? i.exe
                                   : join_capped(i.argv, " ", kUnlimited, raw_cap_for(kInitiatorUnits));
    if (i.truncated) {
        s += " ";
        s += kEllipsis;
    }
    s += " (pid " + std::to_string(i.pid) + ", " + auid_text(i.auid);
    if (i.user) {
        s += ", user " + *i.user;
    }
    return s + ")";
}

std::string incident_key(const Alert& a) {
    const std::string identity = incident_identity(a);  // the gate's dedup key, hashed
    const auto hash = sha256_hex(identity);
    const std::string digest = hash ? hash->substr(0, kIncidentHashChars) : fnv1a_hex(identity);
    const std::size_t room = kIncidentKeyMax - kIncidentPrefix.size() - 1 - kIncidentHashChars;
    // A rule id from a rule file, but the key is shown as is: controls become spaces there too.
    return std::string(kIncidentPrefix) + fit(a.rule_id, room, Escape::Line) + "/" + digest;
}

std::string teams_payload(const Alert& a) {
    const auto md = [](std::string_view s, std::size_t units, std::size_t bytes) {
        return fit(s, units, bytes, Escape::TeamsMarkdown);
    };
    std::vector<std::pair<const char*, std::string>> facts;
    const auto fact = [&](const char* label, const std::string& raw) {
        if (!raw.empty()) {
            facts.emplace_back(label, md(raw, kTeamsFactUnits, kTeamsFactBytes));
        }
    };
    fact("Host", a.host);
    fact("Process", process_text(a.process));
    fact("Command", join_capped(a.process.argv, " ", kUnlimited, raw_cap_for(kTeamsFactUnits)));
    if (!a.ancestry.empty()) {
        fact("Parent", process_text(a.ancestry.front()));
    }
    fact("Container", container_text(a));
    fact("Initiator", initiator_text(a));
    fact("File", file_text(a));
    fact("Seccomp", seccomp_text(a));
    fact("MITRE", join_all(a.mitre, kTeamsFactUnits));
    fact("Time", a.time);
    fact("Remediation", a.remediation);

    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("type").value("message");
    w.key("attachments").begin_array();
    w.begin_object();
    w.key("contentType").value("application/vnd.microsoft.card.adaptive");
    w.key("contentUrl").null();
    w.key("content").begin_object();
    w.key("$schema").value("http://adaptivecards.io/schemas/adaptive-card.json");
    w.key("type").value("AdaptiveCard");
    w.key("version").value("1.4");
    w.key("body").begin_array();
    w.begin_object();
    w.key("type").value("TextBlock");
    w.key("text").value(md(title_of(a), kTeamsTitleUnits, kTeamsTitleBytes));
    w.key("weight").value("bolder");
    w.key("size").value("medium");
    w.key("color").value(teams_color(a.severity));
    w.key("wrap").value(true);
    w.end_object();
    w.begin_object();
    w.key("type").value("TextBlock");
    w.key("text").value(
        md(a.summary.empty() ? a.rule_id : a.summary, kTeamsSummaryUnits, kTeamsSummaryBytes));
    w.key("wrap").value(true);
    w.end_object();
    if (!facts.empty()) {
        w.begin_object();
        w.key("type").value("FactSet");
        w.key("facts").begin_array();
        for (const auto& [title, value] : facts) {
            w.begin_object();
            w.key("title").value(title);
            w.key("value").value(value);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("msteams").begin_object();
    w.key("width").value("Full");
    w.end_object();
    w.end_object();
    w.end_object();
    w.end_array();
    w.end_object();
    return out;
}

std::string discord_payload(const Alert& a) {
    Budget budget(kDiscordEmbedMax, kUnlimited);
    const std::string title =
        budget.take(title_of(a), kDiscordTitleMax, kUnlimited, Escape::DiscordMarkdown);
    const std::string footer = budget.take(std::string(kClient) + " | " + audit_text(a),
                                           std::min(kDiscordFooterShare, kDiscordFooterMax),
                                           kUnlimited,
                                           Escape::DiscordMentions);
    const std::string description =
        budget.take(a.summary,
                    std::min(kDiscordDescriptionShare, kDiscordDescriptionMax),
                    kUnlimited,
                    Escape::DiscordMarkdown);

    struct Field {
        std::string name;
        std::string value;
        bool inline_ = false;
    };

    std::vector<Field> fields;
    const auto field = [&](std::string_view name, const std::string& raw, bool inline_) {
        if (raw.empty() || fields.size() == kDiscordFieldsMax) {
            return;
        }
        const std::string n = fit(name, kDiscordFieldNameMax, Escape::DiscordMarkdown);
        if (budget.units_left() < units_of(n) + 2) {
            return;  // the 6000 are spent: the rest of the fields are left off
        }
        budget.spend(n);
        fields.push_back(
            Field{n,
                  budget.take(raw, kDiscordFieldValueMax, kUnlimited, Escape::DiscordMarkdown),
                  inline_});
    };
    const std::size_t raw_cap = raw_cap_for(kDiscordFieldValueMax);
    field("Severity", severity_name(a.severity), true);
    field("Rule", a.rule_id, true);
    field("Host", a.host, true);
    field("Process", process_text(a.process), false);
    field("Command", join_capped(a.process.argv, " ", kUnlimited, raw_cap), false);
    if (!a.ancestry.empty()) {
        field("Parent", process_text(a.ancestry.front()), false);
    }
    field("Container", container_text(a), false);
    field("Initiator", initiator_text(a), false);
    field("File", file_text(a), false);
    field("Seccomp", seccomp_text(a), false);
    field("MITRE ATT&CK", join_all(a.mitre, kDiscordFieldValueMax), true);
    field("Tags", join_all(a.tags, kDiscordFieldValueMax), true);
    field("Remediation", a.remediation, false);

    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("username").value(kClient);
    w.key("allowed_mentions").begin_object();
    w.key("parse").begin_array().end_array();
    w.end_object();
    w.key("embeds").begin_array();
    w.begin_object();
    w.key("title").value(title);
    if (!description.empty()) {
        w.key("description").value(description);
    }
    w.key("color").value(discord_color(a.severity));
    w.key("fields").begin_array();
    for (const auto& f : fields) {
        w.begin_object();
        w.key("name").value(f.name);
        w.key("value").value(f.value);
        w.key("inline").value(f.inline_);
        w.end_object();
    }
    w.end_array();
    w.key("footer").begin_object();
    w.key("text").value(footer);
    w.end_object();
    if (const auto t = normalized_time(a.time, 3)) {
        w.key("timestamp").value(*t);
    }
    w.end_object();
    w.end_array();
    w.end_object();
    return out;
}

std::string pagerduty_payload(const Alert& a) {
    Budget budget(kUnlimited, kPagerDutyDetailsBytes);
    const auto str = [&](std::string_view s) {
        return budget.take(s, kPagerDutyStringUnits, kPagerDutyStringBytes, Escape::Display);
    };
    const auto list =
        [&](util::JsonWriter& w, const std::vector<std::string>& v, std::size_t max_items) {
            w.begin_array();
            for (std::size_t i = 0; i < v.size() && i < max_items; ++i) {
                w.value(str(v[i]));
            }
            w.end_array();
        };
    const auto optional_str = [&](util::JsonWriter& w, const std::optional<std::string>& v) {
        if (v) {
            w.value(str(*v));
        } else {
            w.null();
        }
    };

    const std::string summary_text = a.rule_id + " on " + a.host + ": " + a.summary;
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("event_action").value("trigger");  // first: the sender splices routing_key in before it
    w.key("dedup_key").value(incident_key(a));
    w.key("client").value(kClient);
    w.key("payload").begin_object();
    w.key("summary").value(fit(summary_text, kPagerDutySummaryMax, Escape::Line));
    w.key("source").value(a.host.empty() ? std::string("unknown")
                                         : fit(a.host, kPagerDutyFieldMax, Escape::Line));
    w.key("severity").value(pagerduty_severity(a.severity));
    if (const auto t = normalized_time(a.time, 3)) {
        w.key("timestamp").value(*t);
    }
    w.key("component").value(fit(container_id_or_host(a), kPagerDutyFieldMax, Escape::Line));
    w.key("group").value(fit(a.rule_id, kPagerDutyFieldMax, Escape::Line));
    w.key("class").value(fit(a.rule_id, kPagerDutyFieldMax, Escape::Line));

    w.key("custom_details").begin_object();
    w.key("rule").value(str(a.rule_id));
    w.key("severity").value(severity_name(a.severity));
    w.key("summary").value(str(a.summary));
    w.key("time").value(str(a.time));
    w.key("host").value(str(a.host));
    w.key("mitre");
    list(w, a.mitre, kPagerDutyListMax);
    w.key("tags");
    list(w, a.tags, kPagerDutyListMax);
    w.key("process").begin_object();
    w.key("exe").value(str(a.process.exe));
    w.key("pid").value(a.process.pid);
    w.key("ppid").value(a.process.ppid);
    w.key("comm").value(str(a.process.comm));
    if (a.process.uid) {
        w.key("uid").value(static_cast<std::uint64_t>(*a.process.uid));
    }
    if (a.process.auid) {
        w.key("auid").value(static_cast<std::uint64_t>(*a.process.auid));
    }
    w.key("argc").value(static_cast<std::uint64_t>(a.process.argv.size()));
    w.key("argv");
    list(w, a.process.argv, kPagerDutyArgvMax);
    w.end_object();
    if (!a.ancestry.empty()) {
        const ProcessRef& p = a.ancestry.front();
        w.key("parent").begin_object();
        w.key("exe").value(str(p.exe));
        w.key("pid").value(p.pid);
        w.key("comm").value(str(p.comm));
        w.key("argv");
        list(w, p.argv, kPagerDutyParentArgvMax);
        w.end_object();
        w.key("ancestry").begin_array();
        for (std::size_t i = 0; i < a.ancestry.size() && i < kPagerDutyAncestryMax; ++i) {
            w.value(str(process_text(a.ancestry[i])));
        }
        w.end_array();
    }
    w.key("container");
    if (a.container) {
        w.begin_object();
        w.key("id").value(str(a.container->id));
        w.key("runtime").value(str(a.container->runtime));
        w.key("namespace");
        optional_str(w, a.container->ns);
        w.key("name");
        optional_str(w, a.container->name);
        w.key("image");
        optional_str(w, a.container->image);
        w.end_object();
    } else {
        w.null();
    }
    if (a.initiator) {
        const InitiatorRef& i = *a.initiator;
        w.key("initiator").begin_object();
        w.key("text").value(str(initiator_text(a)));
        if (i.ambiguous) {
            w.key("ambiguous").value(true);
            w.key("candidates").begin_array();
            for (std::size_t k = 0; k < i.candidates.size() && k < kPagerDutyListMax; ++k) {
                w.begin_object();
                w.key("pid").value(i.candidates[k].pid);
                w.key("exe").value(str(i.candidates[k].exe));
                w.end_object();
            }
            w.end_array();
        } else {
            w.key("pid").value(i.pid);
            w.key("exe").value(str(i.exe));
            w.key("argv");
            list(w, i.argv, kPagerDutyArgvMax);
            if (i.auid) {
                w.key("auid").value(static_cast<std::uint64_t>(*i.auid));
            }
            if (i.uid) {
                w.key("uid").value(static_cast<std::uint64_t>(*i.uid));
            }
        }
        w.end_object();
    }
    if (a.file) {
        w.key("file").begin_object();
        w.key("path").value(str(a.file->path));
        w.key("operation").value(str(a.file->operation));
        w.end_object();
    }
    if (a.seccomp) {
        w.key("seccomp").begin_object();
        w.key("syscall").value(str(a.seccomp->syscall));
        w.key("action").value(str(a.seccomp->action));
        w.end_object();
    }
    if (a.integrity) {
        w.key("integrity").begin_object();
        w.key("sha256").value(str(a.integrity->sha256));
        w.key("size").value(a.integrity->size);
        w.key("recognized_as");
        optional_str(w, a.integrity->recognized_as);
        w.key("trusted").value(a.integrity->trusted);
        w.key("trusted_by");
        optional_str(w, a.integrity->trusted_by);
        w.key("change");
        optional_str(w, a.integrity->change);
        w.end_object();
    }
    if (a.syscall) {
        w.key("syscall").value(str(*a.syscall));
    }
    if (a.success) {
        w.key("success").value(*a.success);
    }
    if (a.exit) {
        w.key("exit").value(*a.exit);
    }
    if (!a.remediation.empty()) {
        w.key("remediation").value(str(a.remediation));
    }
    w.key("serial").value(static_cast<std::uint64_t>(a.serial));
    w.key("key");
    optional_str(w, a.key);
    if (a.count) {
        w.key("count").value(static_cast<std::uint64_t>(*a.count));
    }
    w.end_object();
    w.end_object();
    w.end_object();
    return out;
}

namespace {

/// Opsgenie description: the summary, then one labelled line per fact, each line cut.
std::string opsgenie_description(const Alert& a) {
    std::string description;
    const auto line = [&](std::string_view label, const std::string& raw) {
        if (!raw.empty()) {
            description += label;
            description += fit(raw, kOpsgenieLineMax, Escape::Display);
            description += '\n';
        }
    };
    line("", a.summary);
    if (!description.empty()) {
        description += '\n';
    }
    line("Rule: ", a.rule_id + " (" + severity_name(a.severity) + ")");
    line("Host: ", a.host);
    line("Time: ", a.time);
    line("Process: ", process_text(a.process));
    line("Command: ", join_capped(a.process.argv, " ", kUnlimited, raw_cap_for(kOpsgenieLineMax)));
    if (!a.ancestry.empty()) {
        line("Parent: ", process_text(a.ancestry.front()));
    }
    line("Container: ", container_text(a));
    line("Initiator: ", initiator_text(a));
    line("File: ", file_text(a));
    line("Seccomp: ", seccomp_text(a));
    if (a.integrity) {
        std::string s = "sha256 " + a.integrity->sha256;
        if (a.integrity->recognized_as) {
            s += ", recognized as " + *a.integrity->recognized_as;
        }
        s += a.integrity->trusted ? ", trusted" : ", untrusted";
        if (a.integrity->trusted_by) {
            s += " by " + *a.integrity->trusted_by;
        }
        if (a.integrity->change) {
            s += ", change: " + *a.integrity->change;
        }
        line("Integrity: ", s);
    }
    line("MITRE ATT&CK: ", join_all(a.mitre, kOpsgenieLineMax));
    line("Tags: ", join_all(a.tags, kOpsgenieLineMax));
    line("Remediation: ", a.remediation);
    line("Audit: ", audit_text(a));
    return fit(description, kOpsgenieDescriptionMax);
}

/// Opsgenie tags: the severity, then the rule's tags, then its MITRE ids; cut, distinct, ≤ 20.
std::vector<std::string> opsgenie_tags(const Alert& a) {
    std::vector<std::string> tags;
    const auto tag = [&](const std::string& raw) {
        const std::string t = fit(raw, kOpsgenieTagMax, Escape::Line);
        if (!t.empty() && tags.size() < kOpsgenieTagsMax &&
            std::find(tags.begin(), tags.end(), t) == tags.end()) {
            tags.push_back(t);
        }
    };
    tag(severity_name(a.severity));
    for (const auto& t : a.tags) {
        tag(t);
    }
    for (const auto& m : a.mitre) {
        tag(m);
    }
    return tags;
}

/// Opsgenie details: string → string, keys and values together within 8000; the most useful first.
std::vector<std::pair<std::string, std::string>> opsgenie_details(const Alert& a) {
    Budget budget(kOpsgenieDetailsMax, kUnlimited);
    std::vector<std::pair<std::string, std::string>> details;
    const auto detail = [&](std::string_view key, const std::string& raw) {
        if (raw.empty() || budget.units_left() < units_of(key) + 1) {
            return;
        }
        budget.spend(key);
        details.emplace_back(key,
                             budget.take(raw, kOpsgenieDetailValueMax, kUnlimited, Escape::Display));
    };
    detail("host", a.host);
    detail("rule", a.rule_id);
    detail("severity", severity_name(a.severity));
    detail("exe", a.process.exe);
    detail("pid", std::to_string(a.process.pid));
    if (a.container) {
        detail("container_id", a.container->id);
        detail("container_name", a.container->name.value_or(""));
        detail("container_image", a.container->image.value_or(""));
        detail("container_runtime", a.container->runtime);
        detail("container_namespace", a.container->ns.value_or(""));
    } else {
        detail("container_id", "host");
    }
    detail("initiator", initiator_text(a));
    if (a.file) {
        detail("file", a.file->path);
        detail("file_operation", a.file->operation);
    }
    if (a.seccomp) {
        detail("seccomp_syscall", a.seccomp->syscall);
        detail("seccomp_action", a.seccomp->action);
    }
    detail("mitre", join_all(a.mitre, kOpsgenieDetailValueMax));
    detail("time", a.time);
    detail("serial", std::to_string(a.serial));
    detail("key", a.key.value_or(""));
    detail("count", a.count ? std::to_string(*a.count) : std::string());
    detail("syscall", a.syscall.value_or(""));
    if (a.success) {
        detail("success", *a.success ? "yes" : "no");
    }
    detail("exit", a.exit ? std::to_string(*a.exit) : std::string());
    if (a.process.ppid >= 0) {
        detail("ppid", std::to_string(a.process.ppid));
    }
    detail("comm", a.process.comm);
    detail("uid", a.process.uid ? std::to_string(*a.process.uid) : std::string());
    detail("auid", a.process.auid ? std::to_string(*a.process.auid) : std::string());
    if (!a.ancestry.empty()) {
        detail("parent_exe", a.ancestry.front().exe);
        detail("parent_pid", std::to_string(a.ancestry.front().pid));
    }
    if (a.integrity) {
        detail("sha256", a.integrity->sha256);
        detail("recognized_as", a.integrity->recognized_as.value_or(""));
        detail("trusted", a.integrity->trusted ? "yes" : "no");
        detail("trusted_by", a.integrity->trusted_by.value_or(""));
        detail("change", a.integrity->change.value_or(""));
    }
    detail("remediation", a.remediation);
    detail("cmdline",
           join_capped(a.process.argv, " ", kUnlimited, raw_cap_for(kOpsgenieDetailValueMax)));
    return details;
}

}  // namespace

std::string opsgenie_payload(const Alert& a) {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("message").value(fit(title_of(a) + ": " + a.summary, kOpsgenieMessageMax, Escape::Line));
    w.key("alias").value(fit(incident_key(a), kOpsgenieAliasMax));
    w.key("description").value(opsgenie_description(a));
    w.key("tags").begin_array();
    for (const auto& t : opsgenie_tags(a)) {
        w.value(t);
    }
    w.end_array();
    w.key("details").begin_object();
    for (const auto& [k, v] : opsgenie_details(a)) {
        w.key(k).value(v);
    }
    w.end_object();
    w.key("entity").value(
        fit(a.container ? a.container->id : a.host, kOpsgenieEntityMax, Escape::Line));
    w.key("source").value(kClient);
    w.key("priority").value(opsgenie_priority(a.severity));
    w.end_object();
    return out;
}

namespace {

/// output_fields: Falco's field names where one exists, "audit.*" otherwise; every value a string.
std::vector<std::pair<const char*, std::string>> falco_fields(const Alert& a) {
    const std::string cmdline =
        join_capped(a.process.argv, " ", kFalcoArgvMax, raw_cap_for(kFalcoFieldUnits));
    std::vector<std::pair<const char*, std::string>> fields;
    const auto field = [&](const char* key, const std::string& raw) {
        if (!raw.empty()) {
            fields.emplace_back(key, fit(raw, kFalcoFieldUnits, kFalcoFieldBytes, Escape::None));
        }
    };
    field("evt.type", a.syscall ? *a.syscall : (a.seccomp ? a.seccomp->syscall : std::string()));
    if (a.exit) {
        field("evt.rawres", std::to_string(*a.exit));
    }
    if (a.success) {
        field("evt.failed", *a.success ? "false" : "true");
    }
    field("proc.exepath", a.process.exe);
    field("proc.name", a.process.comm);
    field("proc.pid", std::to_string(a.process.pid));
    if (a.process.ppid >= 0) {
        field("proc.ppid", std::to_string(a.process.ppid));
    }
    field("proc.cmdline", cmdline);
    if (!a.ancestry.empty()) {
        const ProcessRef& p = a.ancestry.front();
        field("proc.pexepath", p.exe);
        field("proc.pname", p.comm);
        field("proc.pcmdline",
              join_capped(p.argv, " ", kFalcoArgvMax, raw_cap_for(kFalcoFieldUnits)));
    }
    if (a.process.uid) {
        field("user.uid", std::to_string(*a.process.uid));
    }
    if (a.process.auid) {
        field("user.loginuid", std::to_string(*a.process.auid));
    }
    field("container.id", container_id_or_host(a));
    if (a.container) {
        field("container.name", a.container->name.value_or(""));
        field("container.image", a.container->image.value_or(""));
        field("container.image.repository",
              a.container->image ? image_repository(*a.container->image) : "");
        field("container.type", a.container->runtime);
        field("audit.container.namespace", a.container->ns.value_or(""));
    }
    field("audit.initiator", initiator_text(a));
    if (a.file) {
        field("fd.name", a.file->path);
        field("audit.file.operation", a.file->operation);
    }
    if (a.seccomp) {
        field("audit.seccomp.syscall", a.seccomp->syscall);
        field("audit.seccomp.action", a.seccomp->action);
    }
    if (a.integrity) {
        field("audit.integrity.sha256", a.integrity->sha256);
        field("audit.integrity.recognized_as", a.integrity->recognized_as.value_or(""));
        field("audit.integrity.trusted", a.integrity->trusted ? "true" : "false");
        field("audit.integrity.trusted_by", a.integrity->trusted_by.value_or(""));
        field("audit.integrity.change", a.integrity->change.value_or(""));
    }
    field("audit.severity", severity_name(a.severity));
    field("audit.mitre", join_all(a.mitre, kFalcoFieldUnits));
    field("audit.serial", std::to_string(a.serial));
    field("audit.key", a.key.value_or(""));
    if (a.count) {
        field("audit.count", std::to_string(*a.count));
    }
    field("audit.remediation", a.remediation);
    return fields;
}

/// "<time>: <Priority> <summary> (rule=… host=… …)", like Falco's own output line.
std::string falco_output(const Alert& a, const std::string& time) {
    const auto part = [](std::string_view s) { return fit(s, kFalcoOutputPartMax, Escape::Line); };
    std::string output =
        time + ": " + falco_priority(a.severity) + " " +
        fit(a.summary, kFalcoSummaryPartMax, Escape::Line) + " (rule=" + part(a.rule_id) +
        " host=" + part(a.host) + " exe=" + part(a.process.exe) +
        " pid=" + std::to_string(a.process.pid) + " cmdline=" +
        part(join_capped(a.process.argv, " ", kFalcoArgvMax, raw_cap_for(kFalcoOutputPartMax))) +
        " container=" + part(container_id_or_host(a));
    if (a.file) {
        output += " file=" + part(file_text(a));
    }
    if (a.seccomp) {
        output += " seccomp=" + part(seccomp_text(a));
    }
    output += ")";
    return fit(output, kFalcoOutputUnits, kFalcoOutputBytes, Escape::Line);
}

}  // namespace

std::string falco_payload(const Alert& a) {
    // Unparsable times cannot come from the engine (it writes them); the epoch keeps the event
    // acceptable to falcosidekick, which rejects a zero time, and shows the fault plainly.
    const std::string time = normalized_time(a.time, 9).value_or("1970-01-01T00:00:00.000000000Z");

    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("time").value(time);
    w.key("rule").value(fit(a.rule_id, kFalcoFieldUnits, kFalcoFieldBytes, Escape::None));
    w.key("priority").value(falco_priority(a.severity));
    w.key("output").value(falco_output(a, time));
    w.key("output_fields").begin_object();
    for (const auto& [k, v] : falco_fields(a)) {
        w.key(k).value(v);
    }
    w.end_object();
    w.key("source").value("auditd");
    w.key("tags").begin_array();
    std::size_t n = 0;
    for (const auto* list : {&a.tags, &a.mitre}) {
        for (const auto& t : *list) {
            if (n < kFalcoTagsMax && !t.empty()) {
                w.value(fit(t, kFalcoTagMax, Escape::Line));
                ++n;
            }
        }
    }
    w.end_array();
    w.key("hostname").value(fit(a.host, kHostMax, Escape::Line));
    w.end_object();
    return out;
}

}  // namespace adock::outputs
