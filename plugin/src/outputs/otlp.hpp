// SPDX-License-Identifier: Apache-2.0
// OpenTelemetry OTLP/HTTP logs with JSON encoding (opentelemetry-proto, ExportLogsServiceRequest):
// one request carries one log record per alert, so the delivery machinery (queue, write-ahead
// spool, retries) keeps working per alert, and a record the receiver rejects is that alert.
#pragma once

#include <cstdint>
#include <string>

#include "alert/alert.hpp"
#include "config/config.hpp"
#include "outputs/http_transport.hpp"
#include "outputs/queueing.hpp"
#include "outputs/transport.hpp"

namespace adock::outputs {

/// OpenTelemetry's SeverityNumber for an alert severity: critical 21 (FATAL), high 17 (ERROR),
/// medium 13 (WARN), low 10 (INFO2), info 9 (INFO).
[[nodiscard]] int otlp_severity_number(Severity s);

/// The ExportLogsServiceRequest (OTLP JSON) for one alert. `alert_json` is to_json(a): every
/// member becomes a typed attribute (nested objects flattened with '.', e.g. `process.pid` an
/// intValue, `rule.mitre` an arrayValue, `ancestry` an arrayValue of kvlistValue; nulls left
/// out), except `time` (timeUnixNano), `host` (resource `host.name`) and `summary` (the body).
/// 64-bit integers and the timestamps are JSON strings, as the OTLP JSON mapping requires.
/// Throws std::runtime_error when `alert_json` is not JSON (it always is when made by to_json).
[[nodiscard]] std::string otlp_logs_payload(const Alert& a,
                                            const std::string& alert_json,
                                            std::int64_t observed_unix_nanos);

/// What an OTLP receiver's answer means (OTLP/HTTP, "Failures"): 200 is success unless its
/// ExportLogsServiceResponse reports the record in partialSuccess.rejectedLogRecords (then a
/// refusal: not retried); 429, 502, 503 and 504 are retried (Retry-After kept); every other
/// status, 400 and 413 among them, is permanent. Transport errors stay retryable.
[[nodiscard]] SendResult classify_otlp(SendResult r);

/// HTTP POST through HttpTransport (TLS, headers, proxy, timeouts) with OTLP's status rules.
class OtlpTransport final : public Transport {
public:
    /// Throws config::ConfigError for an unusable entry.
    explicit OtlpTransport(const config::OutputConfig& cfg);

    [[nodiscard]] SendResult send(const std::string& payload,
                                  const std::atomic<bool>& abort) override;

    void wakeup() noexcept override { http_.wakeup(); }

    [[nodiscard]] const std::string& target() const override { return http_.target(); }

private:
    std::string name_;
    HttpTransport http_;
    LogLimiter warn_log_;  ///< partialSuccess warnings (errorMessage with nothing rejected)
};

}  // namespace adock::outputs
