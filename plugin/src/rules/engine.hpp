// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "audit/event.hpp"
#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "proc/containers.hpp"
#include "proc/process_table.hpp"
#include "rules/rule.hpp"

namespace adock::rules {

struct EngineStats {
    unsigned long long events = 0;
    unsigned long long exec_events = 0;
    unsigned long long matches = 0;
    unsigned long long suppressed = 0;  ///< matched, then an exception applied
};

/// Correlates events with the process table and containers, runs the rules, and hands
/// alerts to the dispatcher. Runs on the engine thread only.
class Engine {
public:
    Engine(const config::Config& cfg, std::shared_ptr<const RuleSet> rules, outputs::Dispatcher& out);

    void on_event(const audit::Event& ev);

    /// Swaps rules and settings (SIGHUP); the process table is kept.
    void reconfigure(const config::Config& cfg, std::shared_ptr<const RuleSet> rules);

    [[nodiscard]] const EngineStats& stats() const { return stats_; }
    [[nodiscard]] proc::ProcessTableStats process_stats() const { return table_.stats(); }
    [[nodiscard]] std::size_t rule_count() const;

private:
    struct Context;
    bool holds(const Conditions& c, Context& ctx);
    void evaluate(const Rule& rule, Context& ctx);
    Alert build_alert(const Rule& rule, Context& ctx);

    std::string host_;
    unsigned ancestry_depth_;
    std::shared_ptr<const RuleSet> rules_;
    outputs::Dispatcher& out_;
    proc::ProcessTable table_;
    proc::ContainerResolver containers_;
    EngineStats stats_;
};

}  // namespace adock::rules
