// SPDX-License-Identifier: Apache-2.0
// The health thread: writes the metrics file and watches audit coverage, off the engine thread
// (the engine only hands it a snapshot of its numbers; netlink, signals and file writes happen
// here).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "app/audit_status.hpp"
#include "app/coverage.hpp"
#include "app/metrics.hpp"
#include "app/reader.hpp"
#include "config/config.hpp"
#include "outputs/dispatcher.hpp"

namespace adock::app {

struct HealthSettings {
    std::string metrics_file;          ///< "": no metrics file
    unsigned coverage_interval_s = 0;  ///< 0: no coverage watch
    bool kernel_status = false;        ///< query the kernel (AUDIT_GET)
    std::string auditd_state_file;     ///< "": do not ask auditd for its state report
    std::string host;                  ///< for the plugin's own alerts
};

/// From the config: a replay (`--input`) watches no coverage (it describes the past).
[[nodiscard]] HealthSettings health_settings(const config::Config& cfg, bool replay);

class HealthMonitor {
public:
    HealthMonitor(HealthSettings settings, const ReaderStats& reader, outputs::Dispatcher& out);
    HealthMonitor(const HealthMonitor&) = delete;
    HealthMonitor& operator=(const HealthMonitor&) = delete;
    HealthMonitor(HealthMonitor&&) = delete;
    HealthMonitor& operator=(HealthMonitor&&) = delete;
    ~HealthMonitor();

    /// Nothing to do: neither a metrics file nor a coverage watch.
    [[nodiscard]] bool idle() const {
        return settings_.metrics_file.empty() && settings_.coverage_interval_s == 0;
    }

    void start();
    /// Writes the last snapshot (if any is new), then joins.
    void stop();

    /// The engine thread's snapshot, written by this thread soon after. Never blocks on I/O.
    void publish(MetricsSnapshot&& snapshot);

    [[nodiscard]] unsigned long long coverage_alerts() const;

private:
    void run(const std::stop_token& stop);
    void poll_coverage();
    void write_metrics(MetricsSnapshot m);
    /// auditd's state report, when fresh (written after our last SIGCONT); then asks for the next.
    std::optional<AuditdQueueState> read_auditd_state();

    HealthSettings settings_;
    const ReaderStats& reader_;
    outputs::Dispatcher& out_;
    KernelAuditStatusReader kernel_reader_;                 ///< health thread only
    CoverageWatch watch_;                                   ///< health thread only
    std::chrono::system_clock::time_point asked_auditd_{};  ///< health thread: our last SIGCONT
    bool parent_is_auditd_ = false;                         ///< decided at start
    /// health thread: logged once per streak
    bool metrics_failing_ = false;
    /// health thread: logged once per streak
    bool kernel_failing_ = false;
    double start_time_ = 0;

    mutable std::mutex mu_;
    std::condition_variable_any cv_;           ///< a snapshot arrived, or stop
    std::optional<MetricsSnapshot> snapshot_;  ///< under mu_: not yet written
    std::optional<KernelAuditStatus> kernel_;  ///< under mu_: the latest answer
    std::optional<AuditdQueueState> auditd_;   ///< under mu_: the latest report
    unsigned long long kernel_errors_ = 0;     ///< under mu_
    unsigned long long coverage_alerts_ = 0;   ///< under mu_
    std::jthread thread_;
};

}  // namespace adock::app
