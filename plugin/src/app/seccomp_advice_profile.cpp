// SPDX-License-Identifier: Apache-2.0
// From what was learned to what is shown: the containers a target selects, the OCI profile of
// their syscalls, the report of records per syscall, and the images seen.
#include <array>
#include <cstdio>
#include <set>

#include "app/seccomp_advice.hpp"
#include "app/seccomp_advice_detail.hpp"
#include "util/json.hpp"

namespace adock::app {

using detail::hex;
using detail::printable;

SeccompAdvisor::Selection SeccompAdvisor::select(const std::string& target) const {
    Selection s;
    if (target.empty()) {
        s.error = "an empty image or container";
        return s;
    }
    for (const auto& [id, u] : usage_) {
        if (u.image && (*u.image == target || *u.image == target + ":latest")) {
            s.containers.push_back(&u);
        }
    }
    if (!s.containers.empty()) {
        s.by = "image";
        return s;
    }
    for (const auto& [id, u] : usage_) {
        if (id == target || (u.name && (*u.name == target || *u.name == "/" + target))) {
            s.containers.push_back(&u);
            s.by = id == target ? "id" : "name";
            return s;
        }
    }
    for (const auto& [id, u] : usage_) {
        if (id.starts_with(target)) {
            s.containers.push_back(&u);
        }
    }
    if (s.containers.size() == 1) {
        s.by = "id prefix";
        return s;
    }
    s.error = s.containers.empty()
                  ? "no image, container name or id '" + printable(target) + "' in the stream"
                  : "the id prefix '" + printable(target) + "' names " +
                        std::to_string(s.containers.size()) + " containers";
    s.containers.clear();
    return s;
}

std::string SeccompAdvisor::profile_json(const Selection& s) {
    std::set<std::string> arches;
    std::set<std::string> names;
    for (const Usage* u : s.containers) {
        for (const auto& [arch, per] : u->syscalls) {
            if (auto a = scmp_arch_name(arch)) {
                arches.insert(*a);
            }
            for (const auto& [n, count] : per) {
                names.insert(n);
            }
        }
    }
    auto quoted = [](const std::string& v) {
        std::string q = "\"";
        util::json_escape_into(q, v);
        return q + "\"";
    };
    std::string out =
        "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  "
        "\"architectures\": [";
    bool first = true;
    for (const auto& a : arches) {
        out += (first ? "" : ", ") + quoted(a);
        first = false;
    }
    out += "],\n  \"syscalls\": [\n    {\n      \"names\": [";
    first = true;
    for (const auto& n : names) {
        out += (first ? "\n        " : ",\n        ") + quoted(n);
        first = false;
    }
    out += "\n      ],\n      \"action\": \"SCMP_ACT_ALLOW\"\n    }\n  ]\n}\n";
    return out;
}

std::string SeccompAdvisor::report(const Selection& s) const {
    struct Seen {
        unsigned long long records = 0;
        std::size_t containers = 0;
    };

    std::map<std::string, Seen> by_name;  // "syscall (arch)" when several arches
    std::set<std::string> arches;
    std::map<std::string, Seen> unnamed;
    unsigned long long records = 0;
    for (const Usage* u : s.containers) {
        records += u->records;
        for (const auto& [arch, per] : u->syscalls) {
            arches.insert(scmp_arch_name(arch).value_or(hex(arch)));
        }
    }
    for (const Usage* u : s.containers) {
        for (const auto& [arch, per] : u->syscalls) {
            for (const auto& [n, count] : per) {
                Seen& x = by_name[arches.size() > 1
                                      ? n + " (" + scmp_arch_name(arch).value_or(hex(arch)) + ")"
                                      : n];
                x.records += count;
                ++x.containers;
            }
        }
        for (const auto& [k, count] : u->unnamed) {
            unnamed[k].records += count;
            ++unnamed[k].containers;
        }
    }
    std::string out = "seccomp-profile: " + s.by + ": " + std::to_string(s.containers.size()) +
                      " container(s), " + std::to_string(records) + " SECCOMP records, " +
                      std::to_string(by_name.size()) + " syscalls";
    for (const auto& a : arches) {
        out += " " + a;
    }
    out += "\n";
    for (const Usage* u : s.containers) {
        out += "  container " + printable(u->id) + " name " + printable(u->name.value_or("-")) +
               " image " + printable(u->image.value_or("-")) + ": " + std::to_string(u->records) +
               " records\n";
    }
    std::array<char, 160> line{};
    (void)std::snprintf(
        line.data(), line.size(), "  %-32s %12s %10s\n", "syscall", "records", "containers");
    out += line.data();
    for (const auto& [n, x] : by_name) {
        (void)std::snprintf(
            line.data(), line.size(), "  %-32s %12llu %10zu\n", n.c_str(), x.records, x.containers);
        out += line.data();
    }
    for (const auto& [k, x] : unnamed) {
        out += "  NOT IN THE PROFILE: arch:syscall " + k + " has no name (" +
               std::to_string(x.records) + " records, " + std::to_string(x.containers) +
               " containers)\n";
    }
    const Stats& st = stats_;
    out += "stream: " + std::to_string(st.records) + " SECCOMP records; " +
           std::to_string(st.not_in_container) + " on the host, " +
           std::to_string(st.unattributed) + " unattributed, " + std::to_string(st.unnamed) +
           " without a syscall or arch name; dropped by the bounds: " +
           std::to_string(st.dropped_containers) + " (containers past " +
           std::to_string(kMaxContainers) + "), " + std::to_string(st.dropped_syscalls) +
           " (syscalls past " + std::to_string(kMaxSyscalls) + " per container)\n";
    return out;
}

std::string SeccompAdvisor::seen() const {
    std::map<std::string, std::size_t> images;
    std::string without;
    std::size_t without_n = 0;
    for (const auto& [id, u] : usage_) {
        if (u.image) {
            ++images[printable(*u.image)];
        } else if (++without_n <= 8) {
            without += (without.empty() ? "" : ", ") + printable(id.substr(0, 12)) +
                       (u.name ? " (" + printable(*u.name) + ")" : std::string());
        }
    }
    std::string out;
    for (const auto& [img, n] : images) {
        out += (out.empty() ? "" : ", ") + img + " (" + std::to_string(n) +
               (n == 1 ? " container)" : " containers)");
    }
    if (out.empty()) {
        out = "none";
    }
    out = "images seen: " + out;
    if (without_n > 0) {
        out += "; containers without a known image: " + without + (without_n > 8 ? ", ..." : "") +
               " (" + std::to_string(without_n) + ")";
    }
    return out;
}

}  // namespace adock::app
