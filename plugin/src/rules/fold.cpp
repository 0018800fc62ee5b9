// SPDX-License-Identifier: Apache-2.0
#include "rules/fold.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <string_view>

#include "audit/argv_budget.hpp"

namespace adock::rules {
namespace {

std::optional<FoldValue> whole_and_shown(std::string v) {
    std::string cut = audit::bounded_text(v, DistinctTracker::kValueBytes);
    return FoldValue{std::move(v), std::move(cut)};
}

std::optional<FoldValue> cmdline_value(const Alert& a) {
    if (a.process.argv.empty()) {
        return std::nullopt;
    }
    std::string v = audit::join_argv(a.process.argv);
    // A cut argv is told apart by the whole argv's hash, not by the part that was kept.
    std::string whole =
        a.process.truncated && !a.process.argv_sha256.empty() ? a.process.argv_sha256 + v : v;
    return FoldValue{std::move(whole), audit::bounded_text(v, DistinctTracker::kValueBytes)};
}

std::optional<FoldValue> path_value(const Alert& a) {
    if (!a.file || a.file->path.empty()) {
        return std::nullopt;
    }
    return whole_and_shown(a.file->path);
}

std::optional<FoldValue> seccomp_syscall_value(const Alert& a) {
    if (!a.seccomp) {
        return std::nullopt;
    }
    return whole_and_shown(a.seccomp->syscall);
}

std::optional<FoldValue> syscall_value(const Alert& a) {
    if (!a.syscall) {
        return std::nullopt;
    }
    return whole_and_shown(*a.syscall);
}

std::optional<FoldValue> exe_value(const Alert& a) {
    return whole_and_shown(a.process.exe);
}

const std::array<FoldField, 5> kFoldFields{{
    {"process.cmdline", "command line", "command lines", cmdline_value},
    {"file.path", "path", "paths", path_value},
    {"seccomp.syscall", "syscall", "syscalls", seccomp_syscall_value},
    {"event.syscall", "syscall", "syscalls", syscall_value},
    {"process.exe", "program", "programs", exe_value},
}};

std::string fold_source(const Alert& a) {
    if (a.container) {
        return "c:" + a.container->id;
    }
    return "u:" + (a.process.uid ? std::to_string(*a.process.uid) : std::string("?")) + '\x1f' +
           a.process.exe;
}

const std::array<ByField, 7> kByFields{{
    {"container.id",
     [](const Alert& a, std::string& key) {
         key += a.container ? a.container->id : std::string("host");
     }},
    {"seccomp.syscall",
     [](const Alert& a, std::string& key) {
         key += a.seccomp ? a.seccomp->syscall : std::string();
     }},
    {"event.syscall",
     [](const Alert& a, std::string& key) {
         // execve and execveat are one act (runc init re-executes itself with execveat).
         const std::string_view s = a.syscall ? std::string_view(*a.syscall) : std::string_view();
         key += s == "execveat" ? std::string_view("execve") : s;
     }},
    {"process.exe", [](const Alert& a, std::string& key) { key += a.process.exe; }},
    {"file.path",
     [](const Alert& a, std::string& key) { key += a.file ? a.file->path : std::string(); }},
    {"process.uid",
     [](const Alert& a, std::string& key) {
         key += a.process.uid ? std::to_string(*a.process.uid) : std::string("?");
     }},
    {"source", [](const Alert& a, std::string& key) { key += fold_source(a); }},
}};

template <typename Field, std::size_t N>
const Field* find_named(const std::array<Field, N>& table, std::string_view name) {
    const auto it =
        std::find_if(table.begin(), table.end(), [&](const Field& f) { return f.name == name; });
    return it == table.end() ? nullptr : &*it;
}

}  // namespace

std::span<const FoldField> fold_fields() {
    return kFoldFields;
}

const FoldField* find_fold_field(std::string_view name) {
    return find_named(kFoldFields, name);
}

std::vector<const FoldField*> default_fold_fields() {
    return {find_fold_field("process.cmdline"), find_fold_field("file.path")};
}

std::span<const ByField> by_fields() {
    return kByFields;
}

const ByField* find_by_field(std::string_view name) {
    return find_named(kByFields, name);
}

void DistinctTracker::add(const Alert& a) {
    auto v = field_->value(a);
    if (!v) {
        return;
    }
    const std::uint64_t h = std::hash<std::string_view>{}(v->whole);
    const auto it = std::lower_bound(hashes_.begin(), hashes_.end(), h);
    if (it != hashes_.end() && *it == h) {
        return;
    }
    if (hashes_.size() >= kMaxHashes) {
        capped_ = true;  // more values than remembered: the count is a lower bound
        return;
    }
    hashes_.insert(it, h);
    ++distinct_;
    if (values_.size() < kMaxValues) {
        values_.push_back(std::move(v->shown));
    }
}

DistinctValues DistinctTracker::report() const {
    return DistinctValues{std::string(field_->name), values_, distinct_, capped_};
}

void DistinctTracker::describe(std::string& summary) const {
    if (values_.empty()) {
        return;
    }
    summary += "; ";
    summary += capped_ ? "at least " : "";
    summary += std::to_string(distinct_) + " distinct ";
    summary += distinct_ != 1 ? field_->plural : field_->singular;
    summary += ": ";
    for (std::size_t i = 0; i < values_.size(); ++i) {
        summary += (i > 0 ? ", '" : "'") + values_[i] + "'";
    }
    if (distinct_ > values_.size()) {
        summary += " and " + std::to_string(distinct_ - values_.size()) + " more";
    }
}

std::size_t DistinctTracker::bytes() const {
    std::size_t n = sizeof(*this) + hashes_.capacity() * sizeof(std::uint64_t);
    for (const auto& v : values_) {
        n += v.capacity();
    }
    return n;
}

}  // namespace adock::rules
