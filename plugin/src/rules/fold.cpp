// SPDX-License-Identifier: Apache-2.0
#include "rules/fold.hpp"

#include <algorithm>
#include <functional>
#include <string_view>

#include "audit/argv_budget.hpp"

namespace adock::rules {
namespace {

const char* label(const std::string& field, bool plural) {
    if (field == "process.cmdline") {
        return plural ? "command lines" : "command line";
    }
    if (field == "file.path") {
        return plural ? "paths" : "path";
    }
    if (field == "process.exe") {
        return plural ? "programs" : "program";
    }
    if (field == "seccomp.syscall" || field == "event.syscall") {
        return plural ? "syscalls" : "syscall";
    }
    return plural ? "sources" : "source";
}

}  // namespace

const std::vector<std::string>& fold_fields() {
    static const std::vector<std::string> kFields{
        "process.cmdline", "file.path", "seccomp.syscall", "event.syscall", "process.exe"};
    return kFields;
}

std::string fold_source(const Alert& a) {
    if (a.container) {
        return "c:" + a.container->id;
    }
    return "u:" + (a.process.uid ? std::to_string(*a.process.uid) : std::string("?")) + '\x1f' +
           a.process.exe;
}

std::optional<FoldValue> fold_value(const Alert& a, const std::string& field) {
    std::string v;
    if (field == "process.cmdline") {
        if (a.process.argv.empty()) {
            return std::nullopt;
        }
        v = audit::join_argv(a.process.argv);
        // A cut argv is told apart by the whole argv's hash, not by the part that was kept.
        std::string whole =
            a.process.truncated && !a.process.argv_sha256.empty() ? a.process.argv_sha256 + v : v;
        return FoldValue{std::move(whole), audit::bounded_text(v, DistinctTracker::kValueBytes)};
    }
    if (field == "file.path") {
        if (!a.file || a.file->path.empty()) {
            return std::nullopt;
        }
        v = a.file->path;
    } else if (field == "seccomp.syscall") {
        if (!a.seccomp) {
            return std::nullopt;
        }
        v = a.seccomp->syscall;
    } else if (field == "event.syscall") {
        if (!a.syscall) {
            return std::nullopt;
        }
        v = *a.syscall;
    } else if (field == "process.exe") {
        v = a.process.exe;
    } else {
        return std::nullopt;
    }
    std::string shown = audit::bounded_text(v, DistinctTracker::kValueBytes);
    return FoldValue{std::move(v), std::move(shown)};
}

void DistinctTracker::add(const Alert& a) {
    auto v = fold_value(a, field_);
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
    return DistinctValues{field_, values_, distinct_, capped_};
}

void DistinctTracker::describe(std::string& summary) const {
    if (values_.empty()) {
        return;
    }
    summary += "; ";
    summary += capped_ ? "at least " : "";
    summary += std::to_string(distinct_) + " distinct " + label(field_, distinct_ != 1) + ": ";
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
