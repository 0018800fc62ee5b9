// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "outputs/sink.hpp"

namespace adock::outputs {

struct NamedStats {
    std::string name;
    SinkStats stats;
};

/// Fans each alert out to every sink: serialized once, offered to each sink's own queue.
/// Never blocks: a full sink drops (and counts) without delaying the others.
class Dispatcher {
public:
    Dispatcher() = default;

    /// Installs a new set of sinks (started), returning the old ones for the caller to stop.
    std::vector<std::unique_ptr<Sink>> replace(std::vector<std::unique_ptr<Sink>> sinks);

    void dispatch(Alert&& alert);
    void reopen();
    /// Stops every sink, sharing one deadline.
    void stop(std::chrono::milliseconds deadline);

    [[nodiscard]] std::vector<NamedStats> stats() const;
    [[nodiscard]] unsigned long long alerts() const;

private:
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<Sink>> sinks_;
    unsigned long long alerts_ = 0;
};

}  // namespace adock::outputs
