// SPDX-License-Identifier: Apache-2.0
// The metrics file's Prometheus text, auditd's state report, the audit coverage watch
// (audit_coverage_degraded) and the health config keys.
#include <sys/stat.h>

#include <climits>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alert/alert.hpp"
#include "app/coverage.hpp"
#include "app/health.hpp"
#include "app/metrics.hpp"
#include "app/one_shot.hpp"
#include "app/options.hpp"
#include "config/config.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using adock::app::AuditdQueueState;
using adock::app::CoverageSample;
using adock::app::CoverageWatch;
using adock::app::KernelAuditStatus;
using adock::app::MetricsSnapshot;

namespace {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    std::string value;
};

/// A strict reader of the text exposition format (what a scraper needs): every sample belongs
/// to a family announced by HELP then TYPE before it, families are not interleaved, label
/// values are quoted with escapes, values are numbers. Fails the test on anything else.
std::vector<Sample> parse_exposition(const std::string& text,
                                     std::map<std::string, std::string>& types) {
    std::vector<Sample> samples;
    std::istringstream in(text);
    std::string line;
    std::string current;  // the family whose samples may follow
    std::set<std::string> done;
    std::set<std::string> helped;
    while (std::getline(in, line)) {
        REQUIRE(!line.empty());
        if (line.starts_with("# HELP ")) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            REQUIRE(!done.contains(name));
            REQUIRE(helped.insert(name).second);
            continue;
        }
        if (line.starts_with("# TYPE ")) {
            const auto sp = line.find(' ', 7);
            const std::string name = line.substr(7, sp - 7);
            REQUIRE(helped.contains(name));
            REQUIRE(!types.contains(name));
            types[name] = line.substr(sp + 1);
            if (!current.empty()) {
                done.insert(current);
            }
            current = name;
            continue;
        }
        REQUIRE(line[0] != '#');
        Sample s;
        std::size_t i = line.find_first_of("{ ");
        REQUIRE(i != std::string::npos);
        s.name = line.substr(0, i);
        if (line[i] == '{') {
            ++i;
            while (line[i] != '}') {
                const auto eq = line.find('=', i);
                REQUIRE(eq != std::string::npos);
                const std::string key = line.substr(i, eq - i);
                REQUIRE(line[eq + 1] == '"');
                std::string value;
                std::size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] == '\\') {
                        ++j;
                        REQUIRE((line[j] == '\\' || line[j] == '"' || line[j] == 'n'));
                        value += line[j] == 'n' ? '\n' : line[j];
                    } else {
                        value += line[j];
                    }
                }
                REQUIRE(j < line.size());
                s.labels[key] = value;
                i = j + 1;
                if (line[i] == ',') {
                    ++i;
                }
            }
            ++i;
        }
        REQUIRE(line[i] == ' ');
        s.value = line.substr(i + 1);
        REQUIRE(!s.value.empty());
        REQUIRE(s.value.find_first_not_of("0123456789.+-eInf") == std::string::npos);
        // A sample of the current family (histograms: its _bucket, _sum, _count).
        std::string family = s.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            if (types[current] == "histogram" && family == current + suffix) {
                family = current;
            }
        }
        REQUIRE(family == current);
        samples.push_back(std::move(s));
    }
    return samples;
}

MetricsSnapshot example() {
    MetricsSnapshot m;
    m.input.bytes = 123456;
    m.input.dropped_lines = 7;
    m.framer.lines = 900;
    m.framer.completed_by_eoe = 300;
    m.engine.attributed_container = 5;
    m.engine.attributed_unknown = 2;
    m.processes.size = 41;
    m.processes_capacity = 8192;
    m.processes.proc_misses = 3;
    adock::outputs::NamedStats file{"local", {}};
    file.stats.generated = 10;
    file.stats.delivered = 9;
    file.stats.dropped = 1;
    adock::outputs::NamedStats hook{"pa\"ge\\r", {}};  // not a valid output name: escaping only
    hook.stats.spool_enabled = true;
    hook.stats.spool_pending = 4;
    hook.stats.spool_bytes = 4096;
    hook.stats.spool_max_bytes = 64 << 20;
    adock::util::LatencyHistogram h;
    h.observe_us(3000);       // 0.003 s: first bucket
    h.observe_us(40000);      // 0.04 s
    h.observe_us(-5);         // clocks disagreeing: 0
    h.observe_us(400000000);  // 400 s: +Inf
    hook.stats.latency = h.counts();
    m.outputs = {file, hook};
    m.engine.runtime_clones = 2;
    m.engine.content_skipped = 64;
    adock::integrity::IntegrityStats integrity;
    integrity.baseline_files = 12;
    integrity.trusted_hashes = 40;
    integrity.checked = 100;
    integrity.prechecked = 90;
    integrity.hashed = 30;
    integrity.alerts = 1;
    integrity.scans = 2;
    m.integrity = integrity;
    m.kernel = KernelAuditStatus{1, 1, 321, 0, 8192, 17, 3};
    m.auditd = AuditdQueueState{0, 250, 250, true, false};
    return m;
}

std::string value_of(const std::vector<Sample>& samples,
                     const std::string& name,
                     const std::map<std::string, std::string>& labels = {}) {
    for (const auto& s : samples) {
        if (s.name == name && s.labels == labels) {
            return s.value;
        }
    }
    return "<missing>";
}

}  // namespace

TEST_CASE("the metrics file is valid Prometheus text with conventional names and types",
          "[health][metrics]") {
    std::map<std::string, std::string> types;
    const auto samples = parse_exposition(adock::app::format_prometheus(example()), types);
    for (const auto& [name, type] : types) {
        INFO(name);
        CHECK(name.starts_with("audisp_docker_"));
        CHECK((type == "counter" || type == "gauge" || type == "histogram"));
        CHECK(name.ends_with("_total") == (type == "counter"));
    }
    CHECK(value_of(samples, "audisp_docker_input_bytes_total") == "123456");
    CHECK(value_of(samples, "audisp_docker_input_dropped_lines_total") == "7");
    CHECK(value_of(samples, "audisp_docker_events_total", {{"completion", "eoe"}}) == "300");
    CHECK(value_of(samples,
                   "audisp_docker_container_attributions_total",
                   {{"result", "unknown"}}) == "2");
    CHECK(value_of(samples, "audisp_docker_process_table_entries") == "41");
    CHECK(value_of(samples, "audisp_docker_process_table_misses_total") == "3");
    CHECK(value_of(samples, "audisp_docker_output_dropped_total", {{"output", "local"}}) == "1");
    CHECK(value_of(samples, "audisp_docker_output_spool_alerts", {{"output", "pa\"ge\\r"}}) == "4");
    // Outputs without a spool have no spool samples.
    CHECK(value_of(samples, "audisp_docker_output_spool_alerts", {{"output", "local"}}) ==
          "<missing>");
    CHECK(value_of(samples, "audisp_docker_kernel_audit_lost_total") == "17");
    CHECK(value_of(samples, "audisp_docker_kernel_audit_backlog") == "3");
    CHECK(value_of(samples, "audisp_docker_kernel_audit_backlog_limit") == "8192");
    CHECK(value_of(samples, "audisp_docker_auditd_plugin_queue_overflowed") == "1");
    CHECK(types["audisp_docker_delivery_latency_seconds"] == "histogram");
    CHECK(value_of(samples, "audisp_docker_runtime_clones_total") == "2");
    CHECK(value_of(samples, "audisp_docker_content_checks_total", {{"result", "skipped"}}) == "64");
    CHECK(value_of(samples, "audisp_docker_integrity_baseline_files") == "12");
    CHECK(value_of(samples, "audisp_docker_integrity_scans_total") == "2");
    CHECK(value_of(samples, "audisp_docker_integrity_checks_total") == "100");
    CHECK(value_of(samples, "audisp_docker_integrity_prechecked_total") == "90");
    CHECK(value_of(samples, "audisp_docker_integrity_hashed_total") == "30");
}

TEST_CASE("the delivery latency histogram has cumulative buckets ending in +Inf = count",
          "[health][metrics]") {
    std::map<std::string, std::string> types;
    const auto samples = parse_exposition(adock::app::format_prometheus(example()), types);
    const std::map<std::string, std::string> hook{{"output", "pa\"ge\\r"}};
    auto bucket = [&](const std::string& le) {
        auto l = hook;
        l["le"] = le;
        return value_of(samples, "audisp_docker_delivery_latency_seconds_bucket", l);
    };
    CHECK(bucket("0.005") == "2");  // 0.003 s and the negative one
    CHECK(bucket("0.025") == "2");
    CHECK(bucket("0.05") == "3");
    CHECK(bucket("300") == "3");
    CHECK(bucket("+Inf") == "4");
    CHECK(value_of(samples, "audisp_docker_delivery_latency_seconds_count", hook) == "4");
    CHECK(value_of(samples, "audisp_docker_delivery_latency_seconds_sum", hook) == "400.043000");
    // Monotone for every output.
    long long last = -1;
    for (const auto& s : samples) {
        if (s.name == "audisp_docker_delivery_latency_seconds_bucket" &&
            s.labels.at("output") == "local") {
            CHECK(std::stoll(s.value) >= last);
            last = std::stoll(s.value);
        }
    }
    CHECK(last == 0);
}

TEST_CASE("without kernel or auditd figures their families are left out", "[health][metrics]") {
    MetricsSnapshot m;
    std::map<std::string, std::string> types;
    const auto text = adock::app::format_prometheus(m);
    (void)parse_exposition(text, types);
    CHECK(!types.contains("audisp_docker_kernel_audit_lost_total"));
    CHECK(!types.contains("audisp_docker_auditd_plugin_queue_overflowed"));
    CHECK(!types.contains("audisp_docker_integrity_baseline_files"));
    CHECK(types.contains("audisp_docker_kernel_audit_status_errors_total"));
}

TEST_CASE("auditd's state report gives its queue to the plugins", "[health][auditd]") {
    // auditd 3.0.9's report (SIGCONT), as written here by the Debian 12 auditd.
    const std::string report =
        "audit version = 3.0.9\n"
        "current time = 12/02/26 14:50:01\n"
        "process priority = -4\n"
        "writing to logs = yes\n"
        "current log size = 1626 KB\n"
        "max log size = 8192 KB\n"
        "logs detected last rotate/shift = 0\n"
        "space left on partition = yes\n"
        "Logging partition free space 20042 MB\n"
        "space_left setting 75 MB\n"
        "admin_space_left setting 50 MB\n"
        "logging suspended = no\n"
        "file system space action performed = no\n"
        "admin space action performed = no\n"
        "disk error detected = no\n"
        "Number of active plugins = 1\n"
        "current plugin queue depth = 3\n"
        "max plugin queue depth used = 1200\n"
        "plugin queue size = 1200\n"
        "plugin queue overflow detected = yes\n"
        "plugin queueing suspended = no\n"
        "listening for network connections = no\n";
    const auto s = adock::app::parse_auditd_state(report);
    REQUIRE(s);
    CHECK(s->depth == 3);
    CHECK(s->max_depth == 1200);
    CHECK(s->size == 1200);
    CHECK(s->overflow);
    CHECK(!s->suspended);
    CHECK(!adock::app::parse_auditd_state("audit version = 3.0.9\n"));
    CHECK(!adock::app::parse_auditd_state(""));
    // Torn (auditd writes it in place): what is there is taken, a cut number is not.
    const auto torn = adock::app::parse_auditd_state(
        "current plugin queue depth = 3\nmax plugin queue depth used = ");
    REQUIRE(torn);
    CHECK(torn->depth == 3);
    CHECK(torn->max_depth == 0);
}

TEST_CASE("audit_coverage_degraded: kernel losses after the baseline, at most once per window",
          "[health][coverage]") {
    using namespace std::chrono_literals;
    CoverageWatch w(10min);
    const auto t0 = CoverageWatch::Clock::time_point{} + 1h;
    CoverageSample s;
    s.kernel = KernelAuditStatus{1, 1, 100, 0, 8192, 5000, 0};
    // Lost since boot: the baseline, not news.
    CHECK(!w.observe(s, t0));
    CHECK(!w.observe(s, t0 + 10s));
    s.kernel->lost = 5120;
    auto a = w.observe(s, t0 + 20s);
    REQUIRE(a);
    CHECK(a->rule_id == "audit_coverage_degraded");
    CHECK(a->severity == adock::Severity::High);
    CHECK(a->summary.find("the kernel lost 120 audit event(s) (lost 5120 since boot)") !=
          std::string::npos);
    const auto json = adock::to_json(*a);
    CHECK(
        json.find(
            R"("coverage":{"kernel_lost":5120,"kernel_lost_new":120,"kernel_backlog":0,"kernel_backlog_limit":8192,)") !=
        std::string::npos);
    // More losses within the window: held, then reported together once it has passed.
    s.kernel->lost = 5130;
    CHECK(!w.observe(s, t0 + 5min));
    s.kernel->lost = 5150;
    CHECK(!w.observe(s, t0 + 9min));
    a = w.observe(s, t0 + 20s + 10min);
    REQUIRE(a);
    CHECK(a->summary.find("the kernel lost 30 audit event(s)") != std::string::npos);
    // Quiet: nothing.
    CHECK(!w.observe(s, t0 + 30min));
    // A reset (auditctl --reset-lost) is a new baseline.
    s.kernel->lost = 0;
    CHECK(!w.observe(s, t0 + 31min));
    s.kernel->lost = 2;
    a = w.observe(s, t0 + 32min);
    REQUIRE(a);
    CHECK(a->summary.find("lost 2 audit event(s)") != std::string::npos);
}

TEST_CASE("audit_coverage_degraded: backlog at its limit, auditd's overflow, the plugin's drops",
          "[health][coverage]") {
    using namespace std::chrono_literals;
    const auto t0 = CoverageWatch::Clock::time_point{} + 1h;
    SECTION("backlog") {
        CoverageWatch w;
        CoverageSample s;
        s.kernel = KernelAuditStatus{1, 1, 100, 0, 64, 0, 63};
        CHECK(!w.observe(s, t0));
        s.kernel->backlog = 64;
        const auto a = w.observe(s, t0 + 10s);
        REQUIRE(a);
        CHECK(a->summary.find("backlog reached its limit (64 of 64)") != std::string::npos);
    }
    SECTION("backlog limit 0 is no limit") {
        CoverageWatch w;
        CoverageSample s;
        s.kernel = KernelAuditStatus{1, 1, 100, 0, 0, 0, 10};
        CHECK(!w.observe(s, t0));
    }
    SECTION("auditd's queue overflowed: when its flag turns on, and at the first report") {
        CoverageWatch w;
        CoverageSample s;
        s.auditd = AuditdQueueState{0, 10, 250, false, false};
        CHECK(!w.observe(s, t0));
        s.auditd = AuditdQueueState{0, 250, 250, true, false};
        const auto a = w.observe(s, t0 + 10s);
        REQUIRE(a);
        CHECK(a->summary.find("auditd's queue to its plugins overflowed (250 of 250 used)") !=
              std::string::npos);
        CHECK(!w.observe(s, t0 + 1h));  // the flag stays set: already reported
        CoverageWatch fresh;
        CHECK(fresh.observe(s, t0));
    }
    SECTION("the plugin's own input drops") {
        CoverageWatch w;
        CoverageSample s;
        CHECK(!w.observe(s, t0));
        s.plugin_dropped_lines = 900;
        s.plugin_dropped_batches = 2;
        const auto a = w.observe(s, t0 + 10s);
        REQUIRE(a);
        CHECK(a->summary.find("audisp-docker dropped 900 input line(s) in 2 batch(es)") !=
              std::string::npos);
        CHECK(adock::to_json(*a).find(R"("plugin_dropped_lines":900)") != std::string::npos);
    }
}

TEST_CASE("metrics and coverage config keys: defaults, values, ranges", "[health][config]") {
    const auto d = adock::config::load_config_string("outputs: []\n", "c.yaml");
    CHECK(d.metrics_file.empty());
    CHECK(d.metrics_interval_s == 15);
    CHECK(d.coverage.interval_s == 10);
    CHECK(d.coverage.kernel_status);
    CHECK(d.coverage.auditd_state_file == "/run/auditd.state");
    const auto c = adock::config::load_config_string(
        "metrics_file: /var/lib/prometheus/node-exporter/audisp-docker.prom\n"
        "metrics_interval_s: 60\n"
        "coverage: {interval_s: 0, kernel_status: false, auditd_state_file: \"\"}\n",
        "c.yaml");
    CHECK(c.metrics_file == "/var/lib/prometheus/node-exporter/audisp-docker.prom");
    CHECK(c.metrics_interval_s == 60);
    CHECK(c.coverage.interval_s == 0);
    CHECK(!c.coverage.kernel_status);
    CHECK(c.coverage.auditd_state_file.empty());
    CHECK_THROWS_AS(adock::config::load_config_string("metrics_interval_s: 0\n", "c.yaml"),
                    adock::config::ConfigError);
    CHECK_THROWS_AS(adock::config::load_config_string("coverage: {interval: 5}\n", "c.yaml"),
                    adock::config::ConfigError);
}

TEST_CASE("check in JSON (--check --format json): diagnostics with code, file, line, col, message",
          "[app][check]") {
    try {
        (void)adock::config::load_config_string("outputs: []\nmetrics_intervall_s: 5\n",
                                                "/etc/x.yaml");
        FAIL("no error");
    } catch (const adock::config::ConfigError& e) {
        CHECK(e.code() == "unknown_key");
        CHECK(
            adock::app::check_error_json("/etc/x.yaml", e) ==
            R"({"ok":false,"file":"/etc/x.yaml","diagnostics":[{"severity":"error","code":"unknown_key",)"
            R"("file":"/etc/x.yaml","line":2,"col":1,"message":"unknown key 'metrics_intervall_s' in the configuration"}]})");
    }
    auto code_of = [](const std::string& text) {
        try {
            (void)adock::config::load_config_string(text, "c.yaml");
        } catch (const adock::config::ConfigError& e) {
            return e.code() + "@" + std::to_string(e.line()) + ":" + std::to_string(e.col());
        }
        return std::string("none");
    };
    CHECK(code_of("metrics_interval_s: 0\n") == "out_of_range@1:21");
    CHECK(code_of("metrics_interval_s: soon\n") == "wrong_type@1:21");
    CHECK(code_of("outputs: [\n") == "yaml_syntax@2:1");
    CHECK(code_of("outputs: [{name: a, type: file}]\n") == "invalid@1:11");
}

TEST_CASE("options: --format is text or json, and only with --check", "[app][check]") {
    using adock::app::parse_options;
    CHECK(parse_options({"--config", "c.yaml", "--check", "--format", "json"}).check_json);
    CHECK(!parse_options({"--config", "c.yaml", "--check", "--format", "text"}).check_json);
    CHECK(!parse_options({"--config", "c.yaml", "--check"}).check_json);
    CHECK_THROWS_AS(parse_options({"--config", "c.yaml", "--check", "--format", "yaml"}),
                    std::invalid_argument);
    CHECK_THROWS_AS(parse_options({"--config", "c.yaml", "--format", "json"}),
                    std::invalid_argument);
}

TEST_CASE("the health thread writes the engine's snapshot and raises the coverage alert",
          "[health][thread]") {
    using namespace std::chrono_literals;
    adock::test::TempDir tmp;
    adock::app::HealthSettings hs;
    hs.metrics_file = tmp / "audisp-docker.prom";
    hs.coverage_interval_s = 1;
    hs.kernel_status = false;   // no netlink from a unit test
    hs.auditd_state_file = "";  // and no SIGCONT to the test's parent
    hs.host = "host-h";
    adock::app::ReaderStats reader;
    reader.dropped_lines = 7;  // the engine fell behind before the first poll
    reader.dropped_chunks = 1;
    std::vector<adock::Alert> collected;
    adock::outputs::Dispatcher out;
    std::vector<std::unique_ptr<adock::outputs::Sink>> sinks;
    sinks.push_back(std::make_unique<adock::test::CollectSink>(collected));
    (void)out.replace(std::move(sinks));
    adock::app::HealthMonitor health(hs, reader, out);
    REQUIRE(!health.idle());
    health.start();
    MetricsSnapshot m;
    m.input.bytes = 5;
    health.publish(MetricsSnapshot(m));
    auto wait = [](auto pred) {
        for (int i = 0; i < 500 && !pred(); ++i) {
            std::this_thread::sleep_for(10ms);
        }
        return pred();
    };
    CHECK(wait([&] {
        return adock::test::slurp(hs.metrics_file).find("audisp_docker_input_bytes_total 5\n") !=
               std::string::npos;
    }));
    CHECK(wait([&] { return health.coverage_alerts() == 1; }));
    m.input.bytes = 6;
    health.publish(MetricsSnapshot(m));
    health.stop();  // writes what was published last
    const std::string text = adock::test::slurp(hs.metrics_file);
    CHECK(text.find("audisp_docker_input_bytes_total 6\n") != std::string::npos);
    CHECK(text.find("audisp_docker_audit_coverage_alerts_total 1\n") != std::string::npos);
    CHECK(text.find("audisp_docker_kernel_audit_lost_total") == std::string::npos);  // not queried

    struct stat st {};

    REQUIRE(::stat(hs.metrics_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777U) == 0644U);
    CHECK(!std::filesystem::exists(hs.metrics_file + ".tmp"));
    const auto alerts = adock::test::alerts_of(collected, "audit_coverage_degraded");
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]->host == "host-h");
    CHECK(alerts[0]->severity == adock::Severity::High);
    CHECK(alerts[0]->time_ms > 0);
    CHECK(alerts[0]->summary.find("audisp-docker dropped 7 input line(s) in 1 batch(es)") !=
          std::string::npos);
    out.stop(100ms);
}

TEST_CASE("health settings: a replay watches no coverage and keeps no audit capability",
          "[health][config]") {
    auto cfg = adock::config::load_config_string("metrics_file: /tmp/x.prom\n", "c.yaml");
    const auto live = adock::app::health_settings(cfg, false);
    CHECK(live.coverage_interval_s == 10);
    CHECK(live.kernel_status);
    CHECK(live.auditd_state_file == "/run/auditd.state");
    const auto replay = adock::app::health_settings(cfg, true);
    CHECK(replay.metrics_file == "/tmp/x.prom");
    CHECK(replay.coverage_interval_s == 0);
    CHECK(!replay.kernel_status);
    CHECK(replay.auditd_state_file.empty());
    cfg.coverage.kernel_status = false;
    CHECK(!adock::app::health_settings(cfg, false).kernel_status);
    cfg.coverage.kernel_status = true;
    cfg.coverage.interval_s = 0;
    CHECK(!adock::app::health_settings(cfg, false).kernel_status);
}

TEST_CASE("usage names --format on the --check line", "[app][check]") {
    const std::string u = adock::app::usage();
    CHECK(
        u.starts_with("usage: audisp-docker --config FILE [--input PATH] [--rules-dir DIR] "
                      "[--check [--format text|json]]\n"
                      "                    [--scan] [--test-output NAME] [--log-stderr]\n"));
    CHECK(u.find("  --format FORMAT  with --check: text") != std::string::npos);
}

TEST_CASE("latency histogram: absurd event times saturate instead of overflowing",
          "[health][metrics]") {
    adock::util::LatencyHistogram h;
    const std::int64_t now = 1'764'000'000'000;  // 2025, in ms
    h.observe_between_ms(now - 40, now);         // 40 ms
    h.observe_between_ms(now + 5000, now);       // stamped in the future: 0
    h.observe_between_ms(INT64_MIN, now);        // a crafted record's seconds
    h.observe_between_ms(-9'223'372'036'854'775'000, INT64_MAX);
    const auto c = h.counts();
    CHECK(c.count == 4);
    CHECK(c.buckets[0] == 1);  // the future one
    CHECK(c.buckets[3] == 1);  // 40 ms: (0.025, 0.05]
    CHECK(c.buckets.back() == 2);
    CHECK(c.sum_us == 40'000 + 2 * adock::util::LatencyHistogram::kMaxObservationUs);
}
