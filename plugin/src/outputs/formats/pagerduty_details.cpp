// SPDX-License-Identifier: Apache-2.0
// PagerDuty's custom_details: the alert's full record, shown as it is in the incident.
//
// Limits: the event's 512 KB. One detail::Budget gives all strings together 256 KB of JSON
// bytes; each string is at most 4096 UTF-16 units and 16 KB, each list at most 32 items, argv
// 64 (a parent's 16), ancestry 8: every string is display text (Escape::Display).
#include "outputs/formats/pagerduty_details.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "outputs/formats/text.hpp"

namespace adock::outputs::detail {
namespace {

constexpr std::size_t kPagerDutyDetailsBytes = std::size_t{256} * 1024;
constexpr std::size_t kPagerDutyStringUnits = 4096;
constexpr std::size_t kPagerDutyStringBytes = std::size_t{16} * 1024;
constexpr std::size_t kPagerDutyArgvMax = 64;
constexpr std::size_t kPagerDutyParentArgvMax = 16;
constexpr std::size_t kPagerDutyListMax = 32;
constexpr std::size_t kPagerDutyAncestryMax = 8;

}  // namespace

void write_pagerduty_details(util::JsonWriter& w, const Alert& a) {
    Budget budget(kUnlimited, kPagerDutyDetailsBytes);
    const auto str = [&](std::string_view s) {
        return budget.take(s, kPagerDutyStringUnits, kPagerDutyStringBytes, Escape::Display);
    };
    const auto list =
        [&](util::JsonWriter& out, const std::vector<std::string>& v, std::size_t max_items) {
            out.begin_array();
            for (std::size_t i = 0; i < v.size() && i < max_items; ++i) {
                out.value(str(v[i]));
            }
            out.end_array();
        };
    const auto optional_str = [&](util::JsonWriter& out, const std::optional<std::string>& v) {
        if (v) {
            out.value(str(*v));
        } else {
            out.null();
        }
    };

    w.begin_object();
    w.key("rule").value(str(a.rule_id));
    w.key("severity").value(severity_name(a.severity));
    w.key("summary").value(str(a.summary));
    w.key("time").value(str(a.time));
    w.key("host").value(str(a.host));
    w.key("mitre");
    list(w, a.mitre, kPagerDutyListMax);
    w.key("tags");
    list(w, a.tags, kPagerDutyListMax);
    w.key("process").begin_object();
    w.key("exe").value(str(a.process.exe));
    w.key("pid").value(a.process.pid);
    w.key("ppid").value(a.process.ppid);
    w.key("comm").value(str(a.process.comm));
    if (a.process.uid) {
        w.key("uid").value(*a.process.uid);
    }
    if (a.process.auid) {
        w.key("auid").value(*a.process.auid);
    }
    w.key("argc").value(a.process.argv.size());
    w.key("argv");
    list(w, a.process.argv, kPagerDutyArgvMax);
    w.end_object();
    if (!a.ancestry.empty()) {
        const ProcessRef& p = a.ancestry.front();
        w.key("parent").begin_object();
        w.key("exe").value(str(p.exe));
        w.key("pid").value(p.pid);
        w.key("comm").value(str(p.comm));
        w.key("argv");
        list(w, p.argv, kPagerDutyParentArgvMax);
        w.end_object();
        w.key("ancestry").begin_array();
        for (std::size_t i = 0; i < a.ancestry.size() && i < kPagerDutyAncestryMax; ++i) {
            w.value(str(process_text(a.ancestry[i])));
        }
        w.end_array();
    }
    w.key("container");
    if (a.container) {
        w.begin_object();
        w.key("id").value(str(a.container->id));
        w.key("runtime").value(str(a.container->runtime));
        w.key("namespace");
        optional_str(w, a.container->ns);
        w.key("name");
        optional_str(w, a.container->name);
        w.key("image");
        optional_str(w, a.container->image);
        w.end_object();
    } else {
        w.null();
    }
    if (a.initiator) {
        const InitiatorRef& i = *a.initiator;
        w.key("initiator").begin_object();
        w.key("text").value(str(initiator_text(a)));
        if (i.ambiguous) {
            w.key("ambiguous").value(true);
            w.key("candidates").begin_array();
            for (std::size_t k = 0; k < i.candidates.size() && k < kPagerDutyListMax; ++k) {
                w.begin_object();
                w.key("pid").value(i.candidates[k].pid);
                w.key("exe").value(str(i.candidates[k].exe));
                w.end_object();
            }
            w.end_array();
        } else {
            w.key("pid").value(i.pid);
            w.key("exe").value(str(i.exe));
            w.key("argv");
            list(w, i.argv, kPagerDutyArgvMax);
            if (i.auid) {
                w.key("auid").value(*i.auid);
            }
            if (i.uid) {
                w.key("uid").value(*i.uid);
            }
        }
        w.end_object();
    }
    if (a.file) {
        w.key("file").begin_object();
        w.key("path").value(str(a.file->path));
        w.key("operation").value(str(a.file->operation));
        w.end_object();
    }
    if (a.seccomp) {
        w.key("seccomp").begin_object();
        w.key("syscall").value(str(a.seccomp->syscall));
        w.key("action").value(str(a.seccomp->action));
        w.end_object();
    }
    if (a.integrity) {
        w.key("integrity").begin_object();
        w.key("sha256").value(str(a.integrity->sha256));
        w.key("size").value(a.integrity->size);
        w.key("recognized_as");
        optional_str(w, a.integrity->recognized_as);
        w.key("trusted").value(a.integrity->trusted);
        w.key("trusted_by");
        optional_str(w, a.integrity->trusted_by);
        w.key("change");
        optional_str(w, a.integrity->change);
        w.end_object();
    }
    if (a.syscall) {
        w.key("syscall").value(str(*a.syscall));
    }
    if (a.success) {
        w.key("success").value(*a.success);
    }
    if (a.exit) {
        w.key("exit").value(*a.exit);
    }
    if (!a.remediation.empty()) {
        w.key("remediation").value(str(a.remediation));
    }
    w.key("serial").value(a.serial);
    w.key("key");
    optional_str(w, a.key);
    if (a.count) {
        w.key("count").value(*a.count);
    }
    w.end_object();
}

}  // namespace adock::outputs::detail
