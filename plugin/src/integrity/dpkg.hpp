// SPDX-License-Identifier: Apache-2.0
// What the package manager recorded for a file: dpkg's md5sums (what `dpkg -V` checks).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

namespace adock::integrity {

struct PackageRecord {
    std::string package;
    std::string md5;  ///< lower-case hex
};

/// dpkg's md5sums for a set of paths. /usr-merged hosts record some files under their
/// pre-merge names (bin/x for /usr/bin/x): both spellings are looked up.
class DpkgRecords {
public:
    /// Reads every `*.md5sums` in `info_dir` (/var/lib/dpkg/info), and the conffiles of dpkg's
    /// `status` beside it, keeping the paths wanted.
    /// Returns the number of md5sums files read (0 on a host without dpkg).
    std::size_t load(const std::string& info_dir, const std::set<std::string>& wanted);

    [[nodiscard]] std::optional<PackageRecord> find(const std::string& path) const;

private:
    void load_conffiles(const std::string& status_path, const std::set<std::string>& keys);

    std::map<std::string, PackageRecord> records_;
};

/// The other spelling of a path on a /usr-merged host (/bin/x <-> /usr/bin/x, /sbin, /lib), or "".
[[nodiscard]] std::string usrmerge_alias(const std::string& path);

}  // namespace adock::integrity
