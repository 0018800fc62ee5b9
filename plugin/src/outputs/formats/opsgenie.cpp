// SPDX-License-Identifier: Apache-2.0
// Opsgenie Alert API (POST /v2/alerts).
//
// Limits: message 130, alias 512 (incident_key, at most 255), description 15000, at most 20
// tags of 50, details a string-to-string map of 8000 characters in all (keys and values; one
// detail::Budget spends them, the most useful first, each value ≤ 1024), entity 512, priority
// P1..P5. The message, tags and entity are one line (Escape::Line); the description and the
// details are display text (Escape::Display), the description one cut line per fact.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "outputs/formats/opsgenie_details.hpp"
#include "outputs/formats/text.hpp"
#include "util/json.hpp"

namespace adock::outputs {

using detail::activity_facts;
using detail::audit_text;
using detail::Escape;
using detail::fit;
using detail::join_all;
using detail::kClient;
using detail::title_of;

namespace {

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

constexpr std::size_t kOpsgenieMessageMax = 130;
constexpr std::size_t kOpsgenieAliasMax = 512;
constexpr std::size_t kOpsgenieDescriptionMax = 15000;
constexpr std::size_t kOpsgenieLineMax = 2048;
constexpr std::size_t kOpsgenieTagMax = 50;
constexpr std::size_t kOpsgenieTagsMax = 20;
constexpr std::size_t kOpsgenieEntityMax = 512;

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
    for (const auto& f : activity_facts(a, kOpsgenieLineMax)) {
        line(std::string(f.label) + ": ", f.text);
    }
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
    for (const auto& [k, v] : detail::opsgenie_details(a)) {
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

}  // namespace adock::outputs
