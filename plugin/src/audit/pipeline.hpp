// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "audit/event.hpp"
#include "audit/framer.hpp"
#include "audit/parser.hpp"

namespace adock::audit {

/// The read side of the engine: record lines → Framer (events by serial, bounded) →
/// EventParser (libauparse) → the handler, on the calling thread. Production (the engine loop)
/// and the tests build exactly this object, so what the tests feed is what the plugin runs.
class Pipeline {
public:
    using Clock = Framer::Clock;
    using Handler = EventParser::Handler;

    Pipeline(std::chrono::milliseconds eoe_timeout, std::size_t max_pending, Handler on_event);
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;
    Pipeline(Pipeline&&) = delete;
    Pipeline& operator=(Pipeline&&) = delete;
    ~Pipeline() = default;

    /// Record lines separated by '\n'; a last line without one is taken whole.
    void feed(std::string_view text, Clock::time_point now = Clock::now());

    /// Completes the events that have waited longer than the EOE timeout.
    void age(Clock::time_point now) { framer_.age(now); }

    /// Completes every event in progress (end of input).
    void flush() { framer_.flush(); }

    [[nodiscard]] const FramerStats& framer_stats() const { return framer_.stats(); }

    [[nodiscard]] const ParserStats& parser_stats() const { return parser_.stats(); }

private:
    EventParser parser_;
    Framer framer_;
};

}  // namespace adock::audit
