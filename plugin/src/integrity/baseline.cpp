// SPDX-License-Identifier: Apache-2.0
#include "integrity/baseline.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstddef>

#include "util/bytes.hpp"
#include "util/json.hpp"
#include "util/safe_file.hpp"

namespace adock::integrity {
namespace {

/// A baseline of every file on a large host is a few MB; anything far beyond is not ours.
constexpr std::size_t kMaxBaselineBytes = 256 * util::kMiB;

bool is_hex(const std::string& s, std::size_t len) {
    return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

bool Baseline::load(const std::string& path, std::string& error) {
    entries_.clear();
    const auto text = util::read_file_nofollow(path, kMaxBaselineBytes);
    if (!text) {
        if (text.error().errnum == ENOENT) {
            return true;  // none yet
        }
        error = text.error().message;
        return false;
    }
    try {
        const YAML::Node root = YAML::Load(*text);
        if (!root.IsMap() || !root["version"] || root["version"].as<int>() != 1 ||
            !root["files"].IsSequence()) {
            error = path + ": not an audisp-docker baseline (version 1)";
            return false;
        }
        for (const auto& f : root["files"]) {
            BaselineEntry e;
            const auto p = f["path"].as<std::string>();
            e.facts.sha256 = f["sha256"].as<std::string>();
            e.facts.md5 = f["md5"].as<std::string>();
            e.facts.size = f["size"].as<std::uint64_t>();
            e.facts.mode = f["mode"].as<std::uint32_t>();
            e.facts.uid = f["uid"].as<std::uint32_t>();
            e.facts.gid = f["gid"].as<std::uint32_t>();
            e.facts.inode = f["inode"].as<std::uint64_t>();
            e.facts.mtime = f["mtime"].as<std::int64_t>();
            e.facts.ctime_ns = f["ctime_ns"] ? f["ctime_ns"].as<std::int64_t>() : 0;
            e.trusted_by = f["trusted_by"].as<std::string>();
            if (p.empty() || p.front() != '/' || !is_hex(e.facts.sha256, 64) ||
                !is_hex(e.facts.md5, 32)) {
                error = path + ": corrupt entry for '" + p + "'";
                entries_.clear();
                return false;
            }
            entries_[p] = std::move(e);
        }
    } catch (const YAML::Exception& e) {
        error = path + ": corrupt (" + e.what() + ")";
        entries_.clear();
        return false;
    }
    return true;
}

bool Baseline::save(const std::string& path, std::string& error) const {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("version").value(1);
    w.key("files").begin_array();
    for (const auto& [p, e] : entries_) {
        w.begin_object();
        w.key("path").value(p);
        w.key("sha256").value(e.facts.sha256);
        w.key("md5").value(e.facts.md5);
        w.key("size").value(e.facts.size);
        w.key("mode").value(e.facts.mode);
        w.key("uid").value(e.facts.uid);
        w.key("gid").value(e.facts.gid);
        w.key("inode").value(e.facts.inode);
        w.key("mtime").value(e.facts.mtime);
        w.key("ctime_ns").value(e.facts.ctime_ns);
        w.key("trusted_by").value(e.trusted_by);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    out += '\n';
    // `.tmp` with O_EXCL, fsync, rename; no symlink followed in any component of the path.
    if (const auto written = util::write_file_atomic(path, out, 0600, true, true); !written) {
        error = written.error().message;
        return false;
    }
    return true;
}

const BaselineEntry* Baseline::find(const std::string& path) const {
    auto it = entries_.find(path);
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace adock::integrity
