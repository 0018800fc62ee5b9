// SPDX-License-Identifier: Apache-2.0
// What the package manager recorded for a file: dpkg's md5sums (what `dpkg -V` checks).
#pragma once

#include <atomic>
#include <cstdint>
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
    /// Returns the number of md5sums files read (0 on a host without dpkg). `cancel` set: stops
    /// early (shutting down), keeping what was read.
    std::size_t load(const std::string& info_dir,
                     const std::set<std::string>& wanted,
                     const std::atomic<bool>* cancel = nullptr);

    [[nodiscard]] std::optional<PackageRecord> find(const std::string& path) const;

private:
    void load_conffiles(const std::string& status_path, const std::set<std::string>& keys);

    std::map<std::string, PackageRecord> records_;
};

/// The programs dpkg installed in the binary directories (/usr/bin, /usr/sbin, /bin, /sbin), by
/// content: binary_masquerade finds a package's program run under another name or place
/// (`cp /bin/sh /tmp/crond`) without hashing every exec. Built once, then read-only: any thread
/// may read it.
class PackageBinaries {
public:
    struct Program {
        std::string path;     ///< as dpkg lists it (/usr/bin/dash)
        std::string package;  ///< dash
    };

    /// Reads every `*.md5sums` in `info_dir` (at most kMaxPrograms programs, each md5sums file
    /// at most 16 MiB) and stats the listed programs for their size (regular, executable files
    /// only). `skip`: paths left out (the runtime binaries, which runtime_binary_unrecognized
    /// reports). Returns the number of programs indexed. `cancel` set: stops early (shutting
    /// down), keeping what was read.
    std::size_t load(const std::string& info_dir,
                     const std::set<std::string>& skip,
                     const std::atomic<bool>* cancel = nullptr);

    /// The path is one dpkg installed a program at (either spelling on a /usr-merged host), or
    /// where it installed the same content elsewhere (/usr/lib/git-core/git, /usr/bin/git's):
    /// a program run from its own place needs no look.
    [[nodiscard]] bool is_package_path(const std::string& path) const;

    /// Some indexed program has this size: only those are worth hashing.
    [[nodiscard]] bool has_size(std::uint64_t size) const { return sizes_.contains(size); }

    /// The indexed program with this content (dpkg's md5), if any.
    [[nodiscard]] const Program* find(const std::string& md5) const;

    [[nodiscard]] std::size_t size() const { return by_md5_.size(); }

    static constexpr std::size_t kMaxPrograms = 65536;

private:
    std::map<std::string, Program, std::less<>> by_md5_;  ///< looked up by a line's view
    std::set<std::string> paths_;
    std::set<std::uint64_t> sizes_;
};

/// The other spelling of a path on a /usr-merged host (/bin/x <-> /usr/bin/x, /sbin, /lib), or "".
[[nodiscard]] std::string usrmerge_alias(const std::string& path);

}  // namespace adock::integrity
