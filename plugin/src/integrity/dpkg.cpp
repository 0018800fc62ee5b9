// SPDX-License-Identifier: Apache-2.0
#include "integrity/dpkg.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "util/bytes.hpp"
#include "util/dir_stream.hpp"
#include "util/safe_file.hpp"

namespace adock::integrity {

std::string usrmerge_alias(const std::string& path) {
    for (const std::string_view dir : {"/bin/", "/sbin/", "/lib/", "/lib64/"}) {
        if (path.starts_with(dir)) {
            std::string merged("/usr");
            merged += path;
            return merged;
        }
        if (path.starts_with("/usr") && std::string_view(path).substr(4).starts_with(dir)) {
            return path.substr(4);
        }
    }
    return "";
}

namespace {

/// Every well-formed line (`MD5  relative/path`) of the `*.md5sums` files in `info_dir` (each
/// read in bounded pieces, at most 16 MiB, not following a symlink), with its package; `fn`
/// returns false to stop. Returns how many md5sums files there were. The directory is opened
/// once, without a symlink on its way, and each file by its name in it: a start-up reads a
/// thousand of them, and a walk per file cost a third of it.
template <typename Fn>
std::size_t for_each_md5sums_line(const std::string& info_dir, Fn&& fn) {
    constexpr std::size_t kMaxMd5sumsBytes = 16 * util::kMiB;
    constexpr std::size_t kMaxLine = 4096 + 34;  // PATH_MAX after "<32 hex>  "
    const auto dir = util::open_dir_nofollow(info_dir, false);
    if (!dir) {
        return 0;
    }
    const util::DirStream list = util::open_dir_stream(dir->get());
    if (!list) {
        return 0;
    }
    std::size_t files = 0;
    bool stopped = false;
    // readdir(3) in glibc is safe on a stream no other thread reads.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    while (const dirent* entry = ::readdir(list.get())) {
        const std::string name(entry->d_name);
        if (!name.ends_with(".md5sums")) {
            continue;
        }
        ++files;
        std::string package = name.substr(0, name.size() - 8);
        if (const auto colon = package.find(':'); colon != std::string::npos) {
            package.resize(colon);  // runc:amd64
        }
        // A file that cannot be read is left out, as dpkg's own missing md5sums are.
        (void)util::for_each_line_nofollow_at(
            dir->get(),
            name,
            info_dir + '/' + name,
            kMaxMd5sumsBytes,
            kMaxLine,
            [&](std::string_view line) {
                if (line.size() < 35 || line[32] != ' ' || line[33] != ' ') {
                    return true;
                }
                stopped = !fn(package, line.substr(0, 32), line.substr(34));
                return !stopped;
            });
        if (stopped) {
            break;
        }
    }
    return files;
}

}  // namespace

std::size_t DpkgRecords::load(const std::string& info_dir,
                              const std::set<std::string>& wanted,
                              const std::atomic<bool>* cancel) {
    namespace fs = std::filesystem;
    records_.clear();
    std::set<std::string> keys;
    for (const auto& w : wanted) {
        keys.insert(w);
        if (auto alias = usrmerge_alias(w); !alias.empty()) {
            keys.insert(alias);
        }
    }
    // md5sums lists paths without their leading '/': looked up as they are, no copy per line.
    std::set<std::string, std::less<>> relative;
    for (const auto& k : keys) {
        if (k.starts_with('/')) {
            relative.insert(k.substr(1));
        }
    }
    const std::size_t files = for_each_md5sums_line(
        info_dir, [&](const std::string& package, std::string_view md5, std::string_view rel) {
            if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
                return false;
            }
            if (relative.contains(rel)) {
                std::string path(1, '/');  // (not "/" + substr: GCC 12 warns -Wrestrict on it)
                path.append(rel);
                records_[path] = PackageRecord{package, std::string(md5)};
            }
            return true;
        });
    load_conffiles(fs::path(info_dir).parent_path() / "status", keys);
    return files;
}

void DpkgRecords::load_conffiles(const std::string& status_path,
                                 const std::set<std::string>& keys) {
    // Conffiles are not in md5sums: dpkg's status lists them per package, with the md5 of the
    // version it installed ("Conffiles:" then " /etc/x <md5>[ obsolete]" lines).
    std::ifstream in(status_path);
    std::string line;
    std::string package;
    bool in_conffiles = false;
    while (std::getline(in, line)) {
        if (line.starts_with("Package: ")) {
            package = line.substr(9);
            in_conffiles = false;
            continue;
        }
        if (line.starts_with("Conffiles:")) {
            in_conffiles = true;
            continue;
        }
        if (!in_conffiles || line.empty() || line.front() != ' ') {
            in_conffiles = false;
            continue;
        }
        // " /etc/default/docker 9fd2b9d2c4b1d1d5a5b4f2e3c6a7b8c9[ obsolete]"
        const auto start = line.find_first_not_of(' ');
        const auto sp = line.find(' ', start);
        if (start == std::string::npos || sp == std::string::npos) {
            continue;
        }
        const std::string path = line.substr(start, sp - start);
        const std::string rest = line.substr(sp + 1);
        if (rest.size() < 32 || rest.find("obsolete") != std::string::npos ||
            !keys.contains(path) || records_.contains(path)) {
            continue;
        }
        records_[path] = PackageRecord{package, rest.substr(0, 32)};
    }
}

std::optional<PackageRecord> DpkgRecords::find(const std::string& path) const {
    if (auto it = records_.find(path); it != records_.end()) {
        return it->second;
    }
    if (auto alias = usrmerge_alias(path); !alias.empty()) {
        if (auto it = records_.find(alias); it != records_.end()) {
            return it->second;
        }
    }
    return std::nullopt;
}

std::size_t PackageBinaries::load(const std::string& info_dir,
                                  const std::set<std::string>& skip,
                                  const std::atomic<bool>* cancel) {
    by_md5_.clear();
    paths_.clear();
    sizes_.clear();
    const auto cancelled = [cancel] {
        return cancel != nullptr && cancel->load(std::memory_order_relaxed);
    };
    for_each_md5sums_line(
        info_dir, [&](const std::string& package, std::string_view md5, std::string_view rel) {
            if (cancelled()) {
                return false;
            }
            const bool bin_dir = rel.starts_with("usr/bin/") || rel.starts_with("usr/sbin/") ||
                                 rel.starts_with("bin/") || rel.starts_with("sbin/");
            if (!bin_dir || rel.find("/.") != std::string_view::npos) {
                return true;
            }
            std::string path(1, '/');
            path.append(rel);
            if (skip.contains(path) ||
                (!usrmerge_alias(path).empty() && skip.contains(usrmerge_alias(path)))) {
                return true;
            }
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
                (st.st_mode & 0111) == 0 || st.st_size == 0) {
                return true;
            }
            if (by_md5_.size() >= kMaxPrograms) {
                return false;
            }
            paths_.insert(path);
            if (auto alias = usrmerge_alias(path); !alias.empty()) {
                paths_.insert(alias);
            }
            sizes_.insert(static_cast<std::uint64_t>(st.st_size));
            by_md5_.emplace(std::string(md5), Program{path, package});
            return true;
        });
    // The same content dpkg installs elsewhere too (/usr/lib/git-core/git is /usr/bin/git's) is
    // that package's program at its own place, not a copy.
    for_each_md5sums_line(info_dir,
                          [&](const std::string&, std::string_view md5, std::string_view rel) {
                              if (paths_.size() >= 4 * kMaxPrograms || cancelled()) {
                                  return false;
                              }
                              if (by_md5_.contains(md5)) {
                                  std::string path(1, '/');
                                  path.append(rel);
                                  paths_.insert(std::move(path));
                              }
                              return true;
                          });
    return by_md5_.size();
}

bool PackageBinaries::is_package_path(const std::string& path) const {
    return paths_.contains(path);
}

const PackageBinaries::Program* PackageBinaries::find(const std::string& md5) const {
    auto it = by_md5_.find(md5);
    return it == by_md5_.end() ? nullptr : &it->second;
}

}  // namespace adock::integrity
