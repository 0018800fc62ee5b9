// SPDX-License-Identifier: Apache-2.0
#include "integrity/baseline.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "util/json.hpp"
#include "util/unique_fd.hpp"

namespace adock::integrity {
namespace {

std::string errno_text() {
    return std::error_code(errno, std::generic_category()).message();
}

bool is_hex(const std::string& s, std::size_t len) {
    return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

bool Baseline::load(const std::string& path, std::string& error) {
    entries_.clear();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        return true;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path + ": cannot read";
        return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    try {
        const YAML::Node root = YAML::Load(ss.str());
        if (!root.IsMap() || !root["version"] || root["version"].as<int>() != 1 || !root["files"].IsSequence()) {
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
            if (p.empty() || p.front() != '/' || !is_hex(e.facts.sha256, 64) || !is_hex(e.facts.md5, 32)) {
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
        w.key("mode").value(static_cast<std::uint64_t>(e.facts.mode));
        w.key("uid").value(static_cast<std::uint64_t>(e.facts.uid));
        w.key("gid").value(static_cast<std::uint64_t>(e.facts.gid));
        w.key("inode").value(e.facts.inode);
        w.key("mtime").value(e.facts.mtime);
        w.key("ctime_ns").value(e.facts.ctime_ns);
        w.key("trusted_by").value(e.trusted_by);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    out += '\n';
    const auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        ::mkdir(path.substr(0, slash).c_str(), 0700);  // its parent; EEXIST is fine
    }
    const std::string tmp = path + ".tmp";
    util::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) {
        error = tmp + ": " + errno_text();
        return false;
    }
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::write(fd.get(), out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = tmp + ": " + errno_text();
            ::unlink(tmp.c_str());
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        error = path + ": " + errno_text();
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

const BaselineEntry* Baseline::find(const std::string& path) const {
    auto it = entries_.find(path);
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace adock::integrity
