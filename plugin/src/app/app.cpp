// SPDX-License-Identifier: Apache-2.0
#include "app/app.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "audit/framer.hpp"
#include "audit/parser.hpp"
#include "config/config.hpp"
#include "integrity/monitor.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "util/bounded_queue.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "app/privileges.hpp"
#include "util/safe_file.hpp"

namespace adock::app {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr auto kEngineTick = std::chrono::milliseconds(250);

/// A configuration and its rules, validated together.
struct Loaded {
    config::Config cfg;
    std::shared_ptr<const rules::RuleSet> rules;
};

Loaded load_all(const Options& opts) {
    Loaded l;
    l.cfg = config::load_config_file(opts.config_path);
    if (opts.rules_dir) {
        l.cfg.rules_dir = *opts.rules_dir;
    }
    l.rules = rules::load_rules_dir(l.cfg.rules_dir);
    return l;
}

std::vector<std::unique_ptr<outputs::Sink>> make_sinks(const config::Config& cfg) {
    std::vector<std::unique_ptr<outputs::Sink>> sinks;
    for (const auto& o : cfg.outputs) {
        sinks.push_back(outputs::make_sink(o));
    }
    for (auto& s : sinks) {
        s->start();
    }
    return sinks;
}

void configure_dispatcher(outputs::Dispatcher& d, const config::Config& cfg) {
    d.configure(cfg.host.empty() ? rules::local_host_name() : cfg.host, cfg.degraded_spool_percent);
}

log::Level parse_level(const std::string& s) {
    if (s == "debug") {
        return log::Level::Debug;
    }
    if (s == "warning") {
        return log::Level::Warning;
    }
    if (s == "error") {
        return log::Level::Error;
    }
    return log::Level::Info;
}

/// Counters the reader thread owns; read by the engine for the state file.
struct InputStats {
    std::atomic<unsigned long long> bytes{0};
    std::atomic<unsigned long long> chunks{0};
    std::atomic<unsigned long long> dropped_chunks{0};
    std::atomic<unsigned long long> dropped_lines{0};
};

/// State shared between the reader (main thread) and the engine thread.
struct Shared {
    util::BoundedQueue<std::string> input;
    InputStats input_stats;
    std::atomic<bool> dump_state{false};
    std::mutex reload_mu;
    std::optional<Loaded> reload;  ///< a validated new config for the engine to adopt
    std::atomic<bool> reload_pending{false};
    std::atomic<bool> scan_requested{false};  ///< SIGUSR2

    explicit Shared(std::size_t capacity) : input(capacity) {}
};

std::size_t queue_capacity(const config::Config& cfg) {
    return std::max<std::size_t>(4, static_cast<std::size_t>(cfg.engine.input_queue_mb) * 1024 * 1024 / kChunkBytes);
}

/// Writes the state file atomically (`.tmp` made with O_EXCL, renamed), mode 0600, no symlink
/// followed in any component of its path.
void write_state_file(const std::string& path, const std::string& json) {
    std::string error;
    if (!util::write_file_atomic(path, json, 0600, true, false, error)) {
        log::warning("cannot write state file " + error);
    }
}

/// The runtime binaries the rules name (list runtime_binaries): host paths (not symlinks) and
/// plain names.
std::pair<std::vector<std::string>, std::set<std::string>> runtime_binaries(const rules::RuleSet& set) {
    std::vector<std::string> paths;
    std::set<std::string> names;
    auto it = set.lists.find("runtime_binaries");
    if (it == set.lists.end()) {
        return {paths, names};
    }
    std::error_code ec;
    for (const auto& p : it->second->resolved_paths) {
        if (!std::filesystem::is_symlink(p, ec)) {
            paths.push_back(p);
        }
    }
    for (const auto& pat : it->second->patterns) {
        if (pat.find_first_of("/*?[") == std::string::npos) {
            names.insert(pat);
        }
    }
    return {paths, names};
}

std::unique_ptr<integrity::IntegrityMonitor> make_integrity(const config::Config& cfg, const rules::RuleSet& set) {
    if (!cfg.integrity.enabled || !cfg.processes.use_proc) {
        return nullptr;  // a replay without /proc cannot look at the programs it names
    }
    auto m = std::make_unique<integrity::IntegrityMonitor>(cfg.integrity, cfg.proc_root);
    auto [paths, names] = runtime_binaries(set);
    m->start(std::move(paths), std::move(names));
    return m;
}

class EngineThread {
public:
    EngineThread(Shared& shared, Loaded loaded, outputs::Dispatcher& out)
        : shared_(shared),
          cfg_(std::move(loaded.cfg)),
          integrity_(make_integrity(cfg_, *loaded.rules)),
          engine_(cfg_, loaded.rules, out),
          out_(out),
          parser_([this](audit::Event&& ev) { engine_.on_event(ev); }),
          framer_(std::chrono::milliseconds(cfg_.engine.eoe_timeout_ms),
                  cfg_.engine.max_pending_events,
                  [this](std::string_view text) { parser_.parse(text); }) {
        engine_.set_integrity(integrity_.get());
    }

    void run() {
        auto last_tick = std::chrono::steady_clock::now();
        auto last_status = last_tick;
        for (;;) {
            auto chunk = shared_.input.pop_for(kEngineTick);
            const auto now = std::chrono::steady_clock::now();
            if (chunk) {
                feed(*chunk, now);
            } else if (shared_.input.closed()) {
                break;
            }
            if (now - last_tick >= kEngineTick) {
                last_tick = now;
                framer_.age(now);
                engine_.tick(now);
                out_.tick(now);
                control();
                if (cfg_.status_interval_s > 0 &&
                    now - last_status >= std::chrono::seconds(cfg_.status_interval_s)) {
                    last_status = now;
                    log::info("status " + state_json());
                }
            }
        }
        framer_.flush();
        if (integrity_) {
            integrity_->drain();  // a replay's content checks finish before the end
            engine_.collect_verdicts();
        }
        engine_.flush();
        control();
        log::info("input ended; " + state_json());
    }

    [[nodiscard]] std::string state_json() const {
        std::string out;
        util::JsonWriter w(out);
        const auto& f = framer_.stats();
        const auto& p = parser_.stats();
        const auto& e = engine_.stats();
        const auto t = engine_.process_stats();
        const auto q = shared_.input.stats();
        w.begin_object();
        w.key("input").begin_object();
        w.key("bytes").value(static_cast<std::uint64_t>(shared_.input_stats.bytes.load()));
        w.key("queue_depth").value(static_cast<std::uint64_t>(q.depth));
        w.key("queue_max_depth").value(static_cast<std::uint64_t>(q.max_depth));
        w.key("queue_capacity").value(static_cast<std::uint64_t>(q.capacity));
        w.key("dropped_chunks").value(static_cast<std::uint64_t>(shared_.input_stats.dropped_chunks.load()));
        w.key("dropped_lines").value(static_cast<std::uint64_t>(shared_.input_stats.dropped_lines.load()));
        w.end_object();
        w.key("parse").begin_object();
        w.key("lines").value(static_cast<std::uint64_t>(f.lines));
        w.key("malformed_lines").value(static_cast<std::uint64_t>(f.malformed));
        w.key("nul_bytes").value(static_cast<std::uint64_t>(f.nul_bytes));
        w.key("skipped_records").value(static_cast<std::uint64_t>(f.skipped_records));
        w.key("events").value(static_cast<std::uint64_t>(p.events));
        w.key("completed_by_eoe").value(static_cast<std::uint64_t>(f.completed_by_eoe));
        w.key("completed_by_age").value(static_cast<std::uint64_t>(f.completed_by_age));
        w.key("completed_by_pressure").value(static_cast<std::uint64_t>(f.completed_by_pressure));
        w.key("pending_events").value(static_cast<std::uint64_t>(f.pending));
        w.key("feed_errors").value(static_cast<std::uint64_t>(p.feed_errors));
        w.key("field_errors").value(static_cast<std::uint64_t>(p.field_errors));
        w.end_object();
        w.key("engine").begin_object();
        w.key("rules").value(static_cast<std::uint64_t>(engine_.rule_count()));
        w.key("exec_events").value(static_cast<std::uint64_t>(e.exec_events));
        w.key("rule_tests").value(static_cast<std::uint64_t>(e.rule_tests));
        w.key("matches").value(static_cast<std::uint64_t>(e.matches));
        w.key("suppressed").value(static_cast<std::uint64_t>(e.suppressed));
        w.key("aggregated").value(static_cast<std::uint64_t>(e.aggregated));
        w.key("content_checks").value(static_cast<std::uint64_t>(e.content_checks));
        w.key("content_skipped").value(static_cast<std::uint64_t>(e.content_skipped));
        w.end_object();
        if (integrity_) {
            const auto is = integrity_->stats();
            w.key("integrity").begin_object();
            w.key("baseline_files").value(static_cast<std::uint64_t>(is.baseline_files));
            w.key("trusted_hashes").value(static_cast<std::uint64_t>(is.trusted_hashes));
            w.key("checked").value(static_cast<std::uint64_t>(is.checked));
            w.key("hashed").value(static_cast<std::uint64_t>(is.hashed));
            w.key("alerts").value(static_cast<std::uint64_t>(is.alerts));
            w.key("unverifiable").value(static_cast<std::uint64_t>(is.unverifiable));
            w.key("dropped").value(static_cast<std::uint64_t>(is.dropped));
            w.end_object();
        }
        w.key("processes").begin_object();
        w.key("size").value(static_cast<std::uint64_t>(t.size));
        w.key("learned_from_stream").value(static_cast<std::uint64_t>(t.from_stream));
        w.key("proc_reads").value(static_cast<std::uint64_t>(t.proc_reads));
        w.key("proc_misses").value(static_cast<std::uint64_t>(t.proc_misses));
        w.key("evictions").value(static_cast<std::uint64_t>(t.evictions));
        w.key("reused_pids").value(static_cast<std::uint64_t>(t.reused_pids));
        w.end_object();
        w.key("outputs").begin_array();
        for (const auto& s : out_.stats()) {
            w.begin_object();
            w.key("name").value(s.name);
            w.key("generated").value(static_cast<std::uint64_t>(s.stats.generated));
            w.key("delivered").value(static_cast<std::uint64_t>(s.stats.delivered));
            w.key("retried").value(static_cast<std::uint64_t>(s.stats.retried));
            w.key("failed").value(static_cast<std::uint64_t>(s.stats.failed));
            w.key("spooled").value(static_cast<std::uint64_t>(s.stats.spooled));
            w.key("dropped").value(static_cast<std::uint64_t>(s.stats.dropped));
            w.key("queue_depth").value(static_cast<std::uint64_t>(s.stats.queue_depth));
            w.key("queue_max_depth").value(static_cast<std::uint64_t>(s.stats.queue_max_depth));
            if (s.stats.spool_enabled) {
                w.key("spool_pending").value(static_cast<std::uint64_t>(s.stats.spool_pending));
                w.key("spool_bytes").value(static_cast<std::uint64_t>(s.stats.spool_bytes));
            }
            w.key("filtered").value(static_cast<std::uint64_t>(s.stats.filtered));
            w.key("folded").value(static_cast<std::uint64_t>(s.stats.folded));
            w.key("rate_limited").value(static_cast<std::uint64_t>(s.stats.rate_limited));
            w.end_object();
        }
        w.end_array();
        w.key("plugin_degraded_alerts").value(static_cast<std::uint64_t>(out_.degraded_alerts()));
        w.end_object();
        return out;
    }

private:
    void feed(const std::string& chunk, std::chrono::steady_clock::time_point now) {
        std::size_t start = 0;
        while (start < chunk.size()) {
            const auto nl = chunk.find('\n', start);
            const auto end = nl == std::string::npos ? chunk.size() : nl;
            framer_.feed_line(std::string_view(chunk).substr(start, end - start), now);
            start = end + 1;
        }
    }

    void control() {
        if (shared_.scan_requested.exchange(false)) {
            if (integrity_) {
                integrity_->request_scan();
            } else {
                log::warning("SIGUSR2: integrity monitoring is off (integrity.enabled, processes.use_proc)");
            }
        }
        if (shared_.reload_pending.exchange(false)) {
            std::optional<Loaded> next;
            {
                const std::scoped_lock lock(shared_.reload_mu);
                next.swap(shared_.reload);
            }
            if (next) {
                cfg_ = next->cfg;
                engine_.reconfigure(cfg_, std::move(next->rules));
                log::info("configuration reloaded: " + std::to_string(engine_.rule_count()) + " rules");
            }
        }
        if (shared_.dump_state.exchange(false)) {
            write_state_file(cfg_.state_file, state_json() + "\n");
        }
    }

    Shared& shared_;
    config::Config cfg_;
    std::unique_ptr<integrity::IntegrityMonitor> integrity_;  ///< null: off, or a replay without /proc
    rules::Engine engine_;
    outputs::Dispatcher& out_;
    audit::EventParser parser_;
    audit::Framer framer_;
};

/// Counts the lines in a chunk that is being dropped.
unsigned long long count_lines(const std::string& s) {
    return static_cast<unsigned long long>(std::count(s.begin(), s.end(), '\n'));
}

int run_plugin(const Options& opts, Loaded loaded) {
    sigset_t mask;
    sigemptyset(&mask);
    for (const int s : {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGCHLD, SIGPIPE}) {
        sigaddset(&mask, s);
    }
    // Blocked before any thread exists, so every thread inherits the mask and signals are
    // read here through the signalfd: no logic runs in a handler.
    if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
        throw std::runtime_error("pthread_sigmask failed");
    }
    const int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
    }

    int in_fd = STDIN_FILENO;
    if (opts.input_path) {
        in_fd = ::open(opts.input_path->c_str(), O_RDONLY | O_CLOEXEC);
        if (in_fd < 0) {
            ::close(sfd);
            log::error("cannot open input " + *opts.input_path + ": " + std::strerror(errno));
            return 1;
        }
    }
    // A regular file (replay, benchmark) has nobody to stall: wait for the engine instead of
    // dropping. A pipe or socket (auditd) must never be stalled: drop and count.
    struct stat st {};
    const bool lossless = ::fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode);

    // Least privilege from here on (before the first thread: capabilities are per thread).
    if (std::string report; drop_privileges(report)) {
        log::info(report);
    } else {
        log::warning("cannot drop privileges: " + report + "; running with those it has");
    }

    const outputs::CurlGlobal curl_global;
    outputs::Dispatcher dispatcher;
    configure_dispatcher(dispatcher, loaded.cfg);
    (void)dispatcher.replace(make_sinks(loaded.cfg));
    config::Config current = loaded.cfg;

    Shared shared(queue_capacity(current));
    EngineThread engine(shared, std::move(loaded), dispatcher);
    std::thread worker([&engine] {
        try {
            engine.run();
        } catch (const std::exception& e) {
            log::error(std::string("engine stopped: ") + e.what());
        }
    });

    std::vector<std::thread> retiring;  // old sinks draining after a reload
    std::string buf(kChunkBytes, '\0');
    std::string carry;
    bool running = true;
    unsigned long long drop_logs = 0;
    while (running) {
        std::array<pollfd, 2> fds{{{in_fd, POLLIN, 0}, {sfd, POLLIN, 0}}};
        const int pr = ::poll(fds.data(), fds.size(), -1);
        if (pr < 0) {
            if (errno == EINTR) {
                continue;
            }
            log::error(std::string("poll: ") + std::strerror(errno));
            break;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            signalfd_siginfo si{};
            if (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                const int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGTERM) {
                    // auditd's convention: only the parent may stop a plugin with SIGTERM.
                    if (opts.input_path || static_cast<pid_t>(si.ssi_pid) == ::getppid()) {
                        log::info("SIGTERM: stopping");
                        running = false;
                    } else {
                        log::warning("ignored SIGTERM from pid " + std::to_string(si.ssi_pid));
                    }
                } else if (sig == SIGINT) {
                    running = false;
                } else if (sig == SIGHUP) {
                    try {
                        Loaded next = load_all(opts);
                        configure_dispatcher(dispatcher, next.cfg);
                        auto old = dispatcher.replace(make_sinks(next.cfg));
                        retiring.emplace_back([old = std::move(old), timeout = next.cfg.shutdown_timeout_ms]() mutable {
                            for (auto& s : old) {
                                s->stop(std::chrono::milliseconds(timeout));
                            }
                        });
                        log::set_level(parse_level(next.cfg.log_level));
                        current = next.cfg;
                        {
                            const std::scoped_lock lock(shared.reload_mu);
                            shared.reload = std::move(next);
                        }
                        shared.reload_pending = true;
                    } catch (const config::ConfigError& e) {
                        log::error("reload failed, keeping the running configuration: " + e.format());
                    } catch (const std::exception& e) {
                        log::error(std::string("reload failed, keeping the running configuration: ") + e.what());
                    }
                } else if (sig == SIGUSR2) {
                    shared.scan_requested = true;
                } else if (sig == SIGUSR1) {
                    dispatcher.reopen();
                    shared.dump_state = true;
                }
            }
        }
        if (!running) {
            break;
        }
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::read(in_fd, buf.data(), buf.size());
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) {
                    continue;
                }
                log::error(std::string("read: ") + std::strerror(errno));
                break;
            }
            if (n == 0) {
                break;  // EOF: auditd closed our stdin, or the replay ended
            }
            shared.input_stats.bytes += static_cast<unsigned long long>(n);
            carry.append(buf.data(), static_cast<std::size_t>(n));
            const auto last_nl = carry.rfind('\n');
            if (last_nl == std::string::npos) {
                if (carry.size() > 1024 * 1024) {
                    // A "line" of a megabyte is not an audit record; do not grow without bound.
                    shared.input_stats.dropped_lines += 1;
                    carry.clear();
                }
                continue;
            }
            std::string chunk = carry.substr(0, last_nl + 1);
            carry.erase(0, last_nl + 1);
            if (lossless) {
                while (!shared.input.push_wait(std::move(chunk), std::chrono::milliseconds(1000))) {
                    if (shared.input.closed()) {
                        break;
                    }
                }
            } else {
                const auto lines = count_lines(chunk);
                if (!shared.input.try_push(std::move(chunk))) {
                    shared.input_stats.dropped_chunks += 1;
                    shared.input_stats.dropped_lines += lines;
                    if (drop_logs++ % 1000 == 0) {
                        log::warning("engine queue full: dropped " +
                                     std::to_string(shared.input_stats.dropped_lines.load()) +
                                     " records so far (see the state file)");
                    }
                }
            }
        }
    }
    if (!carry.empty()) {
        carry += '\n';
        (void)shared.input.push_wait(std::move(carry), std::chrono::milliseconds(1000));
    }
    shared.input.close();
    worker.join();
    dispatcher.stop(std::chrono::milliseconds(current.shutdown_timeout_ms));
    for (auto& t : retiring) {
        t.join();
    }
    if (opts.input_path) {
        ::close(in_fd);
    }
    ::close(sfd);
    return 0;
}

}  // namespace

std::string usage() {
    return "usage: audisp-docker --config FILE [--input PATH] [--rules-dir DIR] [--check] [--scan]\n"
           "                    [--test-output NAME] [--log-stderr]\n"
           "  --config FILE    configuration (YAML)\n"
           "  --input PATH     replay a saved audit log instead of reading the stream on stdin\n"
           "  --rules-dir DIR  detection rules directory (overrides rules_dir in the config)\n"
           "  --check          validate the configuration and rules, print problems, exit 0 or 1\n"
           "  --test-output NAME  send a sample alert to one output now and report what its\n"
           "                   endpoint answered (exit 0 delivered, 1 not)\n"
           "  --scan           compare the integrity baseline with the disk once (integrity_drift\n"
           "                   alerts to the outputs), update it, exit 0 (no difference) or 2\n"
           "  signals: HUP reload, USR1 state file and reopen outputs, USR2 integrity scan\n"
           "  --log-stderr     log to stderr (default: syslog when run by auditd)\n";
}

Options parse_options(const std::vector<std::string>& args) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= args.size()) {
                throw std::invalid_argument(std::string(name) + " needs a value");
            }
            return args[++i];
        };
        if (a == "--config" || a == "-c") {
            o.config_path = value("--config");
        } else if (a == "--input" || a == "-i") {
            o.input_path = value("--input");
        } else if (a == "--rules-dir") {
            o.rules_dir = value("--rules-dir");
        } else if (a == "--check") {
            o.check = true;
        } else if (a == "--test-output") {
            o.test_output = value("--test-output");
        } else if (a == "--scan") {
            o.scan = true;
        } else if (a == "--log-stderr") {
            o.log_stderr = true;
        } else if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--version") {
            o.version = true;
        } else {
            throw std::invalid_argument("unknown argument '" + a + "'");
        }
    }
    if (!o.help && !o.version && o.config_path.empty()) {
        throw std::invalid_argument("--config FILE is required");
    }
    return o;
}

/// --scan: compares the baseline with the disk once, sends integrity_drift alerts through the
/// configured outputs, updates the baseline, prints a summary. Exit 0 without differences, 2 with.
int run_scan(Loaded loaded) {
    outputs::Dispatcher out;
    configure_dispatcher(out, loaded.cfg);
    (void)out.replace(make_sinks(loaded.cfg));
    const auto& ic = loaded.cfg.integrity;
    integrity::IntegrityMonitor monitor(ic, loaded.cfg.proc_root);
    rules::Engine engine(loaded.cfg, loaded.rules, out);
    engine.set_integrity(&monitor);
    auto [paths, names] = runtime_binaries(*loaded.rules);
    monitor.scan_once(std::move(paths), std::move(names));
    engine.collect_verdicts();
    out.stop(std::chrono::milliseconds(loaded.cfg.shutdown_timeout_ms));
    const auto st = monitor.stats();
    std::printf("scan: %zu files in the baseline (%s), %llu differences, %llu alerts sent\n",
                st.baseline_files, ic.state_file.c_str(), st.drift, engine.stats().matches);
    return st.drift == 0 ? 0 : 2;
}

/// --test-output NAME: one sample alert to one output, synchronously, bypassing its routing,
/// dedup, rate limit and spool; prints what the endpoint answered.
int run_test_output(const Loaded& loaded, const std::string& name) {
    const auto& outs = loaded.cfg.outputs;
    const auto it = std::find_if(outs.begin(), outs.end(), [&](const config::OutputConfig& o) { return o.name == name; });
    if (it == outs.end()) {
        std::string names;
        for (const auto& o : outs) {
            names += names.empty() ? "" : ", ";
            names += o.name;
        }
        std::fprintf(stderr, "no output named '%s' (outputs: %s)\n", name.c_str(), names.empty() ? "none" : names.c_str());
        return 1;
    }
    config::OutputConfig cfg = *it;
    cfg.spool_dir.clear();
    Alert a;
    a.time = outputs::now_rfc3339();
    a.host = loaded.cfg.host.empty() ? rules::local_host_name() : loaded.cfg.host;
    a.rule_id = "audisp_docker_test";
    a.severity = Severity::Info;
    a.tags = {"test"};
    a.summary = "Test alert from audisp-docker on " + a.host + ": output '" + cfg.name + "' works";
    a.process.pid = static_cast<int>(::getpid());
    a.process.exe = "/usr/sbin/audisp-docker";
    a.process.comm = "audisp-docker";
    a.process.argv = {"audisp-docker", "--test-output", cfg.name};
    const outputs::AlertMessage msg = outputs::AlertMessage::of(std::move(a));

    const outputs::CurlGlobal curl_global;
    std::unique_ptr<outputs::Sink> sink = outputs::make_sink(cfg);
    auto* delivery = dynamic_cast<outputs::DeliverySink*>(sink.get());
    if (delivery == nullptr) {  // file, stdout
        sink->start();
        (void)sink->submit(msg);
        sink->stop(std::chrono::milliseconds(loaded.cfg.shutdown_timeout_ms));
        const bool ok = sink->stats().delivered == 1;
        std::fprintf(stderr, "output '%s' (%s): %s\n", cfg.name.c_str(), config::output_type_name(cfg.type),
                     ok ? "sample alert written" : "the sample alert could not be written (see above)");
        return ok ? 0 : 1;
    }
    const auto started = std::chrono::steady_clock::now();
    const outputs::SendResult r = delivery->send_once(msg);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    const char* verdict = "delivered";
    if (r.kind == outputs::SendResult::Kind::Retry) {
        verdict = "NOT delivered (the plugin would retry, then spool)";
    } else if (r.kind != outputs::SendResult::Kind::Delivered) {
        verdict = "NOT delivered (refused: the plugin would not retry)";
    }
    std::string answer;
    for (const char c : r.response.substr(0, 300)) {
        answer += (c >= 32 && c < 127) ? c : ' ';
    }
    std::fprintf(stderr, "output '%s' (%s) -> %s: %s, %s in %lld ms%s%s\n", cfg.name.c_str(),
                 config::output_type_name(cfg.type), delivery->target().c_str(), verdict, r.detail.c_str(),
                 static_cast<long long>(ms.count()), answer.empty() ? "" : "; answer: ", answer.c_str());
    return r.kind == outputs::SendResult::Kind::Delivered ? 0 : 1;
}

int run(const Options& opts) {
    if (opts.help) {
        std::fputs(usage().c_str(), stdout);
        return 0;
    }
    if (opts.version) {
        std::puts("audisp-docker 0.1.0");
        return 0;
    }
    ::umask(077);
    const bool interactive =
        opts.check || opts.scan || opts.test_output || opts.input_path || opts.log_stderr || ::isatty(STDERR_FILENO) != 0;
    log::set_target(interactive ? log::Target::Stderr : log::Target::Syslog);

    Loaded loaded;
    try {
        loaded = load_all(opts);
        if (opts.check) {
            for (auto o : loaded.cfg.outputs) {
                o.spool_dir.clear();  // validates without starting or touching the spool
                (void)outputs::make_sink(o);
            }
        }
    } catch (const config::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.format().c_str());
        if (!interactive) {
            log::error(e.format());
        }
        return 1;
    }
    log::set_level(parse_level(loaded.cfg.log_level));
    if (opts.check) {
        std::size_t enabled = 0;
        for (const auto& r : loaded.rules->rules) {
            enabled += r.enabled ? 1 : 0;
        }
        std::printf("%s: OK (%zu outputs, %zu rules enabled of %zu, from %zu files in %s)\n",
                    opts.config_path.c_str(),
                    loaded.cfg.outputs.size(),
                    enabled,
                    loaded.rules->rules.size(),
                    loaded.rules->files.size(),
                    loaded.cfg.rules_dir.c_str());
        return 0;
    }
    if (loaded.cfg.outputs.empty()) {
        log::warning("no outputs configured: alerts will only be counted");
    }
    if (opts.test_output) {
        return run_test_output(loaded, *opts.test_output);
    }
    if (opts.scan) {
        return run_scan(std::move(loaded));
    }
    return run_plugin(opts, std::move(loaded));
}

}  // namespace adock::app
