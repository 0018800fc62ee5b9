// SPDX-License-Identifier: Apache-2.0
#include "app/seccomp_advice.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "app/generation.hpp"
#include "audit/event.hpp"
#include "audit/pipeline.hpp"
#include "outputs/dispatcher.hpp"
#include "proc/containers.hpp"
#include "rules/engine.hpp"
#include "util/json.hpp"
#include "util/safe_read.hpp"

#include <yaml-cpp/yaml.h>

namespace adock::app {
namespace {

/// Text from a record or a state file, fit for a terminal: control bytes become '?', at most
/// kMaxNameBytes.
std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, SeccompAdvisor::kMaxNameBytes)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    return out;
}

std::optional<std::string> bounded(std::optional<std::string> s) {
    if (s && s->size() > SeccompAdvisor::kMaxNameBytes) {
        s->resize(SeccompAdvisor::kMaxNameBytes);
    }
    return s;
}

std::string hex(std::uint32_t v) {
    std::array<char, 16> b{};
    (void)std::snprintf(b.data(), b.size(), "%x", v);
    return b.data();
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

void SeccompAdvisor::add(int pid, const std::optional<ContainerRef>& container, bool host, std::uint32_t arch,
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

void SeccompAdvisor::count(const ContainerRef& container, std::uint32_t arch, int syscall, unsigned long long n) {
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

void SeccompAdvisor::set_names(const std::string& id, std::optional<std::string> name, std::optional<std::string> image) {
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
    s.error = s.containers.empty() ? "no image, container name or id '" + printable(target) + "' in the stream"
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
    std::string out = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  \"architectures\": [";
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
                Seen& x = by_name[arches.size() > 1 ? n + " (" + scmp_arch_name(arch).value_or(hex(arch)) + ")" : n];
                x.records += count;
                ++x.containers;
            }
        }
        for (const auto& [k, count] : u->unnamed) {
            unnamed[k].records += count;
            ++unnamed[k].containers;
        }
    }
    std::string out = "seccomp-profile: " + s.by + ": " + std::to_string(s.containers.size()) + " container(s), " +
                      std::to_string(records) + " SECCOMP records, " + std::to_string(by_name.size()) + " syscalls";
    for (const auto& a : arches) {
        out += " " + a;
    }
    out += "\n";
    for (const Usage* u : s.containers) {
        out += "  container " + printable(u->id) + " name " + printable(u->name.value_or("-")) + " image " +
               printable(u->image.value_or("-")) + ": " + std::to_string(u->records) + " records\n";
    }
    std::array<char, 160> line{};
    (void)std::snprintf(line.data(), line.size(), "  %-32s %12s %10s\n", "syscall", "records", "containers");
    out += line.data();
    for (const auto& [n, x] : by_name) {
        (void)std::snprintf(line.data(), line.size(), "  %-32s %12llu %10zu\n", n.c_str(), x.records, x.containers);
        out += line.data();
    }
    for (const auto& [k, x] : unnamed) {
        out += "  NOT IN THE PROFILE: arch:syscall " + k + " has no name (" + std::to_string(x.records) +
               " records, " + std::to_string(x.containers) + " containers)\n";
    }
    const Stats& st = stats_;
    out += "stream: " + std::to_string(st.records) + " SECCOMP records; " + std::to_string(st.not_in_container) +
           " on the host, " + std::to_string(st.unattributed) + " unattributed, " + std::to_string(st.unnamed) +
           " without a syscall or arch name; dropped by the bounds: " + std::to_string(st.dropped_containers) +
           " (containers past " + std::to_string(kMaxContainers) + "), " + std::to_string(st.dropped_syscalls) +
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
        out += (out.empty() ? "" : ", ") + img + " (" + std::to_string(n) + (n == 1 ? " container)" : " containers)");
    }
    if (out.empty()) {
        out = "none";
    }
    out = "images seen: " + out;
    if (without_n > 0) {
        out += "; containers without a known image: " + without + (without_n > 8 ? ", ..." : "") + " (" +
               std::to_string(without_n) + ")";
    }
    return out;
}

}  // namespace adock::app

namespace adock::app {

bool learn_seccomp(const config::Config& cfg, std::shared_ptr<const rules::RuleSet> rules, const std::string& input,
                   SeccompAdvisor& advisor, std::string& error) {
    std::FILE* in = std::fopen(input.c_str(), "rbe");
    if (in == nullptr) {
        error = "cannot open input " + input + ": " + std::strerror(errno);
        return false;
    }
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(in, &std::fclose);
    outputs::Dispatcher out;  // no outputs: the rules run, their alerts are only counted
    out.configure(cfg.host.empty() ? rules::local_host_name() : cfg.host, cfg.degraded_spool_percent);
    rules::Engine engine(cfg, std::move(rules), out);
    advisor.attach(engine);
    audit::Pipeline pipeline(std::chrono::milliseconds(cfg.engine.eoe_timeout_ms),
                             cfg.engine.max_pending_events,
                             [&engine](audit::Event&& ev) { engine.on_event(ev); });
    constexpr std::size_t kChunk = std::size_t{1} << 20;
    std::vector<char> buf(kChunk);
    std::string carry;
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), in);
        if (n == 0) {
            break;
        }
        carry.append(buf.data(), n);
        const auto nl = carry.rfind('\n');
        if (nl == std::string::npos) {
            continue;
        }
        pipeline.feed(std::string_view(carry).substr(0, nl + 1));
        carry.erase(0, nl + 1);
    }
    if (std::ferror(in) != 0) {
        error = "reading " + input + " failed";
        return false;
    }
    if (!carry.empty()) {
        pipeline.feed(carry);
    }
    pipeline.flush();
    engine.flush();
    advisor.finish();
    out.stop(std::chrono::milliseconds(0));
    return true;
}

void SeccompAdvisor::attach(rules::Engine& engine) {
    engine.set_seccomp_observer(
        [this](const audit::Event& ev, proc::Attribution a, const std::optional<ContainerRef>& ref) {
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
        w.key("records").value(static_cast<std::uint64_t>(u.records));
        w.key("syscalls").begin_object();
        for (const auto& [arch, names] : u.syscalls) {
            w.key(hex(arch)).begin_object();
            for (const auto& [name, count] : names) {
                w.key(name).value(static_cast<std::uint64_t>(count));
            }
            w.end_object();
        }
        w.end_object();
        w.key("unnamed").begin_object();
        for (const auto& [key, count] : u.unnamed) {
            w.key(key).value(static_cast<std::uint64_t>(count));
        }
        w.end_object();
        w.end_object();
    }
    w.end_array();
    w.key("stats").begin_object();
    w.key("records").value(static_cast<std::uint64_t>(stats_.records));
    w.key("not_in_container").value(static_cast<std::uint64_t>(stats_.not_in_container));
    w.key("unattributed").value(static_cast<std::uint64_t>(stats_.unattributed));
    w.key("unnamed").value(static_cast<std::uint64_t>(stats_.unnamed));
    w.key("dropped_containers").value(static_cast<std::uint64_t>(stats_.dropped_containers));
    w.key("dropped_syscalls").value(static_cast<std::uint64_t>(stats_.dropped_syscalls));
    w.end_object();
    w.end_object();
    out.push_back('\n');
    return out;
}

bool SeccompAdvisor::load_state(const std::string& text, std::string& written, std::string& error) {
    try {
        const YAML::Node root = YAML::Load(text);
        if (!root.IsMap() || !root["version"] || root["version"].as<int>() != 1 || !root["containers"] ||
            !root["containers"].IsSequence()) {
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
                    u.syscalls[value][printable(s.first.as<std::string>())] = s.second.as<unsigned long long>();
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
            const auto num = [&s](const char* k) { return s[k] ? s[k].as<unsigned long long>() : 0ULL; };
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

void name_containers(SeccompAdvisor& advisor, const proc::ContainerDirs& dirs, unsigned wait_ms) {
    proc::NameResolver names(dirs);
    auto ref_of = [](const SeccompAdvisor::Usage& u) {
        ContainerRef ref;
        ref.id = u.id;
        ref.runtime = u.runtime;
        return ref;
    };
    for (const auto& [id, u] : advisor.containers()) {
        (void)names.lookup(ref_of(u));
    }
    names.drain(wait_ms);
    std::vector<std::pair<std::string, proc::NameResolver::Names>> found;
    for (const auto& [id, u] : advisor.containers()) {
        if (auto n = names.lookup(ref_of(u))) {
            found.emplace_back(id, std::move(*n));
        }
    }
    for (auto& [id, n] : found) {
        advisor.set_names(id, std::move(n.name), std::move(n.image));
    }
}

namespace {

/// Names the advisor's containers, selects `target` and prints its profile (stdout) and summary
/// (stderr). `source`: what the usage was learned from, for the messages.
int print_profile(SeccompAdvisor& advisor, const config::Config& cfg, const std::string& source,
                  const std::string& target) {
    // Image and name: what the runtimes' state files say of the containers still on this host.
    constexpr unsigned kNamesWaitMs = 5000;
    name_containers(advisor,
                    proc::ContainerDirs{cfg.containerd_state_dir, cfg.docker_containers_dir, cfg.podman_storage_dir},
                    kNamesWaitMs);
    const auto& st = advisor.stats();
    if (advisor.containers().empty()) {
        std::fprintf(stderr,
                     "seccomp-profile: no SECCOMP record of a container in %s (%llu SECCOMP records: %llu on the "
                     "host, %llu unattributed, %llu past the container bound); learn under a profile whose "
                     "defaultAction is SCMP_ACT_LOG with kernel.seccomp.actions_logged including log\n",
                     source.c_str(), st.records, st.not_in_container, st.unattributed, st.dropped_containers);
        return 1;
    }
    const SeccompAdvisor::Selection sel = advisor.select(target);
    if (!sel.error.empty()) {
        std::fprintf(stderr, "seccomp-profile: %s; %s\n", sel.error.c_str(), advisor.seen().c_str());
        return 2;
    }
    const std::string profile = SeccompAdvisor::profile_json(sel);
    std::fputs(advisor.report(sel).c_str(), stderr);
    if (std::fputs(profile.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "seccomp-profile: writing the profile failed\n");
        return 1;
    }
    return 0;
}

}  // namespace

int run_seccomp_profile(const Generation& loaded, const std::string& input, const std::string& target) {
    SeccompAdvisor advisor;
    if (std::string error; !learn_seccomp(loaded.cfg, loaded.rules, input, advisor, error)) {
        std::fprintf(stderr, "seccomp-profile: %s\n", error.c_str());
        return 1;
    }
    return print_profile(advisor, loaded.cfg, input, target);
}

int run_seccomp_profile_live(const Generation& loaded, const std::string& target) {
    const std::string& path = loaded.cfg.seccomp_learn_file;
    if (path.empty()) {
        std::fprintf(stderr, "seccomp-profile: seccomp_learn_file is off in the configuration: learn from a saved stream "
                             "with --input PATH\n");
        return 1;
    }
    const auto slash = path.rfind('/');
    std::string why;
    constexpr std::size_t kMaxStateBytes = 64 * 1024 * 1024;
    const auto text = slash == std::string::npos || slash == 0
                          ? std::nullopt
                          : util::read_beneath(path.substr(0, slash), path.substr(slash + 1), kMaxStateBytes, &why);
    if (!text) {
        std::fprintf(stderr,
                     "seccomp-profile: cannot read the live plugin's learned state %s (%s): the plugin writes it on "
                     "SIGUSR1 and when it stops, once a container's SECCOMP records were seen\n",
                     path.c_str(), why.empty() ? "not an absolute path in a directory" : why.c_str());
        return 1;
    }
    SeccompAdvisor advisor;
    std::string written;
    if (std::string error; !advisor.load_state(*text, written, error)) {
        std::fprintf(stderr, "seccomp-profile: %s: %s\n", path.c_str(), error.c_str());
        return 1;
    }
    std::fprintf(stderr, "seccomp-profile: learned by the live plugin, as of %s (%s)\n",
                 written.empty() ? "?" : printable(written).c_str(), path.c_str());
    return print_profile(advisor, loaded.cfg, path, target);
}

}  // namespace adock::app
