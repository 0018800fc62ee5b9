// SPDX-License-Identifier: Apache-2.0
// Discord webhook: one embed, mentions off (allowed_mentions parse []).
//
// Limits of an embed: title 256, description 4096, 25 fields of name 256 / value 1024, footer
// 2048, and 6000 characters in all (one detail::Budget spends them: the title, the footer and
// the description first, then the fields while room is left). Values are Discord Markdown
// (Escape::DiscordMarkdown): a backslash before the specials and a zero-width space after '@';
// the footer is not rendered, so only its mentions are broken (Escape::DiscordMentions).
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "outputs/formats/text.hpp"
#include "util/json.hpp"

namespace adock::outputs {

using detail::activity_facts;
using detail::audit_text;
using detail::Budget;
using detail::Escape;
using detail::fit;
using detail::join_all;
using detail::kClient;
using detail::kUnlimited;
using detail::normalized_time;
using detail::title_of;
using detail::units_of;

namespace {

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

constexpr std::size_t kDiscordTitleMax = 256;
constexpr std::size_t kDiscordDescriptionMax = 4096;
constexpr std::size_t kDiscordDescriptionShare = 2048;  // leaves the fields room in the 6000
constexpr std::size_t kDiscordFieldNameMax = 256;
constexpr std::size_t kDiscordFieldValueMax = 1024;
constexpr std::size_t kDiscordFieldsMax = 25;
constexpr std::size_t kDiscordFooterMax = 2048;
constexpr std::size_t kDiscordFooterShare = 256;
constexpr std::size_t kDiscordEmbedMax = 6000;

}  // namespace

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
    field("Severity", severity_name(a.severity), true);
    field("Rule", a.rule_id, true);
    field("Host", a.host, true);
    for (const auto& f : activity_facts(a, kDiscordFieldValueMax)) {
        field(f.label, f.text, false);
    }
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

}  // namespace adock::outputs
