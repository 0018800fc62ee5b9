// SPDX-License-Identifier: Apache-2.0
#include "rules/placeholders.hpp"

#include <algorithm>
#include <array>

#include "audit/argv_budget.hpp"
#include "rules/rule.hpp"

namespace adock::rules {
namespace {

/// `value`; nothing, its place kept, while it is being read; "-" when there is none.
void optional_name(const SummaryFacts& f,
                   const std::optional<std::string>* value,
                   SummaryField field,
                   std::string& out) {
    if (value != nullptr && value->has_value()) {
        out += **value;
    } else if (f.names_pending) {
        *f.deferred = field;
    } else {
        out += '-';
    }
}

void integrity_placeholder(const SummaryFacts& f, SummaryField field, std::string& out) {
    if (f.alert.integrity) {
        out += integrity_text(*f.alert.integrity, field);
    } else {  // filled in when the integrity monitor has looked
        *f.deferred = field;
    }
}

const std::array<Placeholder, 21> kPlaceholders{{
    {"process.exe", [](const SummaryFacts& f, std::string& out) { out += f.ev.exe; }},
    {"process.pid",
     [](const SummaryFacts& f, std::string& out) { out += std::to_string(f.ev.pid); }},
    {"process.comm", [](const SummaryFacts& f, std::string& out) { out += f.ev.comm; }},
    {"process.cmdline",
     [](const SummaryFacts& f, std::string& out) {
         out += audit::join_argv(f.alert.process.argv);
     }},
    {"parent.exe",
     [](const SummaryFacts& f, std::string& out) {
         out += f.parent != nullptr
                    ? f.parent->exe
                    : std::string("(unknown, pid ") + std::to_string(f.alert.process.ppid) + ")";
     }},
    {"parent.pid",
     [](const SummaryFacts& f, std::string& out) { out += std::to_string(f.alert.process.ppid); }},
    {"parent.cmdline",
     [](const SummaryFacts& f, std::string& out) {
         out += f.alert.ancestry.empty() ? std::string("?")
                                         : audit::join_argv(f.alert.ancestry.front().argv);
     }},
    {"matched", [](const SummaryFacts& f, std::string& out) { out += f.matched; }},
    {"container.id",
     [](const SummaryFacts& f, std::string& out) {
         const auto& c = f.alert.container;
         out += c ? (c->id.empty() ? std::string("unknown") : c->id) : std::string("host");
     }},
    {"container.name",
     [](const SummaryFacts& f, std::string& out) {
         optional_name(f,
                       f.alert.container ? &f.alert.container->name : nullptr,
                       SummaryField::ContainerName,
                       out);
     }},
    {"container.image",
     [](const SummaryFacts& f, std::string& out) {
         optional_name(f,
                       f.alert.container ? &f.alert.container->image : nullptr,
                       SummaryField::ContainerImage,
                       out);
     }},
    {"event.key", [](const SummaryFacts& f, std::string& out) { out += f.ev.key.value_or("-"); }},
    {"event.result",
     [](const SummaryFacts& f, std::string& out) {
         if (!f.ev.has_syscall || !f.ev.success) {
             out += "-";
         } else if (*f.ev.success) {
             out += "succeeded";
         } else {
             out += "failed (exit " + std::to_string(f.ev.exit) + ")";
         }
     }},
    {"syscall",
     [](const SummaryFacts& f, std::string& out) { out += f.alert.syscall.value_or("-"); }},
    {"file.path",
     [](const SummaryFacts& f, std::string& out) {
         out += f.alert.file ? f.alert.file->path : std::string("-");
     }},
    {"file.operation",
     [](const SummaryFacts& f, std::string& out) {
         out += f.alert.file ? f.alert.file->operation : std::string("-");
     }},
    {"seccomp.syscall",
     [](const SummaryFacts& f, std::string& out) {
         out += f.alert.seccomp ? f.alert.seccomp->syscall : std::string("-");
     }},
    {"seccomp.action",
     [](const SummaryFacts& f, std::string& out) {
         out += f.alert.seccomp ? f.alert.seccomp->action : std::string("-");
     }},
    {"integrity.change",
     [](const SummaryFacts& f, std::string& out) {
         integrity_placeholder(f, SummaryField::IntegrityChange, out);
     }},
    {"integrity.trust",
     [](const SummaryFacts& f, std::string& out) {
         integrity_placeholder(f, SummaryField::IntegrityTrust, out);
     }},
    {"rule.id", [](const SummaryFacts& f, std::string& out) { out += f.rule.id; }},
}};

}  // namespace

std::span<const Placeholder> placeholders() {
    return kPlaceholders;
}

const Placeholder* find_placeholder(std::string_view name) {
    const auto it = std::find_if(kPlaceholders.begin(),
                                 kPlaceholders.end(),
                                 [&](const Placeholder& p) { return p.name == name; });
    return it == kPlaceholders.end() ? nullptr : &*it;
}

const std::set<std::string>& summary_placeholders() {
    static const std::set<std::string> kNames = [] {
        std::set<std::string> names;
        for (const auto& p : kPlaceholders) {
            names.emplace(p.name);
        }
        return names;
    }();
    return kNames;
}

std::string integrity_text(const IntegrityRef& ir, SummaryField field) {
    if (field == SummaryField::IntegrityChange) {
        return ir.change.value_or("-");
    }
    return ir.trusted_by.value_or("nothing vouches for it");
}

}  // namespace adock::rules
