// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "config/config.hpp"
#include "outputs/file_sink.hpp"

namespace adock::outputs {

/// `type: stdout`: JSON Lines on fd 1 (replay with --input, debugging). No rotation; reopen is a
/// no-op; fd 1 is never closed. Logs never go to stdout, so the stream holds only alerts.
class StdoutSink final : public JsonLinesSink {
public:
    explicit StdoutSink(config::OutputConfig cfg);
};

}  // namespace adock::outputs
