// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "alert/alert.hpp"
#include "config/config.hpp"
#include "util/latency_histogram.hpp"

namespace adock::outputs {

/// What travels on a sink's queue: the alert and its JSON, serialized once and shared.
struct AlertMessage {
    std::shared_ptr<const Alert> alert;
    std::shared_ptr<const std::string> json;

    /// Serializes `a` once and shares both.
    [[nodiscard]] static AlertMessage of(Alert&& a) {
        AlertMessage m;
        m.json = std::make_shared<const std::string>(to_json(a));
        m.alert = std::make_shared<const Alert>(std::move(a));
        return m;
    }
};

struct SinkStats {
    unsigned long long generated = 0;  ///< offered to this sink
    unsigned long long delivered = 0;  ///< written / acknowledged with 2xx
    unsigned long long retried = 0;    ///< extra attempts
    /// written to the disk spool (write-ahead: every alert of an output with one)
    unsigned long long spooled = 0;
    unsigned long long dropped = 0;  ///< lost: queue full, spool full or disabled, refused
    unsigned long long failed = 0;   ///< attempts that failed
    std::size_t queue_depth = 0;
    std::size_t queue_max_depth = 0;
    bool spool_enabled = false;
    unsigned long long spool_pending = 0;  ///< alerts waiting in the spool
    bool backlogged = false;  ///< its oldest alert failed its last attempt and waits for a retry
    unsigned long long spool_bytes = 0;
    unsigned long long spool_max_bytes = 0;
    // Held back on purpose by the output's own settings (routing, dedup, rate limit): not losses.
    unsigned long long filtered = 0;      ///< severity or routing
    unsigned long long folded = 0;        ///< repeats folded into a later "repeated N times"
    unsigned long long rate_limited = 0;  ///< over the rate limit
    /// From the audit event's time to delivery (delivered alerts whose event time is known).
    util::LatencyCounts latency{};
};

/// Wall-clock milliseconds since the epoch (the delivery latency's other end).
[[nodiscard]] std::int64_t wall_ms();

/// An output. Each sink owns a bounded queue and a worker thread: submit() never blocks.
class Sink {
public:
    Sink() = default;
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;
    Sink(Sink&&) = delete;
    Sink& operator=(Sink&&) = delete;
    virtual ~Sink() = default;

    [[nodiscard]] virtual const std::string& name() const = 0;
    /// The entry it was built from (routing, dedup and rate limit are applied by the dispatcher).
    [[nodiscard]] virtual const config::OutputConfig& config() const = 0;
    /// Non-blocking. Returns false (and counts a drop) when the queue is full.
    virtual bool submit(const AlertMessage& message) = 0;
    /// Starts the worker thread.
    virtual void start() = 0;
    /// Delivers what is queued within `deadline`, then stops; what is left is spooled (outputs
    /// with a spool) or counted as dropped.
    virtual void stop(std::chrono::milliseconds deadline) = 0;

    /// Reopens files (SIGUSR1, log rotation by others). No-op for network sinks.
    virtual void reopen() {}

    [[nodiscard]] virtual SinkStats stats() const = 0;
};

/// Builds the sink for one output entry. Throws ConfigError for an unusable entry.
[[nodiscard]] std::unique_ptr<Sink> make_sink(const config::OutputConfig& cfg);

}  // namespace adock::outputs
