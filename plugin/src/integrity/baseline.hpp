// SPDX-License-Identifier: Apache-2.0
// The known state of each monitored file, kept in a state file the plugin owns (JSON, 0600,
// written atomically), so that it survives restarts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "integrity/digest.hpp"

namespace adock::integrity {

struct BaselineEntry {
    FileFacts facts;
    /// Why this content is trusted: "package:<name>" (dpkg's record matches), "allowlist",
    /// "baseline" (as first seen by the plugin, trust on first use).
    std::string trusted_by;
};

class Baseline {
public:
    /// Reads `path`. A missing file is an empty baseline (true); an unreadable or corrupt one
    /// returns false with `error` set, and the baseline stays empty (to be rebuilt).
    bool load(const std::string& path, std::string& error);
    /// Writes to `path` atomically (temporary file, fsync, rename), mode 0600.
    bool save(const std::string& path, std::string& error) const;

    [[nodiscard]] const BaselineEntry* find(const std::string& path) const;

    void set(const std::string& path, BaselineEntry entry) { entries_[path] = std::move(entry); }

    void erase(const std::string& path) { entries_.erase(path); }

    [[nodiscard]] const std::map<std::string, BaselineEntry>& entries() const { return entries_; }

private:
    std::map<std::string, BaselineEntry> entries_;
};

}  // namespace adock::integrity
