// SPDX-License-Identifier: Apache-2.0
#include "audit/pipeline.hpp"

#include <utility>

namespace adock::audit {

Pipeline::Pipeline(std::chrono::milliseconds eoe_timeout, std::size_t max_pending, Handler on_event)
    : parser_(std::move(on_event)),
      framer_(eoe_timeout, max_pending, [this](std::string_view text) { parser_.parse(text); }) {}

void Pipeline::feed(std::string_view text, Clock::time_point now) {
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            nl = text.size();
        }
        framer_.feed_line(text.substr(start, nl - start), now);
        start = nl + 1;
    }
}

}  // namespace adock::audit
