// SPDX-License-Identifier: Apache-2.0
#include "alert/alert.hpp"

#include <array>
#include <cstdio>

#include "util/json.hpp"

namespace adock {

const char* severity_name(Severity s) {
    switch (s) {
        case Severity::Info:
            return "info";
        case Severity::Low:
            return "low";
        case Severity::Medium:
            return "medium";
        case Severity::High:
            return "high";
        case Severity::Critical:
            return "critical";
    }
    return "info";
}

std::optional<Severity> parse_severity(std::string_view s) {
    if (s == "info") {
        return Severity::Info;
    }
    if (s == "low") {
        return Severity::Low;
    }
    if (s == "medium") {
        return Severity::Medium;
    }
    if (s == "high") {
        return Severity::High;
    }
    if (s == "critical") {
        return Severity::Critical;
    }
    return std::nullopt;
}

namespace {

void write_argv(util::JsonWriter& w, const std::vector<std::string>& argv) {
    w.begin_array();
    for (const auto& a : argv) {
        w.value(a);
    }
    w.end_array();
}

/// `truncated`, `argv_sha256` and `argc` of a process whose argv was cut (DESIGN.md).
void write_cut(util::JsonWriter& w, const ProcessRef& p) {
    if (!p.truncated) {
        return;
    }
    w.key("truncated").value(true);
    if (!p.argv_sha256.empty()) {
        w.key("argv_sha256").value(p.argv_sha256);
    }
    if (p.argc > 0) {
        w.key("argc").value(p.argc);
    }
}

void write_optional(util::JsonWriter& w, const std::optional<std::string>& v) {
    if (v) {
        w.value(*v);
    } else {
        w.null();
    }
}

void write_id(util::JsonWriter& w, const std::optional<std::uint32_t>& v) {
    if (v) {
        w.value(*v);
    } else {
        w.null();
    }
}

/// `{pid, exe, argv, auid, uid, user}`, or `{ambiguous: true, candidates: [...]}`.
/// {sha256, size, mode, uid, gid}; sha256 null when the file was not hashed (not regular, over
/// the budget).
void write_file_state(util::JsonWriter& w, const FileState& f) {
    w.begin_object();
    w.key("sha256");
    if (f.sha256.empty()) {
        w.null();
    } else {
        w.value(f.sha256);
    }
    w.key("size").value(f.size);
    std::array<char, 8> mode{};
    std::snprintf(mode.data(), mode.size(), "%04o", f.mode);
    w.key("mode").value(mode.data());
    w.key("uid").value(f.uid);
    w.key("gid").value(f.gid);
    w.end_object();
}

void write_initiator(util::JsonWriter& w, const InitiatorRef& i) {
    w.begin_object();
    if (i.ambiguous) {
        w.key("ambiguous").value(true);
        w.key("candidates").begin_array();
        for (const auto& c : i.candidates) {
            write_initiator(w, c);
        }
        w.end_array();
        w.end_object();
        return;
    }
    w.key("pid").value(i.pid);
    w.key("exe").value(i.exe);
    w.key("argv");
    write_argv(w, i.argv);
    if (i.truncated) {
        w.key("truncated").value(true);
    }
    w.key("auid");
    write_id(w, i.auid);
    w.key("uid");
    write_id(w, i.uid);
    w.key("user");
    write_optional(w, i.user);
    w.end_object();
}

}  // namespace

std::string to_json(const Alert& a) {
    std::string out;
    out.reserve(1024);
    util::JsonWriter w(out);
    w.begin_object();
    w.key("time").value(a.time);
    w.key("host").value(a.host);
    w.key("rule").begin_object();
    w.key("id").value(a.rule_id);
    w.key("severity").value(severity_name(a.severity));
    w.key("mitre").begin_array();
    for (const auto& m : a.mitre) {
        w.value(m);
    }
    w.end_array();
    w.key("tags").begin_array();
    for (const auto& t : a.tags) {
        w.value(t);
    }
    w.end_array();
    w.end_object();
    w.key("summary").value(a.summary);
    w.key("event").begin_object();
    w.key("serial").value(a.serial);
    w.key("key");
    write_optional(w, a.key);
    if (a.syscall) {
        w.key("syscall").value(*a.syscall);
    }
    if (a.success) {
        w.key("success").value(*a.success);
    }
    if (a.exit) {
        w.key("exit").value(*a.exit);
    }
    w.end_object();

    w.key("process").begin_object();
    w.key("pid").value(a.process.pid);
    w.key("ppid").value(a.process.ppid);
    w.key("exe").value(a.process.exe);
    w.key("comm").value(a.process.comm);
    w.key("argv");
    write_argv(w, a.process.argv);
    write_cut(w, a.process);
    w.key("uid");
    if (a.process.uid) {
        w.value(*a.process.uid);
    } else {
        w.null();
    }
    w.key("auid");
    if (a.process.auid) {
        w.value(*a.process.auid);
    } else {
        w.null();
    }
    w.end_object();

    w.key("ancestry").begin_array();
    for (const auto& p : a.ancestry) {
        w.begin_object();
        w.key("pid").value(p.pid);
        w.key("exe").value(p.exe);
        w.key("comm").value(p.comm);
        w.key("argv");
        write_argv(w, p.argv);
        write_cut(w, p);
        w.end_object();
    }
    w.end_array();

    w.key("container");
    if (a.container) {
        const auto nonempty = [](const std::string& s) {
            return s.empty() ? std::nullopt : std::optional<std::string>(s);
        };
        w.begin_object();
        w.key("id");
        write_optional(w, nonempty(a.container->id));
        w.key("runtime");
        write_optional(w, nonempty(a.container->runtime));
        w.key("namespace");
        write_optional(w, a.container->ns);
        w.key("name");
        write_optional(w, a.container->name);
        w.key("image");
        write_optional(w, a.container->image);
        w.key("pod");
        write_optional(w, a.container->pod);
        w.key("pod_namespace");
        write_optional(w, a.container->pod_namespace);
        if (a.container->id.empty()) {
            w.key("attribution").value("unknown");
        }
        w.end_object();
    } else {
        w.null();
    }

    if (a.file) {
        w.key("file").begin_object();
        w.key("path").value(a.file->path);
        w.key("operation").value(a.file->operation);
        if (a.file->same_as) {
            w.key("same_as").value(*a.file->same_as);
        }
        w.end_object();
    }
    if (a.seccomp) {
        w.key("seccomp").begin_object();
        w.key("syscall").value(a.seccomp->syscall);
        w.key("action").value(a.seccomp->action);
        w.end_object();
    }
    if (a.initiator) {
        w.key("initiator");
        write_initiator(w, *a.initiator);
    }
    if (a.image_diff) {
        const ImageDiffRef& d = *a.image_diff;
        w.key("image_diff").begin_object();
        w.key("path").value(d.path);
        for (const auto& [name, st] : {std::pair{"image", &d.image}, std::pair{"now", &d.now}}) {
            w.key(name);
            if (st->has_value()) {
                write_file_state(w, **st);
            } else {
                w.null();
            }
        }
        w.key("verdict").value(d.verdict);
        if (d.reason) {
            w.key("reason").value(*d.reason);
        }
        w.end_object();
    }
    if (a.integrity) {
        w.key("integrity").begin_object();
        w.key("sha256").value(a.integrity->sha256);
        w.key("size").value(a.integrity->size);
        w.key("recognized_as");
        write_optional(w, a.integrity->recognized_as);
        w.key("trusted").value(a.integrity->trusted);
        if (a.integrity->trusted_by) {
            w.key("trusted_by").value(*a.integrity->trusted_by);
        }
        if (a.integrity->change) {
            w.key("change").value(*a.integrity->change);
        }
        for (const auto& [name, st] :
             {std::pair{"before", &a.integrity->before}, std::pair{"after", &a.integrity->after}}) {
            if (st->has_value()) {
                w.key(name);
                write_file_state(w, **st);
            }
        }
        w.end_object();
    }
    if (!a.coverage.empty()) {
        w.key("coverage").begin_object();
        for (const auto& [name, value] : a.coverage) {
            w.key(name).value(value);
        }
        w.end_object();
    }
    if (a.count) {
        w.key("count").value(*a.count);
    }
    if (!a.distinct.empty()) {
        w.key("distinct").begin_object();
        for (const auto& d : a.distinct) {
            w.key(d.field).begin_object();
            w.key("count").value(d.distinct);
            if (d.capped) {
                w.key("capped").value(true);
            }
            w.key("values");
            write_argv(w, d.values);
            w.end_object();
        }
        w.end_object();
    }
    if (a.repeats) {
        w.key("repeats").value(*a.repeats);
    }
    if (!a.remediation.empty()) {
        w.key("remediation").value(a.remediation);
    }
    w.end_object();
    return out;
}

}  // namespace adock
