// SPDX-License-Identifier: Apache-2.0
#include "app/engine_loop.hpp"

#include <exception>
#include <type_traits>

#include "app/state_file.hpp"
#include "util/log.hpp"
#include "util/thread_name.hpp"

namespace adock::app {
namespace {

std::unique_ptr<integrity::IntegrityMonitor> make_integrity(const config::Config& cfg,
                                                            const rules::RuleSet& set) {
    if (!cfg.integrity.enabled || !cfg.processes.use_proc) {
        return nullptr;  // a replay without /proc cannot look at the programs it names
    }
    auto m = std::make_unique<integrity::IntegrityMonitor>(cfg.integrity, cfg.proc_root);
    auto [paths, names] = runtime_binaries(set);
    m->start(std::move(paths), std::move(names));
    return m;
}

}  // namespace

EngineLoop::EngineLoop(Generation first,
                       MessageQueue& queue,
                       const ReaderStats& reader,
                       outputs::Dispatcher& out,
                       const util::Clock& clock)
    : clock_(clock),
      queue_(queue),
      reader_(reader),
      out_(out),
      cfg_(first.cfg),
      integrity_(make_integrity(cfg_, *first.rules)),
      engine_(cfg_, first.rules, out, clock_),
      pipeline_(std::chrono::milliseconds(cfg_.engine.eoe_timeout_ms),
                cfg_.engine.max_pending_events,
                [this](audit::Event&& ev) { engine_.on_event(ev); }),
      last_tick_(clock_.now()),
      last_status_(last_tick_) {
    engine_.set_integrity(integrity_.get());
    adopt_outputs(first);
}

EngineLoop::~EngineLoop() {
    join_retired();
}

void EngineLoop::join_retired() {
    for (auto& t : retiring_) {
        if (t.joinable()) {
            t.join();
        }
    }
    retiring_.clear();
}

void EngineLoop::adopt_outputs(Generation& g) {
    out_.configure(g.cfg.host.empty() ? rules::local_host_name() : g.cfg.host,
                   g.cfg.degraded_spool_percent);
    auto old = out_.replace(std::move(g.sinks));
    if (!old.empty()) {
        retiring_.emplace_back(
            [old = std::move(old), timeout = g.cfg.shutdown_timeout_ms]() mutable {
                for (auto& s : old) {
                    s->stop(std::chrono::milliseconds(timeout));
                }
            });
    }
    log::set_level(log_level_of(g.cfg));
}

void EngineLoop::adopt(Generation& g) {
    for (const auto& name : start_only_changes(cfg_, g.cfg)) {
        log::warning("reload: " + name +
                     " changed; it is read at start only and takes effect at the next restart");
    }
    keep_start_only(g.cfg, cfg_);
    adopt_outputs(g);
    cfg_ = g.cfg;
    engine_.reconfigure(cfg_, std::move(g.rules));
    log::info("configuration reloaded: " + std::to_string(engine_.rule_count()) + " rules");
}

void EngineLoop::scan() {
    if (integrity_) {
        integrity_->request_scan();
    } else {
        log::warning(
            "SIGUSR2: integrity monitoring is off (integrity.enabled, processes.use_proc)");
    }
}

void EngineLoop::dump_state() {
    out_.reopen();
    write_state_file(cfg_.state_file, state_json() + "\n");
    save_seccomp();
}

void EngineLoop::learn_seccomp(std::string path) {
    if (path.empty()) {
        return;
    }
    seccomp_file_ = std::move(path);
    seccomp_ = std::make_unique<SeccompAdvisor>();
    seccomp_->attach(engine_);
}

void EngineLoop::save_seccomp() {
    // Only when a container's SECCOMP records were counted since the last write: a host that
    // learns nothing never writes the file. On SIGUSR1 and at the end (an operator's request,
    // not the per-event path).
    if (!seccomp_ || !seccomp_->changed()) {
        return;
    }
    const auto now = std::chrono::system_clock::now();
    const auto sec =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    write_state_file(seccomp_file_, seccomp_->state_json(audit::rfc3339(sec, 0)));
    seccomp_->mark_saved();
}

bool EngineLoop::handle(Message& m, std::chrono::steady_clock::time_point now) {
    return std::visit(
        [&](auto& msg) -> bool {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, InputBatch>) {
                pipeline_.feed(msg.bytes, now);
                if (integrity_) {
                    integrity_->flush_submissions();  // the batch's exec checks, in one hand-off
                }
            } else if constexpr (std::is_same_v<T, Reload>) {
                if (msg.next) {
                    adopt(*msg.next);
                }
            } else if constexpr (std::is_same_v<T, DumpState>) {
                dump_state();
            } else if constexpr (std::is_same_v<T, Scan>) {
                scan();
            } else {
                static_assert(std::is_same_v<T, Stop>);
                signalled_ = msg.signalled;
                return true;
            }
            return false;
        },
        m);
}

void EngineLoop::tick(std::chrono::steady_clock::time_point now) {
    pipeline_.age(now);
    engine_.tick(now);
    if (integrity_) {
        integrity_->flush_submissions();  // the checks of events completed by age
    }
    out_.tick(now);
    if (health_ != nullptr && !cfg_.metrics_file.empty() &&
        now - last_metrics_ >= std::chrono::seconds(cfg_.metrics_interval_s)) {
        last_metrics_ = now;
        health_->publish(metrics_snapshot());  // numbers only: the health thread writes
    }
    if (cfg_.status_interval_s > 0 &&
        now - last_status_ >= std::chrono::seconds(cfg_.status_interval_s)) {
        last_status_ = now;
        log::info("status " + state_json());
    }
}

void EngineLoop::run() {
    util::name_this_thread("adock-engine");
    for (;;) {
        auto m = queue_.pop_for(
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_.real_wait(kTick)));
        const auto now = clock_.now();
        if (!m && queue_.closed()) {
            break;
        }
        bool stop = false;
        try {
            if (m) {
                stop = handle(*m, now);
            }
            if (!stop && now - last_tick_ >= kTick) {
                last_tick_ = now;
                tick(now);
            }
        } catch (const std::exception& e) {
            ++errors_;
            log::error(std::string("engine: ") + e.what() + " (skipped; detection goes on)");
        } catch (...) {
            ++errors_;
            log::error("engine: unknown exception (skipped; detection goes on)");
        }
        if (stop) {
            break;
        }
    }
    finish();
}

void EngineLoop::finish() {
    pipeline_.flush();
    if (integrity_) {
        if (signalled_) {
            // Stopped by a signal (auditd restarting the plugin, an upgrade): the start-up
            // scan is not waited for; the checks queued are still decided.
            integrity_->cut_scans();
        }
        integrity_->drain();  // a replay's content checks finish before the end
        engine_.collect_verdicts();
    }
    engine_.flush();
    if (seccomp_) {
        seccomp_->finish();
        save_seccomp();
    }
    log::info("input ended; " + state_json());
}

}  // namespace adock::app
