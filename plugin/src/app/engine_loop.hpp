// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/generation.hpp"
#include "app/health.hpp"
#include "app/messages.hpp"
#include "app/metrics.hpp"
#include "app/reader.hpp"
#include "app/seccomp_advice.hpp"
#include "audit/pipeline.hpp"
#include "config/config.hpp"
#include "integrity/monitor.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "util/clock.hpp"

namespace adock::app {

/// The engine thread: takes the messages of one queue in order (input, reload, state dump,
/// scan, stop), runs them through the pipeline and the rules, and does the periodic work.
/// Each message and each tick is handled on its own: an exception is logged and counted, and
/// detection goes on.
class EngineLoop {
public:
    static constexpr auto kTick = std::chrono::milliseconds(250);

    /// Adopts `first` (start-up): its settings, rules and sinks. `clock`: the steady time of
    /// the ticks, the events' age and the engine's waits (a test hands a ManualClock).
    EngineLoop(Generation first,
               MessageQueue& queue,
               const ReaderStats& reader,
               outputs::Dispatcher& out,
               const util::Clock& clock = util::real_clock());
    EngineLoop(const EngineLoop&) = delete;
    EngineLoop& operator=(const EngineLoop&) = delete;
    EngineLoop(EngineLoop&&) = delete;
    EngineLoop& operator=(EngineLoop&&) = delete;
    ~EngineLoop();

    /// Until a Stop message or a closed, empty queue; then completes what is in progress.
    void run();

    /// The running configuration (the engine thread's; read it after run() returned).
    [[nodiscard]] const config::Config& config() const { return cfg_; }

    [[nodiscard]] std::string state_json() const;

    /// Messages or ticks that threw (logged, then skipped).
    [[nodiscard]] unsigned long long errors() const { return errors_; }

    /// The health thread the metrics snapshot goes to every `metrics_interval_s` (and at the end).
    void set_health(HealthMonitor* health) { health_ = health; }

    [[nodiscard]] MetricsSnapshot metrics_snapshot() const;
    /// Waits for the outputs replaced by reloads to finish draining.
    void join_retired();
    /// Live: learns each container's syscalls from SECCOMP records (--seccomp-profile without
    /// --input) and writes them to `path` on SIGUSR1 and at the end, when they changed.
    void learn_seccomp(std::string path);

private:
    /// Handles one message; true for Stop.
    bool handle(Message& m, std::chrono::steady_clock::time_point now);
    void tick(std::chrono::steady_clock::time_point now);
    /// The one place a generation's outputs are installed (start-up and reload).
    void adopt_outputs(Generation& g);
    void adopt(Generation& g);
    void scan();
    void dump_state();
    void save_seccomp();
    void finish();

    const util::Clock& clock_;
    MessageQueue& queue_;
    const ReaderStats& reader_;
    outputs::Dispatcher& out_;
    config::Config cfg_;
    /// null: off, or a replay without /proc
    std::unique_ptr<integrity::IntegrityMonitor> integrity_;
    rules::Engine engine_;
    audit::Pipeline pipeline_;
    /// Old sinks draining after a reload. Each thread owns the sinks it stops and uses no member
    /// of the loop, so where this is declared does not matter; ~EngineLoop joins them.
    std::vector<std::jthread> retiring_;
    std::chrono::steady_clock::time_point last_tick_;
    std::chrono::steady_clock::time_point last_status_;
    /// long ago: the first tick writes the file
    std::chrono::steady_clock::time_point last_metrics_{};
    HealthMonitor* health_ = nullptr;  ///< null: no metrics file
    unsigned long long errors_ = 0;
    bool signalled_ = false;  ///< the Stop came from a signal, not the end of input
    std::unique_ptr<SeccompAdvisor> seccomp_;  ///< null: not learning
    std::string seccomp_file_;
};

}  // namespace adock::app
