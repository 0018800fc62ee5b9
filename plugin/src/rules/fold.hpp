// SPDX-License-Identifier: Apache-2.0
// What an aggregation window keeps of the matches it folds (issue 11, M1/H6): not only the
// last, but the distinct values of chosen fields (command lines, paths, syscalls), bounded,
// so a malicious event between two benign ones of the same key still reaches the outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.hpp"

namespace adock::rules {

/// The value of a field in an alert, whole (for distinctness) and shown (bounded).
struct FoldValue {
    std::string whole;
    std::string shown;
};

/// A field whose distinct values a fold keeps (aggregate.distinct): its name in the rule
/// language, its words in a summary ("3 distinct command lines") and how an alert gives it.
struct FoldField {
    std::string_view name;
    std::string_view singular;
    std::string_view plural;
    /// nullopt when the alert has none (no file, not a seccomp event)
    std::optional<FoldValue> (*value)(const Alert& a);
};

/// Every field aggregate.distinct may name, in the order the loader's error lists them.
[[nodiscard]] std::span<const FoldField> fold_fields();

/// The field called `name`, or null.
[[nodiscard]] const FoldField* find_fold_field(std::string_view name);

/// aggregate.distinct when a rule does not say: command lines and paths.
[[nodiscard]] std::vector<const FoldField*> default_fold_fields();

/// One field of aggregate.by: `append` adds its part of a window's key.
struct ByField {
    std::string_view name;
    void (*append)(const Alert& a, std::string& key);
};

/// Every field aggregate.by may name, in the order the loader's error lists them.
[[nodiscard]] std::span<const ByField> by_fields();

/// The field called `name`, or null.
[[nodiscard]] const ByField* find_by_field(std::string_view name);

/// The distinct values of one field seen in a window.
class DistinctTracker {
public:
    explicit DistinctTracker(const FoldField& field) : field_(&field) {}

    /// Counts the alert's value of the field (nothing when the alert has none).
    void add(const Alert& a);

    [[nodiscard]] const FoldField& field() const { return *field_; }

    [[nodiscard]] DistinctValues report() const;
    /// Appends "; 3 distinct command lines: 'x', 'y', 'z'" to a summary (nothing if empty).
    void describe(std::string& summary) const;
    [[nodiscard]] std::size_t bytes() const;

    static constexpr std::size_t kMaxValues = 8;     ///< values shown
    static constexpr std::size_t kValueBytes = 256;  ///< each shown value, cut with "…"
    static constexpr std::size_t kMaxHashes = 256;   ///< distinct values counted exactly

private:
    const FoldField* field_;  ///< an entry of fold_fields(): static
    std::vector<std::string> values_;
    std::vector<std::uint64_t> hashes_;  ///< sorted: of the whole values
    unsigned long long distinct_ = 0;
    bool capped_ = false;  ///< more than kMaxHashes: distinct_ is a lower bound
};

/// The source of an alert as aggregate.by's `source` means it: the container, or on the host
/// the user and the executable.
[[nodiscard]] std::string fold_source(const Alert& a);

}  // namespace adock::rules
