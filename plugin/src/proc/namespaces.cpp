// SPDX-License-Identifier: Apache-2.0
#include "proc/namespaces.hpp"

#include <unistd.h>

#include <array>

namespace adock::proc {

namespace {

/// The link text of `path` ("mnt:[4026531841]"), nullopt when unreadable or not that shape.
std::optional<std::string> ns_link(const std::string& path, std::string_view kind) {
    std::array<char, 64> buf{};
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) {
        return std::nullopt;
    }
    std::string s(buf.data(), static_cast<std::size_t>(n));
    if (!s.starts_with(kind) || s.size() <= kind.size() + 2 || s[kind.size()] != ':' ||
        s.back() != ']') {
        return std::nullopt;
    }
    return s;
}

}  // namespace

const std::set<std::string>& namespace_kinds() {
    static const std::set<std::string> kinds{
        "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    return kinds;
}

std::optional<std::vector<std::string>> namespaces_shared_with_self(
    const std::string& proc_root, int pid, const std::set<std::string>& kinds) {
    if (pid <= 0) {
        return std::nullopt;
    }
    const std::string theirs = proc_root + "/" + std::to_string(pid) + "/ns/";
    const std::string ours = proc_root + "/self/ns/";
    std::vector<std::string> shared;
    bool any = false;
    for (const auto& kind : kinds) {
        const auto t = ns_link(theirs + kind, kind);
        if (!t) {
            continue;  // gone, or a kind this kernel does not have (time before 5.6)
        }
        any = true;
        const auto o = ns_link(ours + kind, kind);
        if (o && *o == *t) {
            shared.push_back(kind);
        }
    }
    if (!any) {
        return std::nullopt;
    }
    return shared;
}

}  // namespace adock::proc
