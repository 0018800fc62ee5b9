// SPDX-License-Identifier: Apache-2.0
// The Falco JSON event (json_output: true) that falcosidekick consumes, with source "auditd":
// time with nanoseconds, a Falco priority word, an output line like Falco's own, and non-empty
// output_fields whose values are all strings (Falco field names where one exists, "audit.*"
// otherwise), so falcosidekick accepts it and its chat outputs show them.
//
// Limits: none documented by Falco or falcosidekick; these keep the chat outputs behind sidekick
// sane: each field 2048 UTF-16 units / 8 KB, the output line 4096 / 16 KB (each part of it 256,
// the summary 1024), at most 64 tags of 128, argv 64 items, hostname 255. The values are raw
// (Escape::None: valid UTF-8 only); the output line, tags and hostname are one line.
#include <string>
#include <utility>
#include <vector>

#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "outputs/formats/text.hpp"
#include "util/json.hpp"

namespace adock::outputs {

using detail::container_id_or_host;
using detail::Escape;
using detail::file_text;
using detail::fit;
using detail::image_repository;
using detail::join_all;
using detail::join_capped;
using detail::normalized_time;
using detail::raw_cap_for;
using detail::seccomp_text;

namespace {

const char* falco_priority(Severity s) {
    switch (s) {
        case Severity::Critical:
            return "Critical";
        case Severity::High:
            return "Error";
        case Severity::Medium:
            return "Warning";
        case Severity::Low:
            return "Notice";
        case Severity::Info:
            return "Informational";
    }
    return "Informational";
}

// Falco / falcosidekick: no documented limits; these keep chat outputs behind sidekick sane.
constexpr std::size_t kFalcoFieldUnits = 2048;
constexpr std::size_t kFalcoFieldBytes = 8192;
constexpr std::size_t kFalcoOutputUnits = 4096;
constexpr std::size_t kFalcoOutputBytes = 16384;
constexpr std::size_t kFalcoOutputPartMax = 256;
constexpr std::size_t kFalcoSummaryPartMax = 1024;
constexpr std::size_t kFalcoTagMax = 128;
constexpr std::size_t kFalcoTagsMax = 64;
constexpr std::size_t kFalcoArgvMax = 64;
constexpr std::size_t kHostMax = 255;

/// output_fields: Falco's field names where one exists, "audit.*" otherwise; every value a string.
std::vector<std::pair<const char*, std::string>> falco_fields(const Alert& a) {
    const std::string cmdline =
        join_capped(a.process.argv, " ", kFalcoArgvMax, raw_cap_for(kFalcoFieldUnits));
    std::vector<std::pair<const char*, std::string>> fields;
    const auto field = [&](const char* key, const std::string& raw) {
        if (!raw.empty()) {
            fields.emplace_back(key, fit(raw, kFalcoFieldUnits, kFalcoFieldBytes, Escape::None));
        }
    };
    field("evt.type", a.syscall ? *a.syscall : (a.seccomp ? a.seccomp->syscall : std::string()));
    if (a.exit) {
        field("evt.rawres", std::to_string(*a.exit));
    }
    if (a.success) {
        field("evt.failed", *a.success ? "false" : "true");
    }
    field("proc.exepath", a.process.exe);
    field("proc.name", a.process.comm);
    field("proc.pid", std::to_string(a.process.pid));
    if (a.process.ppid >= 0) {
        field("proc.ppid", std::to_string(a.process.ppid));
    }
    field("proc.cmdline", cmdline);
    if (!a.ancestry.empty()) {
        const ProcessRef& p = a.ancestry.front();
        field("proc.pexepath", p.exe);
        field("proc.pname", p.comm);
        field("proc.pcmdline",
              join_capped(p.argv, " ", kFalcoArgvMax, raw_cap_for(kFalcoFieldUnits)));
    }
    if (a.process.uid) {
        field("user.uid", std::to_string(*a.process.uid));
    }
    if (a.process.auid) {
        field("user.loginuid", std::to_string(*a.process.auid));
    }
    field("container.id", container_id_or_host(a));
    if (a.container) {
        field("container.name", a.container->name.value_or(""));
        field("container.image", a.container->image.value_or(""));
        field("container.image.repository",
              a.container->image ? image_repository(*a.container->image) : "");
        field("container.type", a.container->runtime);
        field("audit.container.namespace", a.container->ns.value_or(""));
    }
    field("audit.initiator", initiator_text(a));
    if (a.file) {
        field("fd.name", a.file->path);
        field("audit.file.operation", a.file->operation);
    }
    if (a.seccomp) {
        field("audit.seccomp.syscall", a.seccomp->syscall);
        field("audit.seccomp.action", a.seccomp->action);
    }
    if (a.integrity) {
        field("audit.integrity.sha256", a.integrity->sha256);
        field("audit.integrity.recognized_as", a.integrity->recognized_as.value_or(""));
        field("audit.integrity.trusted", a.integrity->trusted ? "true" : "false");
        field("audit.integrity.trusted_by", a.integrity->trusted_by.value_or(""));
        field("audit.integrity.change", a.integrity->change.value_or(""));
    }
    field("audit.severity", severity_name(a.severity));
    field("audit.mitre", join_all(a.mitre, kFalcoFieldUnits));
    field("audit.serial", std::to_string(a.serial));
    field("audit.key", a.key.value_or(""));
    if (a.count) {
        field("audit.count", std::to_string(*a.count));
    }
    field("audit.remediation", a.remediation);
    return fields;
}

/// "<time>: <Priority> <summary> (rule=… host=… …)", like Falco's own output line.
std::string falco_output(const Alert& a, const std::string& time) {
    const auto part = [](std::string_view s) { return fit(s, kFalcoOutputPartMax, Escape::Line); };
    std::string output =
        time + ": " + falco_priority(a.severity) + " " +
        fit(a.summary, kFalcoSummaryPartMax, Escape::Line) + " (rule=" + part(a.rule_id) +
        " host=" + part(a.host) + " exe=" + part(a.process.exe) +
        " pid=" + std::to_string(a.process.pid) + " cmdline=" +
        part(join_capped(a.process.argv, " ", kFalcoArgvMax, raw_cap_for(kFalcoOutputPartMax))) +
        " container=" + part(container_id_or_host(a));
    if (a.file) {
        output += " file=" + part(file_text(a));
    }
    if (a.seccomp) {
        output += " seccomp=" + part(seccomp_text(a));
    }
    output += ")";
    return fit(output, kFalcoOutputUnits, kFalcoOutputBytes, Escape::Line);
}

}  // namespace

std::string falco_payload(const Alert& a) {
    // Unparsable times cannot come from the engine (it writes them); the epoch keeps the event
    // acceptable to falcosidekick, which rejects a zero time, and shows the fault plainly.
    const std::string time = normalized_time(a.time, 9).value_or("1970-01-01T00:00:00.000000000Z");

    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("time").value(time);
    w.key("rule").value(fit(a.rule_id, kFalcoFieldUnits, kFalcoFieldBytes, Escape::None));
    w.key("priority").value(falco_priority(a.severity));
    w.key("output").value(falco_output(a, time));
    w.key("output_fields").begin_object();
    for (const auto& [k, v] : falco_fields(a)) {
        w.key(k).value(v);
    }
    w.end_object();
    w.key("source").value("auditd");
    w.key("tags").begin_array();
    std::size_t n = 0;
    for (const auto* list : {&a.tags, &a.mitre}) {
        for (const auto& t : *list) {
            if (n < kFalcoTagsMax && !t.empty()) {
                w.value(fit(t, kFalcoTagMax, Escape::Line));
                ++n;
            }
        }
    }
    w.end_array();
    w.key("hostname").value(fit(a.host, kHostMax, Escape::Line));
    w.end_object();
    return out;
}

}  // namespace adock::outputs
