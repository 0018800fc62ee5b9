// SPDX-License-Identifier: Apache-2.0
// Opsgenie's details: a string-to-string map shown beside the alert.
//
// Limits: keys and values together at most 8000 characters (one detail::Budget spends them,
// the most useful first: a key goes in only with room for one character of its value), each
// value at most 1024; every value is display text (Escape::Display).
#include "outputs/formats/opsgenie_details.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "outputs/formats.hpp"
#include "outputs/formats/text.hpp"

namespace adock::outputs::detail {
namespace {

constexpr std::size_t kOpsgenieDetailsMax = 8000;
constexpr std::size_t kOpsgenieDetailValueMax = 1024;

}  // namespace

std::vector<std::pair<std::string, std::string>> opsgenie_details(const Alert& a) {
    Budget budget(kOpsgenieDetailsMax, kUnlimited);
    std::vector<std::pair<std::string, std::string>> details;
    const auto detail = [&](std::string_view key, const std::string& raw) {
        if (raw.empty() || budget.units_left() < units_of(key) + 1) {
            return;
        }
        budget.spend(key);
        details.emplace_back(
            key, budget.take(raw, kOpsgenieDetailValueMax, kUnlimited, Escape::Display));
    };
    detail("host", a.host);
    detail("rule", a.rule_id);
    detail("severity", severity_name(a.severity));
    detail("exe", a.process.exe);
    detail("pid", std::to_string(a.process.pid));
    if (a.container) {
        detail("container_id", a.container->id);
        detail("container_name", a.container->name.value_or(""));
        detail("container_image", a.container->image.value_or(""));
        detail("container_runtime", a.container->runtime);
        detail("container_namespace", a.container->ns.value_or(""));
    } else {
        detail("container_id", "host");
    }
    detail("initiator", initiator_text(a));
    if (a.file) {
        detail("file", a.file->path);
        detail("file_operation", a.file->operation);
    }
    if (a.seccomp) {
        detail("seccomp_syscall", a.seccomp->syscall);
        detail("seccomp_action", a.seccomp->action);
    }
    detail("mitre", join_all(a.mitre, kOpsgenieDetailValueMax));
    detail("time", a.time);
    detail("serial", std::to_string(a.serial));
    detail("key", a.key.value_or(""));
    detail("count", a.count ? std::to_string(*a.count) : std::string());
    detail("syscall", a.syscall.value_or(""));
    if (a.success) {
        detail("success", *a.success ? "yes" : "no");
    }
    detail("exit", a.exit ? std::to_string(*a.exit) : std::string());
    if (a.process.ppid >= 0) {
        detail("ppid", std::to_string(a.process.ppid));
    }
    detail("comm", a.process.comm);
    detail("uid", a.process.uid ? std::to_string(*a.process.uid) : std::string());
    detail("auid", a.process.auid ? std::to_string(*a.process.auid) : std::string());
    if (!a.ancestry.empty()) {
        detail("parent_exe", a.ancestry.front().exe);
        detail("parent_pid", std::to_string(a.ancestry.front().pid));
    }
    if (a.integrity) {
        detail("sha256", a.integrity->sha256);
        detail("recognized_as", a.integrity->recognized_as.value_or(""));
        detail("trusted", a.integrity->trusted ? "yes" : "no");
        detail("trusted_by", a.integrity->trusted_by.value_or(""));
        detail("change", a.integrity->change.value_or(""));
    }
    detail("remediation", a.remediation);
    detail("cmdline",
           join_capped(a.process.argv, " ", kUnlimited, raw_cap_for(kOpsgenieDetailValueMax)));
    return details;
}

}  // namespace adock::outputs::detail
