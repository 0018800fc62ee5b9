// SPDX-License-Identifier: Apache-2.0
// Slack incoming-webhook payload (Block Kit) for an alert. Every string from the audit record is
// attacker-controlled: it is made valid UTF-8, cut to Slack's limits, and escaped for mrkdwn
// (&, <, >), so an argv cannot ping @channel, mention a user or hide a link; controls, bidi
// controls and the emphasis characters are replaced (see slack_text).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "alert/alert.hpp"

namespace adock::outputs {

/// `s` as valid UTF-8 of at most `max_chars` code points ("…" marks a cut).
[[nodiscard]] std::string truncate_utf8(std::string_view s, std::size_t max_chars);

/// Slack mrkdwn escaping: & < > become entities (Slack's own rule for untrusted text).
[[nodiscard]] std::string slack_escape(std::string_view s);

/// Valid UTF-8, escaped, at most `max_chars` code points after escaping: an entity is never cut.
/// Controls and bidi controls are replaced, and * _ ~ ` that could open or close formatting (not
/// inside a word) become their full-width forms (mrkdwn has no escape for them), so a value can
/// neither format nor reorder the text around it.
[[nodiscard]] std::string slack_text(std::string_view s, std::size_t max_chars);

/// The JSON body for a Slack incoming webhook.
[[nodiscard]] std::string slack_payload(const Alert& a);

}  // namespace adock::outputs
