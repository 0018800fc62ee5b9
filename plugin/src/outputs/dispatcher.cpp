// SPDX-License-Identifier: Apache-2.0
#include "outputs/dispatcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <thread>

#include "util/log.hpp"
#include "util/rfc3339.hpp"

namespace adock::outputs {
std::string now_rfc3339() {
    return util::now_rfc3339();
}

std::int64_t wall_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

namespace {

/// A degraded output is reported again at most this often while it stays degraded.
constexpr std::chrono::minutes kDegradedRepeat{10};
/// ... and called healthy after this long without drops and with its spool delivered.
constexpr std::chrono::minutes kHealthyAfter{1};

}  // namespace

void Dispatcher::configure(std::string host, unsigned degraded_spool_percent) {
    const std::scoped_lock lock(mu_);
    host_ = std::move(host);
    degraded_percent_ = degraded_spool_percent;
}

std::vector<std::unique_ptr<Sink>> Dispatcher::replace(std::vector<std::unique_ptr<Sink>> sinks) {
    std::vector<Entry> next;
    next.reserve(sinks.size());
    for (auto& s : sinks) {
        Entry e;
        e.gate = std::make_unique<Gate>(s->config());
        e.sink = std::move(s);
        next.push_back(std::move(e));
    }
    std::vector<std::unique_ptr<Sink>> old;
    const std::scoped_lock lock(mu_);
    entries_.swap(next);
    for (auto& e : next) {
        const auto same = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& n) {
            return n.sink->name() == e.sink->name();
        });
        if (same != entries_.end()) {
            same->gate->adopt(*e.gate);
        } else {
            for (auto& summary : e.gate->due(std::chrono::steady_clock::time_point::max())) {
                (void)e.sink->submit(summary);
            }
        }
        old.push_back(std::move(e.sink));
    }
    return old;
}

void Dispatcher::dispatch(Alert&& alert) {
    const AlertMessage msg = AlertMessage::of(std::move(alert));
    const auto now = clock_.now();
    const std::scoped_lock lock(mu_);
    ++alerts_;
    for (auto& e : entries_) {
        if (e.gate->offer(msg, now) == Gate::Verdict::Pass) {
            (void)e.sink->submit(msg);  // a refusal is counted by the sink itself
        }
    }
}

void Dispatcher::tick(std::chrono::steady_clock::time_point now) {
    const std::scoped_lock lock(mu_);
    for (auto& e : entries_) {
        for (auto& summary : e.gate->due(now)) {
            (void)e.sink->submit(summary);
        }
    }
    for (auto& e : entries_) {
        const SinkStats s = e.sink->stats();
        const bool new_drops = s.dropped > e.dropped_seen;
        e.dropped_seen = s.dropped;
        const bool spool_high = s.spool_enabled && s.spool_max_bytes > 0 &&
                                s.spool_bytes * 100 >= s.spool_max_bytes * degraded_percent_;
        if (!new_drops && !spool_high) {
            // Healthy again once nothing was dropped for a while and the backlog is delivered.
            if (e.degraded && !s.backlogged && now - e.last_problem >= kHealthyAfter) {
                e.degraded = false;
                log::info("output '" + e.sink->name() + "' is healthy again");
            }
            continue;
        }
        e.last_problem = now;
        if (e.degraded && now - e.last_report < kDegradedRepeat) {
            continue;
        }
        e.degraded = true;
        e.last_report = now;
        raise_degraded(e, s);
    }
}

void Dispatcher::raise_degraded(const Entry& bad, const SinkStats& s) {
    Alert a;
    a.time = now_rfc3339();
    a.time_ms = wall_ms();
    a.host = host_;
    a.rule_id = "plugin_degraded";
    a.severity = Severity::High;
    a.tags = {"audisp-docker", "self-monitoring"};
    a.summary = "output '" + bad.sink->name() + "' is degraded: " + std::to_string(s.dropped) +
                " alert(s) dropped, " + std::to_string(s.spool_pending) +
                " waiting in its spool (" + std::to_string(s.spool_bytes) + " of " +
                std::to_string(s.spool_max_bytes) +
                " bytes); its endpoint is down, slow or refusing";
    a.process.pid = static_cast<int>(::getpid());
    a.process.exe = "audisp-docker";
    a.process.comm = "audisp-docker";
    a.remediation =
        "Check the endpoint and the plugin's log (syslog); --test-output " + bad.sink->name() +
        " shows what the endpoint answers. Spooled alerts are delivered when it recovers.";
    log::warning(a.summary);
    const AlertMessage msg = AlertMessage::of(std::move(a));
    ++degraded_alerts_;
    ++alerts_;
    // Through the outputs that still work: not the degraded one, nor one with a backlog.
    for (auto& e : entries_) {
        if (&e == &bad || e.degraded || !e.gate->admits(msg.alert->severity)) {
            continue;
        }
        const SinkStats other = e.sink->stats();
        if (other.backlogged) {  // its spool holds alerts it could not deliver
            continue;
        }
        (void)e.sink->submit(msg);
    }
}

void Dispatcher::reopen() {
    const std::scoped_lock lock(mu_);
    for (auto& e : entries_) {
        e.sink->reopen();
    }
}

void Dispatcher::stop(std::chrono::milliseconds deadline) {
    std::vector<Entry> entries;
    {
        const std::scoped_lock lock(mu_);
        entries.swap(entries_);
    }
    // Folded repeats still inside their window are told now rather than lost with the gate.
    for (auto& e : entries) {
        for (auto& summary : e.gate->due(std::chrono::steady_clock::time_point::max())) {
            (void)e.sink->submit(summary);
        }
    }
    // In parallel: a dead endpoint using up the deadline must not cost the file its drain.
    // Declared after `entries`: should starting one throw, those started are joined before the
    // entries they stop are destroyed.
    std::vector<std::jthread> stoppers;
    stoppers.reserve(entries.size());
    for (auto& e : entries) {
        stoppers.emplace_back([&e, deadline] { e.sink->stop(deadline); });
    }
    for (auto& t : stoppers) {
        t.join();
    }
    // Their last figures stay readable (the metrics file written after the end of input).
    std::vector<NamedStats> last;
    for (const auto& e : entries) {
        last.push_back(named_stats(e));
    }
    const std::scoped_lock lock(mu_);
    stopped_stats_ = std::move(last);
}

NamedStats Dispatcher::named_stats(const Entry& e) {
    NamedStats n{e.sink->name(), e.sink->stats()};
    const Gate::Counters held = e.gate->counters();
    n.stats.filtered = held.filtered;
    n.stats.folded = held.folded;
    n.stats.rate_limited = held.rate_limited;
    return n;
}

std::vector<NamedStats> Dispatcher::stats() const {
    const std::scoped_lock lock(mu_);
    if (entries_.empty() && !stopped_stats_.empty()) {
        return stopped_stats_;
    }
    std::vector<NamedStats> out;
    for (const auto& e : entries_) {
        out.push_back(named_stats(e));
    }
    return out;
}

unsigned long long Dispatcher::alerts() const {
    const std::scoped_lock lock(mu_);
    return alerts_;
}

unsigned long long Dispatcher::degraded_alerts() const {
    const std::scoped_lock lock(mu_);
    return degraded_alerts_;
}

}  // namespace adock::outputs
