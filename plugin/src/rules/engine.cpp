// SPDX-License-Identifier: Apache-2.0
#include "rules/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>

namespace adock::rules {
namespace {

std::string local_host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) {
        return "unknown";
    }
    return buf.data();
}

std::string join(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        out += a;
    }
    return out;
}

ProcessRef to_ref(const proc::ProcessInfo& p) {
    ProcessRef r;
    r.pid = p.pid;
    r.ppid = p.ppid;
    r.exe = p.exe;
    r.comm = p.comm;
    r.argv = p.argv;
    r.uid = p.uid;
    r.auid = p.auid;
    return r;
}

}  // namespace

/// Facts about one event, computed on first use: most events never need the parent,
/// the ancestry or the container.
struct Engine::Context {
    Context(const audit::Event& e, const std::vector<std::string>& a) : ev(e), argv(a) {}

    const audit::Event& ev;
    const std::vector<std::string>& argv;
    bool parent_done = false;
    const proc::ProcessInfo* parent = nullptr;
    bool ancestry_done = false;
    std::vector<const proc::ProcessInfo*> ancestry;
    bool container_done = false;
    std::optional<ContainerRef> container;
    std::string matched;  ///< what actor_in matched (e.g. "runc")
};

Engine::Engine(const config::Config& cfg, std::shared_ptr<const RuleSet> rules, outputs::Dispatcher& out)
    : host_(cfg.host.empty() ? local_host_name() : cfg.host),
      ancestry_depth_(cfg.processes.ancestry_depth),
      rules_(std::move(rules)),
      out_(out),
      table_(cfg.processes, cfg.proc_root),
      containers_(cfg.containerd_state_dir, cfg.docker_containers_dir) {}

void Engine::reconfigure(const config::Config& cfg, std::shared_ptr<const RuleSet> rules) {
    host_ = cfg.host.empty() ? local_host_name() : cfg.host;
    ancestry_depth_ = cfg.processes.ancestry_depth;
    table_.set_config(cfg.processes);
    rules_ = std::move(rules);
}

std::size_t Engine::rule_count() const {
    return static_cast<std::size_t>(std::count_if(rules_->rules.begin(), rules_->rules.end(), [](const Rule& r) {
        return r.enabled;
    }));
}

void Engine::on_event(const audit::Event& ev) {
    ++stats_.events;
    table_.observe(ev);
    if (!ev.has_syscall) {
        return;
    }
    const bool exec = ev.is_exec();
    const auto& list = exec ? rules_->exec_rules : rules_->syscall_rules;
    if (exec) {
        ++stats_.exec_events;
    }
    if (list.empty()) {
        return;
    }
    Context ctx(ev, ev.has_execve ? ev.argv : ev.proctitle);
    for (const Rule* rule : list) {
        evaluate(*rule, ctx);
    }
}

bool Engine::holds(const Conditions& c, Context& ctx) {
    const audit::Event& ev = ctx.ev;
    if (c.keys && (!ev.key || !c.keys->contains(*ev.key))) {
        return false;
    }
    if (c.success && ev.success != c.success) {
        return false;
    }
    if (c.argv_contains) {
        const bool any = std::any_of(c.argv_contains->begin(), c.argv_contains->end(), [&](const std::string& a) {
            return std::find(ctx.argv.begin(), ctx.argv.end(), a) != ctx.argv.end();
        });
        if (!any) {
            return false;
        }
    }
    auto actor_matches = [&](const ProgramList& list) -> std::optional<std::string> {
        if (auto m = list.match(ev.exe)) {
            return m;
        }
        for (const auto& p : ev.paths) {
            if (p.item == 0 && p.inode != 0 && list.identities.contains({p.dev, p.inode})) {
                return "inode " + p.dev + ":" + std::to_string(p.inode) + " of " + list.name;
            }
        }
        return std::nullopt;
    };
    if (c.actor_in) {
        auto m = actor_matches(**c.actor_in);
        if (!m) {
            return false;
        }
        ctx.matched = *m;
    }
    if (c.actor_not_in && actor_matches(**c.actor_not_in)) {
        return false;
    }
    if (c.parent_in || c.parent_not_in) {
        if (!ctx.parent_done) {
            ctx.parent = table_.find(ev.ppid);
            ctx.parent_done = true;
        }
        const bool in_list = [&] {
            const auto& l = c.parent_in ? **c.parent_in : **c.parent_not_in;
            return ctx.parent != nullptr && l.match(ctx.parent->exe).has_value();
        }();
        if (c.parent_in && !in_list) {
            return false;
        }
        if (c.parent_not_in) {
            // An unknown parent is not a known manager: report rather than trust.
            const bool known_manager = ctx.parent != nullptr && (*c.parent_not_in)->match(ctx.parent->exe).has_value();
            if (known_manager) {
                return false;
            }
        }
    }
    if (c.ancestor_in) {
        if (!ctx.ancestry_done) {
            ctx.ancestry = table_.ancestry(ev.ppid, ancestry_depth_);
            ctx.ancestry_done = true;
        }
        const bool any = std::any_of(ctx.ancestry.begin(), ctx.ancestry.end(), [&](const proc::ProcessInfo* p) {
            return (*c.ancestor_in)->match(p->exe).has_value();
        });
        if (!any) {
            return false;
        }
    }
    if (c.in_container) {
        if (!ctx.container_done) {
            ctx.container = containers_.for_process(table_, ev.pid, ancestry_depth_);
            ctx.container_done = true;
        }
        if (ctx.container.has_value() != *c.in_container) {
            return false;
        }
    }
    return true;
}

void Engine::evaluate(const Rule& rule, Context& ctx) {
    if (!holds(rule.match, ctx)) {
        return;
    }
    for (const auto& ex : rule.exceptions) {
        if (holds(ex, ctx)) {
            ++stats_.suppressed;
            return;
        }
    }
    ++stats_.matches;
    out_.dispatch(build_alert(rule, ctx));
}

Alert Engine::build_alert(const Rule& rule, Context& ctx) {
    const audit::Event& ev = ctx.ev;
    Alert a;
    a.time = audit::rfc3339(ev.sec, ev.milli);
    a.host = host_;
    a.rule_id = rule.id;
    a.severity = rule.severity;
    a.mitre = rule.mitre;
    a.tags = rule.tags;
    a.serial = ev.serial;
    a.key = ev.key;
    a.process.pid = ev.pid;
    a.process.ppid = ev.ppid;
    a.process.exe = ev.exe;
    a.process.comm = ev.comm;
    a.process.argv = ctx.argv;
    a.process.uid = ev.uid;
    a.process.auid = ev.auid;
    if (!ctx.ancestry_done) {
        ctx.ancestry = table_.ancestry(ev.ppid, ancestry_depth_);
        ctx.ancestry_done = true;
    }
    for (const auto* p : ctx.ancestry) {
        a.ancestry.push_back(to_ref(*p));
    }
    if (!ctx.container_done) {
        ctx.container = containers_.for_process(table_, ev.pid, ancestry_depth_);
        ctx.container_done = true;
    }
    a.container = ctx.container;
    if (ev.is_exec()) {
        a.file = FileRef{ev.exe, "exec"};
    }

    const proc::ProcessInfo* parent = ctx.ancestry.empty() ? nullptr : ctx.ancestry.front();
    std::string& s = a.summary;
    const std::string& t = rule.summary;
    std::size_t pos = 0;
    while (pos < t.size()) {
        const auto open = t.find('{', pos);
        if (open == std::string::npos) {
            s.append(t, pos);
            break;
        }
        s.append(t, pos, open - pos);
        const auto close = t.find('}', open);
        const std::string name = t.substr(open + 1, close - open - 1);
        if (name == "process.exe") {
            s += ev.exe;
        } else if (name == "process.pid") {
            s += std::to_string(ev.pid);
        } else if (name == "process.comm") {
            s += ev.comm;
        } else if (name == "process.cmdline") {
            s += join(ctx.argv);
        } else if (name == "parent.exe") {
            s += parent != nullptr ? parent->exe : std::string("(unknown, pid ") + std::to_string(ev.ppid) + ")";
        } else if (name == "parent.pid") {
            s += std::to_string(ev.ppid);
        } else if (name == "parent.cmdline") {
            s += parent != nullptr ? join(parent->argv) : std::string("?");
        } else if (name == "matched") {
            s += ctx.matched;
        } else if (name == "container.id") {
            s += a.container ? a.container->id : std::string("host");
        } else if (name == "container.name") {
            s += a.container && a.container->name ? *a.container->name : std::string("-");
        } else if (name == "event.key") {
            s += ev.key.value_or("-");
        } else if (name == "rule.id") {
            s += rule.id;
        }
        pos = close + 1;
    }
    return a;
}

}  // namespace adock::rules
