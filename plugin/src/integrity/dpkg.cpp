// SPDX-License-Identifier: Apache-2.0
#include "integrity/dpkg.hpp"

#include <filesystem>
#include <fstream>
#include <string_view>

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

std::size_t DpkgRecords::load(const std::string& info_dir, const std::set<std::string>& wanted) {
    namespace fs = std::filesystem;
    records_.clear();
    std::set<std::string> keys;
    for (const auto& w : wanted) {
        keys.insert(w);
        if (auto alias = usrmerge_alias(w); !alias.empty()) {
            keys.insert(alias);
        }
    }
    std::error_code ec;
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(info_dir, ec)) {
        const auto name = entry.path().filename().string();
        if (!name.ends_with(".md5sums")) {
            continue;
        }
        ++files;
        std::string package = name.substr(0, name.size() - 8);
        if (const auto colon = package.find(':'); colon != std::string::npos) {
            package.resize(colon);  // runc:amd64
        }
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line)) {
            // "<32 hex>  <path relative to />"
            if (line.size() < 35 || line[32] != ' ' || line[33] != ' ') {
                continue;
            }
            std::string path(1, '/');  // (not "/" + substr: GCC 12 warns -Wrestrict on it)
            path.append(line, 34, std::string::npos);
            if (keys.contains(path)) {
                records_[path] = PackageRecord{package, line.substr(0, 32)};
            }
        }
    }
    return files;
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

}  // namespace adock::integrity
