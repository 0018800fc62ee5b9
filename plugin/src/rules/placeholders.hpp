// SPDX-License-Identifier: Apache-2.0
// The {placeholders} of a rule's summary and the fields of its aggregate.by: each one a name and
// how it is rendered, in one table that the loader checks templates against and the engine
// renders from, so a name is never known in one place and missing in the other.
#pragma once

#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "alert/alert.hpp"
#include "audit/event.hpp"
#include "proc/process_table.hpp"

namespace adock::rules {

struct Rule;

/// What a summary is rendered from: the alert as built and what only the engine knows then.
struct SummaryFacts {
    const Rule& rule;
    const audit::Event& ev;
    const Alert& alert;
    const std::string& matched;       ///< what the rule's conditions matched (Match::matched)
    const proc::ProcessInfo* parent;  ///< the parent as the process table knows it, or null
    bool names_pending;               ///< the container's names are being read: deferred
    /// Set by a placeholder whose text is not known yet: the caller keeps its place in the
    /// summary (Alert::summary_holes) instead of text.
    std::optional<SummaryField>* deferred;
};

/// One summary placeholder: `render` appends its text (raw, attacker-controlled; the caller bounds
/// it).
struct Placeholder {
    std::string_view name;
    void (*render)(const SummaryFacts& f, std::string& out);
};

/// Every placeholder a summary template may use, in the order the documentation lists them.
[[nodiscard]] std::span<const Placeholder> placeholders();

/// The placeholder called `name`, or null.
[[nodiscard]] const Placeholder* find_placeholder(std::string_view name);

/// The names of placeholders(), sorted (the loader's "known:" list).
[[nodiscard]] const std::set<std::string>& summary_placeholders();

/// {integrity.change} / {integrity.trust} (`field`) of an alert that has its integrity facts.
[[nodiscard]] std::string integrity_text(const IntegrityRef& ir, SummaryField field);

}  // namespace adock::rules
