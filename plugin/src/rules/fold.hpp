// SPDX-License-Identifier: Apache-2.0
// What an aggregation window keeps of the matches it folds (issue 11, M1/H6): not only the
// last, but the distinct values of chosen fields (command lines, paths, syscalls), bounded,
// so a malicious event between two benign ones of the same key still reaches the outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert.hpp"

namespace adock::rules {

/// The fields a fold can keep distinct values of (and aggregate.by can key on).
[[nodiscard]] const std::vector<std::string>& fold_fields();

/// The distinct values of one field seen in a window.
class DistinctTracker {
public:
    explicit DistinctTracker(std::string field) : field_(std::move(field)) {}

    /// Counts the alert's value of the field (nothing when the alert has none).
    void add(const Alert& a);

    [[nodiscard]] const std::string& field() const { return field_; }

    [[nodiscard]] DistinctValues report() const;
    /// Appends "; 3 distinct command lines: 'x', 'y', 'z'" to a summary (nothing if empty).
    void describe(std::string& summary) const;
    [[nodiscard]] std::size_t bytes() const;

    static constexpr std::size_t kMaxValues = 8;     ///< values shown
    static constexpr std::size_t kValueBytes = 256;  ///< each shown value, cut with "…"
    static constexpr std::size_t kMaxHashes = 256;   ///< distinct values counted exactly

private:
    std::string field_;
    std::vector<std::string> values_;
    std::vector<std::uint64_t> hashes_;  ///< sorted: of the whole values
    unsigned long long distinct_ = 0;
    bool capped_ = false;  ///< more than kMaxHashes: distinct_ is a lower bound
};

/// The value of `field` in an alert, whole (for distinctness) and shown (bounded). nullopt when
/// the alert has none (no file, not a seccomp event).
struct FoldValue {
    std::string whole;
    std::string shown;
};

[[nodiscard]] std::optional<FoldValue> fold_value(const Alert& a, const std::string& field);

/// The source of an alert as aggregate.by's `source` means it: the container, or on the host
/// the user and the executable.
[[nodiscard]] std::string fold_source(const Alert& a);

}  // namespace adock::rules
