// SPDX-License-Identifier: Apache-2.0
// Payload formatters for alert destinations beyond Slack: Microsoft Teams (Workflows, Adaptive
// Card), Discord (webhook embed), PagerDuty (Events API v2), Opsgenie (Alert API) and the Falco
// JSON event that falcosidekick consumes. Pure functions: an Alert in, a JSON body out.
//
// Every string from the audit record is attacker-controlled. Each one is made valid UTF-8 (via
// util::JsonWriter), escaped for the destination's markup (backslash before Markdown specials
// for Teams and Discord, a zero-width space after every '@' for Discord) and cut to the API's
// documented limits without splitting an escape. Lengths are counted in UTF-16 code units, which
// is never less than code points, so a limit holds whichever of the two an API counts.
//
// Built in outputs/formats/: one file per payload with its API's limits beside it, on the text
// toolkit (text.hpp: escaping, cutting, budgets) and the alert view (alert_view.hpp: the facts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "alert/alert.hpp"

namespace adock::outputs {

/// What makes two alerts the same incident: rule id, host, container id (or "host") and the
/// process's executable. "audisp-docker/<rule id>/<first 32 hex digits of sha256 of those four
/// joined by '\n'>", at most 255 code points (the rule id is cut to fit; the hash uses all of it).
/// Used as PagerDuty's dedup_key and Opsgenie's alias.
[[nodiscard]] std::string incident_key(const Alert& a);

/// An RFC 3339 time (any fraction, any offset) as nanoseconds since the Unix epoch; nullopt when
/// it does not parse or lies outside 1970..2262 (what a signed 64-bit nanosecond count holds).
[[nodiscard]] std::optional<std::int64_t> unix_nanos(const std::string& rfc3339);

/// The alert's initiator (the client command that asked a daemon for the process) as one fact
/// of display text: "docker exec -it c1 sh (pid 123, auid 1000)", "ambiguous (2 candidates: pid
/// 200, pid 201)"; empty when the alert has none. Raw text (attacker-controlled): each format
/// escapes and cuts it as it does every other fact; the argv is joined only up to a bound.
[[nodiscard]] std::string initiator_text(const Alert& a);

/// Microsoft Teams Workflows webhook body: a message with one Adaptive Card (1.4): a bold title,
/// the summary and a FactSet. Well under Teams' 28 KB limit whatever the alert holds.
[[nodiscard]] std::string teams_payload(const Alert& a);

/// Discord webhook body: one embed within Discord's limits (title 256, description 4096, 25
/// fields of name 256 / value 1024, footer 2048, 6000 in all) and allowed_mentions parse [].
[[nodiscard]] std::string discord_payload(const Alert& a);

/// PagerDuty Events API v2 trigger WITHOUT routing_key: the body starts with
/// {"event_action":"trigger" so the sender can splice "routing_key":"…", in after the '{'.
/// Stays far below PagerDuty's 512 KB limit.
[[nodiscard]] std::string pagerduty_payload(const Alert& a);

/// Opsgenie Alert API (POST /v2/alerts) body: message ≤ 130, alias = incident_key, description
/// ≤ 15000, ≤ 20 tags of ≤ 50, details (string map) ≤ 8000 in all, entity ≤ 512, P1..P5.
[[nodiscard]] std::string opsgenie_payload(const Alert& a);

/// The Falco JSON event (json_output: true) with source "auditd": time with nanoseconds, a Falco
/// priority word, non-empty output_fields whose values are all strings (Falco field names where
/// one exists, "audit.*" otherwise), so falcosidekick accepts it and its chat outputs show them.
[[nodiscard]] std::string falco_payload(const Alert& a);

}  // namespace adock::outputs
