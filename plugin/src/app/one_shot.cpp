// SPDX-License-Identifier: Apache-2.0
#include "app/one_shot.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "integrity/monitor.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/delivery_sink.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/catalogue.hpp"
#include "rules/engine.hpp"
#include "util/json.hpp"

namespace adock::app {

/// --scan: compares the baseline with the disk once, sends integrity_drift alerts through the
/// configured outputs, updates the baseline, prints a summary. Exit 0 without differences, 2 with.
int run_scan(Generation loaded) {
    outputs::Dispatcher out;
    out.configure(loaded.cfg.host.empty() ? rules::local_host_name() : loaded.cfg.host,
                  loaded.cfg.degraded_spool_percent);
    (void)out.replace(std::move(loaded.sinks));
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
                st.baseline_files,
                ic.state_file.c_str(),
                st.drift,
                engine.stats().matches);
    return st.drift == 0 ? 0 : 2;
}

/// --test-output NAME: one sample alert to one output, synchronously, bypassing its routing,
/// dedup, rate limit and spool; prints what the endpoint answered.
int run_test_output(const Generation& loaded, const std::string& name) {
    const auto& outs = loaded.cfg.outputs;
    const auto it = std::find_if(
        outs.begin(), outs.end(), [&](const config::OutputConfig& o) { return o.name == name; });
    if (it == outs.end()) {
        std::string names;
        for (const auto& o : outs) {
            names += names.empty() ? "" : ", ";
            names += o.name;
        }
        std::fprintf(stderr,
                     "no output named '%s' (outputs: %s)\n",
                     name.c_str(),
                     names.empty() ? "none" : names.c_str());
        return 1;
    }
    config::OutputConfig cfg = *it;
    cfg.spool_dir.clear();
    Alert a;
    a.time = outputs::now_rfc3339();
    a.time_ms = outputs::wall_ms();
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
        std::fprintf(
            stderr,
            "output '%s' (%s): %s\n",
            cfg.name.c_str(),
            config::output_type_name(cfg.type),
            ok ? "sample alert written" : "the sample alert could not be written (see above)");
        return ok ? 0 : 1;
    }
    const auto started = std::chrono::steady_clock::now();
    const outputs::SendResult r = delivery->send_once(msg);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
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
    std::fprintf(stderr,
                 "output '%s' (%s) -> %s: %s, %s in %lld ms%s%s\n",
                 cfg.name.c_str(),
                 config::output_type_name(cfg.type),
                 delivery->target().c_str(),
                 verdict,
                 r.detail.c_str(),
                 static_cast<long long>(ms.count()),
                 answer.empty() ? "" : "; answer: ",
                 answer.c_str());
    return r.kind == outputs::SendResult::Kind::Delivered ? 0 : 1;
}

std::string check_ok_json(const std::string& config_path, const Generation& g) {
    std::size_t enabled = 0;
    for (const auto& r : g.rules->rules) {
        enabled += r.enabled ? 1 : 0;
    }
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("ok").value(true);
    w.key("file").value(config_path);
    w.key("outputs").value(g.cfg.outputs.size());
    w.key("rules").value(g.rules->rules.size());
    w.key("rules_enabled").value(enabled);
    w.key("rules_from").value(rules::describe_origin(*g.rules));
    w.key("diagnostics").begin_array();
    w.end_array();
    w.end_object();
    return out;
}

std::string check_error_json(const std::string& config_path, const config::ConfigError& e) {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("ok").value(false);
    w.key("file").value(config_path);
    w.key("diagnostics").begin_array();
    w.begin_object();
    w.key("severity").value("error");
    w.key("code").value(e.code());
    w.key("file").value(e.file());
    w.key("line").value(e.line());
    w.key("col").value(e.col());
    w.key("message").value(std::string_view(e.what()));
    w.end_object();
    w.end_array();
    w.end_object();
    return out;
}

}  // namespace adock::app
