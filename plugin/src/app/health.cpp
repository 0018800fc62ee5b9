// SPDX-License-Identifier: Apache-2.0
#include "app/health.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "rules/engine.hpp"
#include "util/bytes.hpp"
#include "util/log.hpp"
#include "util/safe_file.hpp"
#include "util/thread_name.hpp"

namespace adock::app {
namespace {

constexpr std::chrono::milliseconds kKernelTimeout{1000};
constexpr std::size_t kMaxStateReport = 64 * util::kKiB;

/// Whether our parent is auditd (the plugin's normal life), by its comm: only then is it asked
/// for a state report.
bool parent_is_auditd() {
    std::ifstream in("/proc/" + std::to_string(::getppid()) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm == "auditd";
}

double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

HealthSettings health_settings(const config::Config& cfg, bool replay) {
    HealthSettings s;
    s.metrics_file = cfg.metrics_file;
    s.coverage_interval_s = replay ? 0 : cfg.coverage.interval_s;
    s.kernel_status = s.coverage_interval_s > 0 && cfg.coverage.kernel_status;
    s.auditd_state_file =
        s.coverage_interval_s > 0 ? cfg.coverage.auditd_state_file : std::string();
    s.host = cfg.host.empty() ? rules::local_host_name() : cfg.host;
    return s;
}

HealthMonitor::HealthMonitor(HealthSettings settings,
                             const ReaderStats& reader,
                             outputs::Dispatcher& out)
    : settings_(std::move(settings)), reader_(reader), out_(out), start_time_(wall_seconds()) {}

HealthMonitor::~HealthMonitor() {
    stop();
}

void HealthMonitor::start() {
    if (idle() || thread_.joinable()) {
        return;
    }
    parent_is_auditd_ = !settings_.auditd_state_file.empty() && parent_is_auditd();
    thread_ = std::jthread([this](const std::stop_token& st) { run(st); });
}

void HealthMonitor::stop() {
    if (!thread_.joinable()) {
        return;
    }
    thread_.request_stop();
    cv_.notify_all();
    thread_.join();
}

void HealthMonitor::publish(MetricsSnapshot&& snapshot) {
    if (settings_.metrics_file.empty()) {
        return;
    }
    {
        const std::scoped_lock lock(mu_);
        snapshot_ = std::move(snapshot);
    }
    cv_.notify_all();
}

unsigned long long HealthMonitor::coverage_alerts() const {
    const std::scoped_lock lock(mu_);
    return coverage_alerts_;
}

void HealthMonitor::run(const std::stop_token& stop) {
    util::name_this_thread("adock-health");
    auto next_poll = std::chrono::steady_clock::now();
    const auto interval = std::chrono::seconds(settings_.coverage_interval_s);
    for (;;) {
        try {
            if (settings_.coverage_interval_s > 0 &&
                std::chrono::steady_clock::now() >= next_poll) {
                next_poll = std::chrono::steady_clock::now() + interval;
                poll_coverage();
            }
            std::optional<MetricsSnapshot> m;
            {
                std::unique_lock lock(mu_);
                const auto wake = settings_.coverage_interval_s > 0
                                      ? next_poll
                                      : std::chrono::steady_clock::now() + std::chrono::hours(1);
                cv_.wait_until(lock, stop, wake, [this] { return snapshot_.has_value(); });
                m.swap(snapshot_);
            }
            if (m) {
                write_metrics(std::move(*m));
            }
        } catch (const std::exception& e) {
            log::error(std::string("health: ") + e.what());
        }
        if (stop.stop_requested()) {
            break;
        }
    }
    // The engine's last snapshot (published at the end of input) is written before we go.
    std::optional<MetricsSnapshot> last;
    {
        const std::scoped_lock lock(mu_);
        last.swap(snapshot_);
    }
    if (last) {
        try {
            write_metrics(std::move(*last));
        } catch (const std::exception& e) {
            log::error(std::string("health: ") + e.what());
        }
    }
}

std::optional<AuditdQueueState> HealthMonitor::read_auditd_state() {
    if (!parent_is_auditd_) {
        return std::nullopt;
    }
    std::optional<AuditdQueueState> state;
    const auto asked = asked_auditd_;
    if (asked.time_since_epoch().count() != 0) {
        // auditd writes the report (fopen "w", not atomically) when it handles our SIGCONT: the
        // one asked for last time is long written; one older than that request is stale.
        struct stat st {};

        if (::stat(settings_.auditd_state_file.c_str(), &st) == 0 &&
            std::chrono::system_clock::from_time_t(st.st_mtime) + std::chrono::seconds(1) >=
                asked) {
            if (auto text =
                    util::read_file_nofollow(settings_.auditd_state_file, kMaxStateReport)) {
                state = parse_auditd_state(*text);
            }
        }
    }
    // As audisp-statsd does: auditd writes its state report on SIGCONT.
    if (::kill(::getppid(), SIGCONT) == 0) {
        asked_auditd_ = std::chrono::system_clock::now();
    }
    return state;
}

void HealthMonitor::poll_coverage() {
    CoverageSample s;
    if (settings_.kernel_status) {
        std::string error;
        s.kernel = kernel_reader_.query(kKernelTimeout, error);
        if (!s.kernel && !kernel_failing_) {
            log::warning("kernel audit status: " + error +
                         "; audit_coverage_degraded sees no kernel losses");
        }
        kernel_failing_ = !s.kernel;
    }
    s.auditd = read_auditd_state();
    s.plugin_dropped_lines = reader_.dropped_lines.load();
    s.plugin_dropped_batches = reader_.dropped_chunks.load();
    auto alert = watch_.observe(s, std::chrono::steady_clock::now());
    {
        const std::scoped_lock lock(mu_);
        if (s.kernel) {
            kernel_ = s.kernel;
        } else if (settings_.kernel_status) {
            ++kernel_errors_;
        }
        if (s.auditd) {
            auditd_ = s.auditd;
        }
        if (alert) {
            ++coverage_alerts_;
        }
    }
    if (alert) {
        alert->time = outputs::now_rfc3339();
        alert->time_ms = outputs::wall_ms();
        alert->host = settings_.host;
        alert->process.pid = static_cast<int>(::getpid());
        alert->process.exe = "audisp-docker";
        alert->process.comm = "audisp-docker";
        log::warning(alert->summary);
        out_.dispatch(std::move(*alert));
    }
}

void HealthMonitor::write_metrics(MetricsSnapshot m) {
    {
        const std::scoped_lock lock(mu_);
        m.kernel = kernel_;
        m.auditd = auditd_;
        m.kernel_status_errors = kernel_errors_;
        m.coverage_alerts = coverage_alerts_;
    }
    m.start_time_seconds = start_time_;
    // Readable by node_exporter (another user); the directory must exist (the textfile
    // collector's); no fsync: a reader sees the old file or the new one, never a torn one.
    const auto written =
        util::write_file_atomic(settings_.metrics_file, format_prometheus(m), 0644, false, false);
    if (!written) {
        if (!metrics_failing_) {
            log::warning("cannot write the metrics file " + written.error().message);
        }
        metrics_failing_ = true;
        return;
    }
    if (metrics_failing_) {
        log::info("metrics file " + settings_.metrics_file + " written again");
    }
    metrics_failing_ = false;
}

}  // namespace adock::app
