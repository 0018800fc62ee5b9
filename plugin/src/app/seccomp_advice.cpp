// SPDX-License-Identifier: Apache-2.0
// What the SECCOMP records teach: each container's syscalls by arch, bounded (add, resolve,
// count), the engine's hand-off (attach), and the learned state saved and loaded (state_json,
// load_state). The profile and report are rendered in seccomp_advice_profile.cpp, the
// --seccomp-profile command is in seccomp_advice_command.cpp.
#include "app/seccomp_advice.hpp"

#include <yaml-cpp/yaml.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <utility>

#include "app/seccomp_advice_detail.hpp"
#include "audit/event.hpp"
#include "rules/engine.hpp"
#include "util/json.hpp"

namespace adock::app {

using detail::hex;
using detail::printable;

namespace {

std::optional<std::string> bounded(std::optional<std::string> s) {
    if (s && s->size() > SeccompAdvisor::kMaxNameBytes) {
        s->resize(SeccompAdvisor::kMaxNameBytes);
    }
    return s;
}

}  // namespace

std::optional<std::string> scmp_arch_name(std::uint32_t audit_arch) {
    // AUDIT_ARCH_* (linux/audit.h) as libseccomp names them in OCI profiles.
    static constexpr std::array<std::pair<std::uint32_t, const char*>, 8> kArches{{
        {0xc000003e, "SCMP_ARCH_X86_64"},
        {0x40000003, "SCMP_ARCH_X86"},
        {0xc00000b7, "SCMP_ARCH_AARCH64"},
        {0x40000028, "SCMP_ARCH_ARM"},
        {0xc0000015, "SCMP_ARCH_PPC64LE"},
        {0x80000015, "SCMP_ARCH_PPC64"},
        {0x80000016, "SCMP_ARCH_S390X"},
        {0xc00000f3, "SCMP_ARCH_RISCV64"},
    }};
    for (const auto& [a, n] : kArches) {
        if (a == audit_arch) {
            return std::string(n);
        }
    }
    return std::nullopt;
}

void SeccompAdvisor::add(int pid,
                         const std::optional<ContainerRef>& container,
                         bool host,
                         std::uint32_t arch,
                         int syscall) {
    ++stats_.records;
    if (container && !container->id.empty()) {
        count(*container, arch, syscall, 1);
        return;
    }
    if (host && !container) {
        ++stats_.not_in_container;
        return;
    }
    auto p = pending_.find(pid);
    if (p == pending_.end()) {
        if (pending_.size() >= kMaxPendingPids) {
            ++stats_.unattributed;
            return;
        }
        p = pending_.emplace(pid, std::map<Key, unsigned long long>{}).first;
    }
    auto k = p->second.find(Key{arch, syscall});
    if (k != p->second.end()) {
        ++k->second;
    } else if (p->second.size() < kMaxPendingSyscalls) {
        p->second.emplace(Key{arch, syscall}, 1);
    } else {
        ++stats_.unattributed;
    }
}

void SeccompAdvisor::resolve(int pid, const std::optional<ContainerRef>& container, bool host) {
    auto p = pending_.find(pid);
    if (p == pending_.end()) {
        return;
    }
    const bool in_container = container && !container->id.empty();
    if (!in_container && !(host && !container)) {
        return;  // still unknown
    }
    for (const auto& [k, n] : p->second) {
        if (in_container) {
            count(*container, k.first, k.second, n);
        } else {
            stats_.not_in_container += n;
        }
    }
    pending_.erase(p);
}

void SeccompAdvisor::finish() {
    for (const auto& [pid, per] : pending_) {
        for (const auto& [k, n] : per) {
            stats_.unattributed += n;
        }
    }
    pending_.clear();
}

void SeccompAdvisor::count(const ContainerRef& container,
                           std::uint32_t arch,
                           int syscall,
                           unsigned long long n) {
    const std::string id = container.id.substr(0, kMaxNameBytes);
    auto it = usage_.find(id);
    if (it == usage_.end()) {
        if (usage_.size() >= kMaxContainers) {
            stats_.dropped_containers += n;
            return;
        }
        Usage u;
        u.id = id;
        u.runtime = container.runtime.substr(0, kMaxNameBytes);
        u.name = bounded(container.name);
        u.image = bounded(container.image);
        it = usage_.emplace(id, std::move(u)).first;
    }
    Usage& u = it->second;
    u.records += n;
    changed_ = true;
    const std::string name = audit::syscall_name(arch, syscall);
    if (!scmp_arch_name(arch) || name.starts_with("unknown(")) {
        stats_.unnamed += n;
        const std::string key = hex(arch) + ":" + std::to_string(syscall);
        auto x = u.unnamed.find(key);
        if (x != u.unnamed.end()) {
            x->second += n;
        } else if (u.unnamed.size() < kMaxUnnamed) {
            u.unnamed.emplace(key, n);
        } else {
            stats_.dropped_syscalls += n;
        }
        return;
    }
    auto& per_arch = u.syscalls[arch];
    auto s = per_arch.find(name);
    if (s != per_arch.end()) {
        s->second += n;
        return;
    }
    std::size_t distinct = 0;
    for (const auto& [a, names] : u.syscalls) {
        distinct += names.size();
    }
    if (distinct >= kMaxSyscalls) {
        stats_.dropped_syscalls += n;
        if (per_arch.empty()) {
            u.syscalls.erase(arch);
        }
        return;
    }
    per_arch.emplace(name, n);
}

void SeccompAdvisor::set_names(const std::string& id,
                               std::optional<std::string> name,
                               std::optional<std::string> image) {
    auto it = usage_.find(id);
    if (it == usage_.end()) {
        return;
    }
    if (name) {
        it->second.name = bounded(std::move(name));
    }
    if (image) {
        it->second.image = bounded(std::move(image));
    }
}

void SeccompAdvisor::attach(rules::Engine& engine) {
    engine.set_seccomp_observer(
        [this](
            const audit::Event& ev, proc::Attribution a, const std::optional<ContainerRef>& ref) {
            const auto where = a == proc::Attribution::Container ? ref : std::nullopt;
            const bool host = a == proc::Attribution::Host;
            if (ev.seccomp) {
                add(ev.pid, where, host, ev.seccomp->arch, ev.seccomp->syscall);
            } else {
                resolve(ev.pid, where, host);
            }
        },
        [this](int pid) { return pending_.contains(pid); });
}

std::string SeccompAdvisor::state_json(const std::string& written) const {
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("version").value(1);
    w.key("written").value(written);
    w.key("containers").begin_array();
    const auto opt = [&w](const std::optional<std::string>& v) {
        if (v) {
            w.value(*v);
        } else {
            w.null();
        }
    };
    for (const auto& [id, u] : usage_) {
        w.begin_object();
        w.key("id").value(u.id);
        w.key("runtime").value(u.runtime);
        w.key("name");
        opt(u.name);
        w.key("image");
        opt(u.image);
        w.key("records").value(u.records);
        w.key("syscalls").begin_object();
        for (const auto& [arch, names] : u.syscalls) {
            w.key(hex(arch)).begin_object();
            for (const auto& [name, count] : names) {
                w.key(name).value(count);
            }
            w.end_object();
        }
        w.end_object();
        w.key("unnamed").begin_object();
        for (const auto& [key, count] : u.unnamed) {
            w.key(key).value(count);
        }
        w.end_object();
        w.end_object();
    }
    w.end_array();
    w.key("stats").begin_object();
    w.key("records").value(stats_.records);
    w.key("not_in_container").value(stats_.not_in_container);
    w.key("unattributed").value(stats_.unattributed);
    w.key("unnamed").value(stats_.unnamed);
    w.key("dropped_containers").value(stats_.dropped_containers);
    w.key("dropped_syscalls").value(stats_.dropped_syscalls);
    w.end_object();
    w.end_object();
    out.push_back('\n');
    return out;
}

bool SeccompAdvisor::load_state(const std::string& text, std::string& written, std::string& error) {
    try {
        const YAML::Node root = YAML::Load(text);
        if (!root.IsMap() || !root["version"] || root["version"].as<int>() != 1 ||
            !root["containers"] || !root["containers"].IsSequence()) {
            error = "not a learned state of this version";
            return false;
        }
        written = root["written"] ? root["written"].as<std::string>() : std::string();
        const auto opt = [](const YAML::Node& n) -> std::optional<std::string> {
            if (!n || n.IsNull()) {
                return std::nullopt;
            }
            return bounded(n.as<std::string>());
        };
        for (const auto& c : root["containers"]) {
            if (usage_.size() >= kMaxContainers) {
                error = "more containers than the bound";
                return false;
            }
            Usage u;
            u.id = printable(c["id"].as<std::string>());
            u.runtime = printable(c["runtime"].as<std::string>());
            u.name = opt(c["name"]);
            u.image = opt(c["image"]);
            u.records = c["records"].as<unsigned long long>();
            std::size_t distinct = 0;
            for (const auto& arch : c["syscalls"]) {
                const std::string a = arch.first.as<std::string>();
                std::uint32_t value = 0;
                const auto r = std::from_chars(a.data(), a.data() + a.size(), value, 16);
                if (r.ec != std::errc{} || r.ptr != a.data() + a.size()) {
                    error = "an arch that is not hex: " + printable(a);
                    return false;
                }
                for (const auto& s : arch.second) {
                    if (++distinct > kMaxSyscalls) {
                        error = "more syscalls than the bound in container " + u.id;
                        return false;
                    }
                    u.syscalls[value][printable(s.first.as<std::string>())] =
                        s.second.as<unsigned long long>();
                }
            }
            for (const auto& x : c["unnamed"]) {
                if (u.unnamed.size() >= kMaxUnnamed) {
                    break;
                }
                u.unnamed[printable(x.first.as<std::string>())] = x.second.as<unsigned long long>();
            }
            if (u.id.empty() || usage_.contains(u.id)) {
                error = "a container without id, or twice";
                return false;
            }
            usage_.emplace(u.id, std::move(u));
        }
        if (const YAML::Node s = root["stats"]; s && s.IsMap()) {
            const auto num = [&s](const char* k) {
                return s[k] ? s[k].as<unsigned long long>() : 0ULL;
            };
            stats_.records = num("records");
            stats_.not_in_container = num("not_in_container");
            stats_.unattributed = num("unattributed");
            stats_.unnamed = num("unnamed");
            stats_.dropped_containers = num("dropped_containers");
            stats_.dropped_syscalls = num("dropped_syscalls");
        }
    } catch (const YAML::Exception& e) {
        error = std::string("not JSON of a learned state: ") + e.what();
        return false;
    }
    return true;
}

}  // namespace adock::app
