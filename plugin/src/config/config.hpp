// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "alert/alert.hpp"
#include "config/output_kind.hpp"

namespace adock::config {

/// A problem in a configuration or rule file, with the position it was found at.
class ConfigError : public std::runtime_error {
public:
    /// `code`: what kind of problem, stable for tools reading `--check --format json`:
    /// yaml_syntax, unreadable, unknown_key, wrong_type, out_of_range, invalid.
    ConfigError(
        std::string file, int line, int col, const std::string& msg, std::string code = "invalid")
        : std::runtime_error(msg),
          file_(std::move(file)),
          line_(line),
          col_(col),
          code_(std::move(code)) {}

    [[nodiscard]] const std::string& file() const { return file_; }

    [[nodiscard]] int line() const { return line_; }

    [[nodiscard]] int col() const { return col_; }

    [[nodiscard]] const std::string& code() const { return code_; }

    /// `file:line:col: message`, the form --check prints.
    [[nodiscard]] std::string format() const;

    /// For an unknown key: the keys the mapping accepts (what the man page test enumerates).
    [[nodiscard]] const std::vector<std::string>& known_keys() const { return known_keys_; }

    void set_known_keys(std::vector<std::string> keys) { known_keys_ = std::move(keys); }

private:
    std::string file_;
    int line_;
    int col_;
    std::string code_;
    std::vector<std::string> known_keys_;
};

/// One entry of `outputs:`. Fields that do not apply to a type keep their defaults.
struct OutputConfig {
    std::string name;
    OutputType type = OutputType::File;
    Severity min_severity = Severity::Info;
    /// Bounded per-output queue (alerts); beyond it alerts are dropped and counted.
    std::size_t queue_size = 4096;

    // Routing (every type): rule ids and tags, shell-style globs. Empty include: everything.
    std::vector<std::string> include_rules;
    std::vector<std::string> exclude_rules;
    std::vector<std::string> include_tags;  ///< at least one tag matches
    std::vector<std::string> exclude_tags;  ///< any tag matches: not sent
    /// Repeats of one incident (rule, host, container, executable) within this window are folded
    /// into one later message carrying their count. 0: off.
    unsigned dedup_window_s = 0;
    /// At most rate_limit alerts per rate_window_s; the rest are counted and logged. 0: no limit.
    unsigned rate_limit = 0;
    unsigned rate_window_s = 60;

    // file
    std::string path;
    std::uint64_t max_size_bytes = 50ULL * 1024 * 1024;  ///< rotate beyond this size
    unsigned generations = 5;                            ///< rotated files kept (.1 .. .N)

    // webhook (HTTP)
    std::string url;  ///< endpoint (or read from url_file)
    std::map<std::string, std::string> headers;
    unsigned connect_timeout_ms = 2000;
    unsigned timeout_ms = 5000;
    unsigned retries = 5;  ///< attempts after the first
    unsigned backoff_initial_ms = 200;
    unsigned backoff_max_ms = 10000;
    bool tls_verify = true;
    std::string ca_file;
    std::string proxy;        ///< auditd gives plugins an empty environment
    std::string client_cert;  ///< PEM client certificate (mutual TLS)
    std::string client_key;   ///< its key (default: in client_cert)
    /// PagerDuty routing_key / Opsgenie API key (from `*_file` or `*_env`: never logged).
    std::string secret;

    // syslog
    std::string address = "unix:/dev/log";  ///< unix:PATH, udp:HOST:PORT or tcp:HOST:PORT
    unsigned facility = 10;                 ///< authpriv
    std::string app_name = "audisp-docker";

    // kafka (TLS: tls_verify, ca_file, client_cert, client_key above)
    std::string brokers;  ///< bootstrap.servers: host:port[,host:port...]
    std::string topic;
    std::string client_id = "audisp-docker";
    std::string security_protocol = "plaintext";  ///< plaintext, ssl, sasl_plaintext, sasl_ssl
    std::string sasl_mechanism;                   ///< PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    std::string sasl_username;
    std::string sasl_password;              ///< from sasl_password_file only: never logged
    unsigned kafka_queue_messages = 10000;  ///< queue.buffering.max.messages
    unsigned kafka_queue_kbytes = 16384;    ///< queue.buffering.max.kbytes
    /// Further librdkafka properties (bounded; the ones this output sets itself are refused).
    std::map<std::string, std::string> kafka_properties;

    // delivery outputs: the disk spool (empty spool_dir: none, alerts that cannot be delivered
    // are dropped and counted)
    bool spool = true;  ///< `spool: false` turns it off for this output
    std::string spool_dir;
    std::uint64_t spool_max_bytes = 64ULL * 1024 * 1024;
};

struct EngineConfig {
    /// Bytes of stdin buffered between the reader and the engine (MiB). When stdin is a pipe or
    /// socket (auditd) and this fills, records are dropped and counted rather than stalling auditd.
    unsigned input_queue_mb = 16;
    /// An event without EOE is completed after this long (auditd's end_of_event_timeout).
    unsigned eoe_timeout_ms = 2000;
    /// Events being assembled at once; beyond it the oldest is completed early.
    std::size_t max_pending_events = 4096;
    /// argv bytes of the acting process in an alert (and of an event kept for a content
    /// check); beyond it argv is cut, marked `truncated` with the whole argv's `argv_sha256`.
    std::size_t alert_argv_bytes = 16384;
    /// argv bytes of each ancestor in an alert.
    std::size_t ancestor_argv_bytes = 256;
    /// Alerts per source (a container, or a host user running one executable) at once; the
    /// bucket refills at this many per alert_rate_window_s. Beyond it alerts are held back,
    /// counted and summarised in one alert per source when the window closes. 0: no limit.
    unsigned alert_rate_burst = 20;
    unsigned alert_rate_window_s = 10;
};

struct ProcessTableConfig {
    /// Least-recently-used processes beyond this are forgotten (live ones are re-read from /proc
    /// when needed). 8192 keeps the table in cache on a busy host; measured in BENCHMARKS.md.
    std::size_t max_entries = 8192;
    unsigned ancestry_depth = 8;
    /// Fill gaps from /proc and know the runtime binaries by this host's files (a live host);
    /// off for replays (`--input`) unless the config sets it.
    bool use_proc = true;
    /// The config file set use_proc (a replay then keeps what it says).
    bool use_proc_explicit = false;
    /// argv bytes kept per entry (the rest is cut; its hash kept): bounds the table's memory.
    std::size_t max_argv_bytes = 4096;
    /// Bytes of each argument, in table entries and in alerts.
    std::size_t max_arg_bytes = 4096;
};

/// Application control and the runtime binaries' baseline (integrity/monitor.hpp).
struct IntegritySettings {
    bool enabled = true;
    /// The config file set enabled (a replay then keeps what it says).
    bool enabled_explicit = false;
    std::string state_file = "/var/lib/audisp-docker/baseline.json";
    std::vector<std::string> allowlist;  ///< trusted sha256 values
    std::string dpkg_info_dir = "/var/lib/dpkg/info";
    std::size_t queue_size = 4096;
    unsigned max_file_mb = 512;
    /// Monitored beyond the runtime binaries (when present): their configuration and units.
    std::vector<std::string> files{"/etc/docker/daemon.json",
                                   "/etc/containerd/config.toml",
                                   "/etc/default/docker",
                                   "/etc/sysconfig/docker",
                                   "/lib/systemd/system/docker.service",
                                   "/lib/systemd/system/docker.socket",
                                   "/lib/systemd/system/containerd.service",
                                   "/etc/systemd/system/docker.service",
                                   "/etc/systemd/system/containerd.service"};
    /// Whole directories (their regular files), e.g. /usr/bin, /usr/sbin: off by default.
    std::vector<std::string> dirs;
    unsigned scan_interval_s = 3600;  ///< scheduled scans; 0: at start and on demand only
    unsigned scan_rate_mb_s = 64;     ///< a scan's reading budget
};

/// audit_coverage_degraded: the kernel's audit status, auditd's queue to its plugins and the
/// plugin's own input drops, polled on the health thread.
struct CoverageConfig {
    unsigned interval_s = 10;  ///< how often; 0: off (no alert, no kernel query)
    /// Query the kernel (AUDIT_GET, as auditctl -s): needs CAP_AUDIT_CONTROL, kept only then.
    bool kernel_status = true;
    /// auditd's state report, asked for with SIGCONT to auditd (the parent) as auditd's own
    /// audisp-statsd does; "": not asked.
    /// auditd's /var/run/auditd.state, symlink-free
    std::string auditd_state_file = "/run/auditd.state";
};

struct Config {
    std::string source_file;  ///< where this config came from ("" for defaults)
    std::string host;         ///< host name reported in alerts; empty = gethostname()
    std::string rules_dir = "/etc/audisp-docker/rules";
    std::string state_file = "/run/audisp-docker/state.json";
    /// The live plugin's seccomp learning (--seccomp-profile without --input): the SECCOMP
    /// records of containers, per container, written here (0600, atomic) on SIGUSR1 and at
    /// stop; "": not learned.
    std::string seccomp_learn_file = "/var/lib/audisp-docker/seccomp.json";
    std::string log_level = "info";
    unsigned status_interval_s = 3600;
    /// Prometheus text for node_exporter's textfile collector, replaced atomically (0644);
    /// "": none.
    std::string metrics_file;
    unsigned metrics_interval_s = 15;
    CoverageConfig coverage;
    std::string proc_root = "/proc";
    std::string containerd_state_dir = "/run/containerd/io.containerd.runtime.v2.task";
    std::string docker_containers_dir = "/var/lib/docker/containers";
    /// podman's (containers/storage) root: overlay-containers/containers.json, images.json.
    std::string podman_storage_dir = "/var/lib/containers/storage";
    /// The config named rules_dir (a missing one is then an error, not the built-in catalogue).
    bool rules_dir_explicit = false;
    EngineConfig engine;
    ProcessTableConfig processes;
    IntegritySettings integrity;
    std::vector<OutputConfig> outputs;
    unsigned shutdown_timeout_ms = 5000;
    /// Each delivery output spools under <spool_dir>/<name>.<type>/.
    std::string spool_dir = "/var/lib/audisp-docker/spool";
    /// plugin_degraded is raised when an output drops an alert or its spool passes this share
    /// of its bound (percent).
    unsigned degraded_spool_percent = 50;
};

/// A replay (`--input`) describes the past: /proc and the integrity content checks are off
/// unless the config file turned them on explicitly.
void apply_replay_defaults(Config& cfg);

/// Strict loaders: unknown keys, wrong types and out-of-range values are ConfigErrors.
[[nodiscard]] Config load_config_file(const std::string& path);
[[nodiscard]] Config load_config_string(const std::string& text,
                                        const std::string& name = "<string>");

}  // namespace adock::config
