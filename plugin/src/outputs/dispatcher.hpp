// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alert/alert_sink.hpp"
#include "outputs/gate.hpp"
#include "outputs/sink.hpp"
#include "util/clock.hpp"

namespace adock::outputs {

/// The wall clock as RFC 3339 UTC with milliseconds (the plugin's own alerts).
[[nodiscard]] std::string now_rfc3339();

struct NamedStats {
    std::string name;
    SinkStats stats;
};

/// Fans each alert out to every sink: serialized once, passed through each output's gate
/// (severity, routing, dedup, rate limit), offered to its own queue. Never blocks: a full sink
/// drops (and counts) without delaying the others.
class Dispatcher final : public AlertSink {
public:
    /// `clock`: the steady time the gates' dedup and rate-limit windows are decided by (tests pass
    /// a ManualClock); it must outlive the dispatcher.
    explicit Dispatcher(const util::Clock& clock = util::real_clock()) : clock_(clock) {}

    /// Host name for the plugin's own alerts; the spool share (percent) that raises
    /// plugin_degraded.
    void configure(std::string host, unsigned degraded_spool_percent);

    /// Installs a new set of sinks (started), returning the old ones for the caller to stop.
    /// An output of the same name keeps its pending fold summaries (its gate's open incidents);
    /// those of an output that is gone are handed to its old sink before it is returned.
    std::vector<std::unique_ptr<Sink>> replace(std::vector<std::unique_ptr<Sink>> sinks);

    void dispatch(Alert&& alert) override;
    /// Periodic (the engine's tick): sends fold summaries whose window ended and raises
    /// plugin_degraded through the healthy outputs when one drops alerts or its spool fills.
    /// `now`: the dispatcher's clock's time (the caller read it).
    void tick(std::chrono::steady_clock::time_point now);
    void reopen();
    /// Stops every sink, sharing one deadline.
    void stop(std::chrono::milliseconds deadline);

    /// Per output; after stop(), their figures at the end.
    [[nodiscard]] std::vector<NamedStats> stats() const;
    [[nodiscard]] unsigned long long alerts() const;
    /// plugin_degraded alerts raised so far.
    [[nodiscard]] unsigned long long degraded_alerts() const;

private:
    struct Entry {
        std::unique_ptr<Sink> sink;
        std::unique_ptr<Gate> gate;
        unsigned long long dropped_seen = 0;
        bool degraded = false;  ///< reported; cleared when the output is healthy again
        std::chrono::steady_clock::time_point last_report{};
        std::chrono::steady_clock::time_point last_problem{};
    };

    void raise_degraded(const Entry& bad, const SinkStats& s);
    [[nodiscard]] static NamedStats named_stats(const Entry& e);

    const util::Clock& clock_;  ///< when an alert was offered to the gates
    mutable std::mutex mu_;
    std::vector<Entry> entries_;
    std::vector<NamedStats> stopped_stats_;  ///< after stop(): the outputs' last figures
    unsigned long long alerts_ = 0;
    unsigned long long degraded_alerts_ = 0;
    std::string host_;
    unsigned degraded_percent_ = 50;
};

}  // namespace adock::outputs
