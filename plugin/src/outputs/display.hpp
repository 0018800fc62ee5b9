// SPDX-License-Identifier: Apache-2.0
// Display text of chat and pager payloads (Slack, Teams, Discord, PagerDuty, Opsgenie) carries
// strings from the audit stream: a container names its files and its argv. No control character
// and no bidirectional control reaches a reader's screen from there.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace adock::outputs {

/// U+202A..U+202E (embeddings, overrides), U+2066..U+2069 (isolates), U+200E/U+200F (marks),
/// U+061C (Arabic letter mark): they make a displayed path read differently from what it is.
/// `cp` is one code point of valid UTF-8.
[[nodiscard]] bool is_bidi_control(std::string_view cp);

/// What display text shows instead of code point `cp` (valid UTF-8): a C0 control or DEL becomes
/// its Unicode control picture (U+2400..U+241F, U+2421: visible, inert), a bidi control becomes
/// U+FFFD. nullopt: shown as it is.
[[nodiscard]] std::optional<std::string> display_replacement(std::string_view cp);

}  // namespace adock::outputs
