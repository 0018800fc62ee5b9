// SPDX-License-Identifier: Apache-2.0
// Microsoft Teams Workflows webhook: a message with one Adaptive Card (1.4).
//
// Limits: ~28 KB per message (HTTP 413 above). Adaptive Card text is Markdown, so every value is
// backslash-escaped (Escape::TeamsMarkdown) and bounded in UTF-16 units and JSON bytes: title
// 200 / 768 B, summary 2000 / 4096 B, each fact 500 / 1200 B. 11 facts at most, so the card
// stays under ~19 KB whatever the alert holds.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "outputs/formats/text.hpp"
#include "util/json.hpp"

namespace adock::outputs {

using detail::activity_facts;
using detail::Escape;
using detail::fit;
using detail::join_all;
using detail::title_of;

namespace {

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

// Teams: ~28 KB per message (HTTP 413 above). Every text is bounded in JSON bytes, so the card
// stays under ~19 KB whatever the alert holds.
constexpr std::size_t kTeamsTitleUnits = 200;
constexpr std::size_t kTeamsTitleBytes = 768;
constexpr std::size_t kTeamsSummaryUnits = 2000;
constexpr std::size_t kTeamsSummaryBytes = 4096;
constexpr std::size_t kTeamsFactUnits = 500;
constexpr std::size_t kTeamsFactBytes = 1200;

}  // namespace

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
    for (const auto& f : activity_facts(a, kTeamsFactUnits)) {
        fact(f.label, f.text);
    }
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

}  // namespace adock::outputs
