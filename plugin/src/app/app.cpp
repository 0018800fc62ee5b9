// SPDX-License-Identifier: Apache-2.0
// Ordered start and teardown. Threads: the main thread reads signals and builds generations
// (start-up, SIGHUP); the reader thread reads the input; the engine thread runs the pipeline
// and the rules; each output has its own.
#include "app/app.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "app/engine_loop.hpp"
#include "app/generation.hpp"
#include "app/health.hpp"
#include "app/messages.hpp"
#include "app/one_shot.hpp"
#include "app/privileges.hpp"
#include "app/reader.hpp"
#include "app/seccomp_advice.hpp"
#include "app/signals.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/catalogue.hpp"
#include "util/errno_text.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace adock::app {
namespace {

/// A replayed file waits for the engine anyway: more than the next two of its batches (the
/// reader has the one after them in hand) buy nothing but memory, about 1.5 MB more at 2 MiB.
constexpr std::size_t kLosslessQueueBytes = 2 * Reader::kReadBytes;

/// Input bytes between the reader and the engine: engine.input_queue_mb on a pipe (what
/// auditd's bursts need while the engine is busy), less for a file.
std::size_t queue_capacity(const config::Config& cfg, int in_fd) {
    const std::size_t configured =
        static_cast<std::size_t>(cfg.engine.input_queue_mb) * 1024 * 1024;
    return Reader::lossless(in_fd) ? std::min(configured, kLosslessQueueBytes) : configured;
}

/// SIGHUP: a new generation built here, on the signal thread, handed to the engine to adopt.
void reload(const Options& opts, MessageQueue& queue) {
    try {
        auto next = std::make_unique<Generation>(build_generation(opts, Purpose::Run));
        const auto timeout = std::chrono::milliseconds(next->cfg.shutdown_timeout_ms);
        Message m = Reload{std::move(next)};
        if (!queue.push_control(std::move(m))) {
            log::error("reload refused: the engine has too many control messages waiting");
            // The refused generation's sinks were started: stop them.
            if (auto* r = std::get_if<Reload>(&m); r != nullptr && r->next) {
                for (auto& s : r->next->sinks) {
                    s->stop(timeout);
                }
            }
        }
    } catch (const config::ConfigError& e) {
        log::error("reload failed, keeping the running configuration: " + e.format());
    } catch (const std::exception& e) {
        log::error(std::string("reload failed, keeping the running configuration: ") + e.what());
    }
}

void control(MessageQueue& queue, Message&& m, const char* what) {
    if (!queue.push_control(std::move(m))) {
        log::warning(std::string(what) +
                     " ignored: the engine has too many control messages waiting");
    }
}

int run_plugin(const Options& opts, const Signals& signals, Generation first, int in_fd) {
    const outputs::CurlGlobal curl_global;
    outputs::Dispatcher dispatcher;
    MessageQueue queue(queue_capacity(first.cfg, in_fd));
    Reader reader(in_fd, queue);
    HealthMonitor health(
        health_settings(first.cfg, opts.input_path.has_value()), reader.stats(), dispatcher);
    EngineLoop engine(std::move(first), queue, reader.stats(), dispatcher);
    if (!opts.input_path) {
        // live only: a replay is not this host's
        engine.learn_seccomp(engine.config().seccomp_learn_file);
    }
    engine.set_health(&health);
    // A stop is requested of these threads only by their destructors, when an exception leaves
    // run_plugin before the joins at its end: each is then stopped as at a signal (the reader,
    // then the engine) and joined, and the exception goes on to main().
    std::jthread engine_thread([&engine, &queue](const std::stop_token& unwinding) {
        const std::stop_callback stop_engine(unwinding, [&queue] {
            (void)queue.push_control(Stop{true});
            queue.close();
        });
        try {
            engine.run();
        } catch (const std::exception& e) {
            log::error(std::string("engine stopped: ") + e.what());
        }
    });
    health.start();
    std::jthread reader_thread([&reader](const std::stop_token& unwinding) {
        const std::stop_callback stop_reader(unwinding, [&reader] { reader.stop(); });
        try {
            reader.run();
        } catch (const std::exception& e) {
            log::error(std::string("reader stopped: ") + e.what());
        }
    });

    bool signalled = false;
    for (;;) {
        std::array<pollfd, 2> fds{{{signals.fd(), POLLIN, 0}, {reader.finished_fd(), POLLIN, 0}}};
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            log::error(std::string("poll: ") + util::errno_text(errno));
            reader.stop();
            break;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            break;  // input ended
        }
        if ((fds[0].revents & POLLIN) == 0) {
            continue;
        }
        const auto si = signals.read();
        if (!si) {
            continue;
        }
        if (si->signo == SIGTERM) {
            // auditd's convention: only the parent may stop a plugin with SIGTERM.
            if (opts.input_path || si->sender == ::getppid()) {
                log::info("SIGTERM: stopping");
                signalled = true;
                reader.stop();
            } else {
                log::warning("ignored SIGTERM from pid " + std::to_string(si->sender));
            }
        } else if (si->signo == SIGINT) {
            signalled = true;
            reader.stop();
        } else if (si->signo == SIGHUP) {
            reload(opts, queue);
        } else if (si->signo == SIGUSR2) {
            control(queue, Scan{}, "SIGUSR2");
        } else if (si->signo == SIGUSR1) {
            control(queue, DumpState{}, "SIGUSR1");
        }
    }
    reader_thread.join();
    (void)queue.push_control(Stop{signalled});
    queue.close();
    engine_thread.join();
    dispatcher.stop(std::chrono::milliseconds(engine.config().shutdown_timeout_ms));
    engine.join_retired();
    // The last metrics: the engine is done and the outputs have delivered what they could.
    health.publish(engine.metrics_snapshot());
    health.stop();
    return 0;
}

/// The first generation; a configuration error is printed as file:line:col: message.
std::optional<Generation> first_generation(const Options& opts, Purpose purpose, bool interactive) {
    try {
        Generation g = build_generation(opts, purpose);
        log::set_level(log_level_of(g.cfg));
        return g;
    } catch (const config::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.format().c_str());
        if (!interactive) {
            log::error(e.format());
        }
        return std::nullopt;
    }
}

/// CAP_AUDIT_CONTROL is kept only for the kernel audit status query (audit_coverage_degraded,
/// the metrics file's kernel figures): live, with the coverage watch on and kernel_status set.
/// The config is read once more here, before privileges go; an error in it is reported by the
/// real load that follows.
bool needs_audit_control(const Options& opts) {
    if (opts.input_path || opts.scan) {
        return false;
    }
    try {
        const auto cfg = config::load_config_file(opts.config_path);
        return health_settings(cfg, false).kernel_status;
    } catch (const std::exception&) {
        return false;
    }
}

int run_check(const Options& opts, const Generation& g) {
    std::size_t enabled = 0;
    for (const auto& r : g.rules->rules) {
        enabled += r.enabled ? 1 : 0;
    }
    std::printf("%s: OK (%zu outputs, %zu rules enabled of %zu, from %s)\n",
                opts.config_path.c_str(),
                g.cfg.outputs.size(),
                enabled,
                g.rules->rules.size(),
                rules::describe_origin(*g.rules).c_str());
    return 0;
}

/// --check --format json: one JSON object on stdout, whatever happens; the exit status is the
/// text form's (0 valid, 1 not).
int run_check_json(const Options& opts) {
    try {
        const Generation g = build_generation(opts, Purpose::Check);
        std::printf("%s\n", check_ok_json(opts.config_path, g).c_str());
        return 0;
    } catch (const config::ConfigError& e) {
        std::printf("%s\n", check_error_json(opts.config_path, e).c_str());
    } catch (const std::exception& e) {
        std::printf("%s\n",
                    check_error_json(opts.config_path,
                                     config::ConfigError(opts.config_path, 0, 0, e.what(), "error"))
                        .c_str());
    }
    return 1;
}

}  // namespace

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
    const bool interactive = opts.check || opts.scan || opts.test_output || opts.seccomp_profile ||
                             opts.input_path || opts.log_stderr || ::isatty(STDERR_FILENO) != 0;
    log::set_target(interactive ? log::Target::Stderr : log::Target::Syslog);

    if (opts.check && opts.check_json) {
        return run_check_json(opts);
    }
    if (opts.seccomp_profile) {
        const auto g = first_generation(opts, Purpose::Load, interactive);
        if (!g) {
            return 1;
        }
        return opts.input_path ? run_seccomp_profile(*g, *opts.input_path, *opts.seccomp_profile)
                               : run_seccomp_profile_live(*g, *opts.seccomp_profile);
    }
    if (opts.check || opts.test_output) {
        const auto g =
            first_generation(opts, opts.check ? Purpose::Check : Purpose::Load, interactive);
        if (!g) {
            return 1;
        }
        if (opts.check) {
            return run_check(opts, *g);
        }
        if (g->cfg.outputs.empty()) {
            log::warning("no outputs configured: alerts will only be counted");
        }
        return run_test_output(*g, *opts.test_output);
    }
    // Plugin mode: signals are blocked before the first thread (an output's) starts.
    std::optional<Signals> signals;
    if (!opts.scan) {
        signals.emplace();
    }
    // Least privilege from here on, before the first thread (capabilities are per thread).
    if (std::string report; drop_privileges(report, needs_audit_control(opts))) {
        log::info(report);
    } else {
        log::warning("cannot drop privileges: " + report + "; running with those it has");
    }
    auto g = first_generation(opts, Purpose::Run, interactive);
    if (!g) {
        return 1;
    }
    if (g->cfg.outputs.empty()) {
        log::warning("no outputs configured: alerts will only be counted");
    }
    if (opts.scan) {
        return run_scan(std::move(*g));
    }
    util::UniqueFd input;
    int in_fd = STDIN_FILENO;
    if (opts.input_path) {
        input.reset(::open(opts.input_path->c_str(), O_RDONLY | O_CLOEXEC));
        if (!input) {
            log::error("cannot open input " + *opts.input_path + ": " + util::errno_text(errno));
            for (auto& s : g->sinks) {
                s->stop(std::chrono::milliseconds(g->cfg.shutdown_timeout_ms));
            }
            return 1;
        }
        in_fd = input.get();
    }
    return run_plugin(opts, *signals, std::move(*g), in_fd);
}

}  // namespace adock::app
