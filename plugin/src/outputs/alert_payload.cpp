// SPDX-License-Identifier: Apache-2.0
#include "outputs/alert_payload.hpp"

#include <array>

#include "outputs/formats.hpp"
#include "outputs/slack.hpp"

namespace adock::outputs {
namespace {

struct TypePayload {
    config::OutputType type;
    AlertPayload payload;
};

constexpr std::array<TypePayload, 6> kAlertPayloads{{
    {config::OutputType::Slack, &slack_payload},
    {config::OutputType::Teams, &teams_payload},
    {config::OutputType::Discord, &discord_payload},
    {config::OutputType::PagerDuty, &pagerduty_payload},
    {config::OutputType::Opsgenie, &opsgenie_payload},
    {config::OutputType::Falco, &falco_payload},
}};

}  // namespace

AlertPayload alert_payload_of(config::OutputType t) {
    for (const TypePayload& p : kAlertPayloads) {
        if (p.type == t) {
            return p.payload;
        }
    }
    return nullptr;
}

}  // namespace adock::outputs
