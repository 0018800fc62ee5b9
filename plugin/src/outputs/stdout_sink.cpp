// SPDX-License-Identifier: Apache-2.0
#include "outputs/stdout_sink.hpp"

#include <unistd.h>

#include <utility>

namespace adock::outputs {

StdoutSink::StdoutSink(config::OutputConfig cfg) : JsonLinesSink(std::move(cfg), STDOUT_FILENO) {}

}  // namespace adock::outputs
