// SPDX-License-Identifier: Apache-2.0
// The payload each output type makes from the alert alone (chat, pager, falco): the outputs'
// half of the type's descriptor (config/output_kind.hpp).
#pragma once

#include <string>

#include "alert/alert.hpp"
#include "config/output_kind.hpp"

namespace adock::outputs {

/// A payload made from the alert alone.
using AlertPayload = std::string (*)(const Alert&);

/// The payload function of `t`; nullptr when its body is something else (the alert's JSON as
/// it is, a syslog message, OTLP logs, a kafka record) or it is not delivered.
[[nodiscard]] AlertPayload alert_payload_of(config::OutputType t);

}  // namespace adock::outputs
