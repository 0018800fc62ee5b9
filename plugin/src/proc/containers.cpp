// SPDX-License-Identifier: Apache-2.0
#include "proc/containers.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_set>

#include "util/log.hpp"
#include "util/safe_read.hpp"
#include "util/split.hpp"
#include "util/thread_name.hpp"

namespace adock::proc {
namespace {

bool is_hex(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

/// A runtime id: 64 hex for docker/CRI/podman; containerd's own ids are free-form but bounded,
/// and always one safe path component (never ".", "..", or anything with a '/').
bool plausible_id(std::string_view s) {
    return util::safe_component(s);
}

bool strip(std::string_view& s, std::string_view prefix, std::string_view suffix) {
    if (s.size() < prefix.size() + suffix.size() || !s.starts_with(prefix) || !s.ends_with(suffix)) {
        return false;
    }
    s = s.substr(prefix.size(), s.size() - prefix.size() - suffix.size());
    return true;
}

ContainerRef make(std::string_view id, std::string runtime, std::optional<std::string> ns = std::nullopt) {
    ContainerRef c;
    c.id = std::string(id);
    c.runtime = std::move(runtime);
    c.ns = std::move(ns);
    return c;
}

std::optional<ContainerRef> from_path(
    std::string_view path,
    const std::function<bool(std::string_view, std::string_view)>& is_containerd_task) {
    std::vector<std::string_view> parts;
    for (auto p : util::split(path, '/')) {
        if (!p.empty()) {
            parts.push_back(p);
        }
    }
    // Scan from the leaf up: `libpod-<id>.scope/container` has the id one level above the leaf.
    for (std::size_t i = parts.size(); i-- > 0;) {
        std::string_view c = parts[i];
        const auto cri = c.find(":cri-containerd:");
        if (cri != std::string_view::npos) {
            return make(c.substr(cri + 16), "containerd", "k8s.io");
        }
        std::string_view id = c;
        if (strip(id, "docker-", ".scope") && is_hex(id)) {
            return make(id, "docker", "moby");
        }
        id = c;
        if (strip(id, "cri-containerd-", ".scope") && plausible_id(id)) {
            return make(id, "containerd", "k8s.io");
        }
        id = c;
        if ((strip(id, "crio-", ".scope") || strip(id, "crio-", "")) && !id.starts_with("conmon-") &&
            is_hex(id)) {
            return make(id, "cri-o");
        }
        id = c;
        if ((strip(id, "libpod-", ".scope") || strip(id, "libpod-", "")) && !id.starts_with("conmon-") &&
            is_hex(id)) {
            return make(id, "podman");
        }
        if (c.size() == 64 && is_hex(c) && i > 0) {
            const std::string_view parent = parts[i - 1];
            if (parent == "docker") {
                return make(c, "docker", "moby");
            }
            if (parent.starts_with("pod") || parent.starts_with("kubepods")) {
                return make(c, "cri", "k8s.io");
            }
        }
        if (i > 0 && parts[i - 1] == "buildkit" && plausible_id(c)) {
            return make(c, "buildkit");
        }
    }
    // Plain containerd (ctr, nerdctl): /<namespace>/<id>
    if (parts.size() == 2 && plausible_id(parts[0]) && plausible_id(parts[1]) &&
        is_containerd_task(parts[0], parts[1])) {
        return make(parts[1], "containerd", std::string(parts[0]));
    }
    return std::nullopt;
}

/// A /proc file of a process (pid formatted by us, proc_root the operator's): small, regular.
std::optional<std::string> read_proc_file(const std::string& proc_root, int pid, const char* name) {
    return util::read_beneath(proc_root, std::to_string(pid) + "/" + name, 65536);
}

std::optional<std::string> yaml_string(const YAML::Node& n) {
    if (n && n.IsScalar() && !n.Scalar().empty()) {
        return n.Scalar();
    }
    return std::nullopt;
}

}  // namespace

std::optional<ContainerRef> container_from_cgroup(
    std::string_view cgroup_file,
    const std::function<bool(std::string_view, std::string_view)>& is_containerd_task) {
    for (auto line : util::split(cgroup_file, '\n')) {
        // v2: "0::/path"; v1: "N:controllers:/path". The path is after the second colon.
        const auto c1 = line.find(':');
        if (c1 == std::string_view::npos) {
            continue;
        }
        const auto c2 = line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) {
            continue;
        }
        if (auto ref = from_path(line.substr(c2 + 1), is_containerd_task)) {
            return ref;
        }
    }
    return std::nullopt;
}

std::optional<ContainerRef> container_from_shim_argv(const std::vector<std::string>& argv) {
    if (argv.empty()) {
        return std::nullopt;
    }
    std::optional<std::string> ns;
    std::optional<std::string> id;
    for (std::size_t i = 1; i + 1 < argv.size(); ++i) {
        if (argv[i] == "-namespace" || argv[i] == "--namespace") {
            ns = argv[i + 1];
        } else if (argv[i] == "-id" || argv[i] == "--id") {
            id = argv[i + 1];
        }
    }
    if (!id || !plausible_id(*id) || (ns && !util::safe_component(*ns))) {
        return std::nullopt;
    }
    ContainerRef c;
    c.id = *id;
    c.runtime = ns == "moby" ? "docker" : "containerd";
    c.ns = ns;
    return c;
}

std::optional<ContainerRef> container_from_conmon_argv(const std::vector<std::string>& argv) {
    std::optional<std::string> id;
    std::optional<std::string> name;
    bool podman = false;
    for (std::size_t i = 1; i + 1 < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a == "-c" || a == "--cid") {
            id = argv[i + 1];
        } else if (a == "-n" || a == "--name") {
            name = argv[i + 1];
        }
    }
    // CRI-O's conmon names its state (/var/run/crio/exits, crio-<id>.log); podman's does not.
    // (A daemonised conmon is known by its PROCTITLE, cut at 128 bytes: look at what is there.)
    for (const auto& a : argv) {
        if (a.find("/crio") != std::string::npos || a.find("crio-") != std::string::npos) {
            podman = false;
            break;
        }
        podman = true;
    }
    if (!id || !plausible_id(*id)) {
        return std::nullopt;
    }
    ContainerRef c;
    c.id = *id;
    c.runtime = podman ? "podman" : "cri-o";
    if (name && !name->empty() && name->size() <= 256) {
        c.name = name;
    }
    return c;
}

namespace {

std::string_view base_name(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// Global options of runc/crun that take a value (`--root DIR`), so their value is skipped.
bool global_option_takes_value(std::string_view opt) {
    return opt == "--root" || opt == "--log" || opt == "--log-format" || opt == "--criu" ||
           opt == "--rootless";
}

/// `exec` options that take a value.
bool exec_option_takes_value(std::string_view opt) {
    return opt == "-p" || opt == "--process" || opt == "--console-socket" || opt == "--pid-file" ||
           opt == "--cwd" || opt == "-e" || opt == "--env" || opt == "-u" || opt == "--user" ||
           opt == "--additional-gids" || opt == "-g" || opt == "--process-label" ||
           opt == "--apparmor" || opt == "-c" || opt == "--cap" || opt == "--preserve-fds" ||
           opt == "--cgroup";
}

/// Whether /proc/PID is a running process, not a zombie (state Z) or dead (X).
bool alive(const std::string& proc_root, int pid) {
    auto stat = read_proc_file(proc_root, pid, "stat");
    if (!stat) {
        return false;
    }
    const auto paren = stat->rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat->size()) {
        return false;
    }
    const char state = (*stat)[paren + 2];
    return state != 'Z' && state != 'X' && state != 'x';
}

}  // namespace

std::optional<ContainerRef> container_from_runtime_argv(const std::vector<std::string>& argv) {
    if (argv.size() < 3) {
        return std::nullopt;
    }
    const std::string_view name = base_name(argv[0]);
    std::size_t i = 1;
    while (i < argv.size() && argv[i].starts_with("-")) {
        const bool has_value = global_option_takes_value(argv[i]) && argv[i].find('=') == std::string::npos;
        i += has_value ? 2 : 1;
    }
    if (i >= argv.size()) {
        return std::nullopt;
    }
    const std::string& sub = argv[i];
    std::optional<std::string> id;
    // BuildKit's executor runs its step containers with bundles under .../buildkit/executor/.
    bool buildkit = false;
    for (std::size_t j = i + 1; j + 1 < argv.size(); ++j) {
        if ((argv[j] == "--bundle" || argv[j] == "-b") && argv[j + 1].find("/buildkit/") != std::string::npos) {
            buildkit = true;
        }
    }
    if (sub == "run" || sub == "create" || sub == "restore") {
        // One positional argument, the id, after the options: the last argument.
        if (i + 1 < argv.size() && !argv.back().starts_with("-")) {
            id = argv.back();
        }
    } else if (sub == "exec") {
        for (std::size_t j = i + 1; j < argv.size(); ++j) {
            if (!argv[j].starts_with("-")) {
                id = argv[j];
                break;
            }
            if (exec_option_takes_value(argv[j])) {
                ++j;
            }
        }
    }
    if (!id || !plausible_id(*id)) {
        return std::nullopt;
    }
    ContainerRef c;
    c.id = *id;
    c.runtime = buildkit ? std::string("buildkit")
                         : (name.empty() || !util::safe_component(name) ? std::string("runc") : std::string(name));
    return c;
}

// ---- attribution ----------------------------------------------------------------------------

ContainerResolver::ContainerResolver(ContainerDirs dirs) : dirs_(std::move(dirs)) {}

bool ContainerResolver::is_containerd_task(std::string_view ns, std::string_view id) const {
    if (ns == "default" || ns == "k8s.io" || ns == "moby" || ns == "buildkit") {
        return true;
    }
    if (!util::safe_component(ns) || !util::safe_component(id)) {
        return false;
    }
    // Looked up beneath the state dir, never through a symlink.
    return util::regular_beneath(dirs_.containerd_state, std::string(ns) + "/" + std::string(id) + "/config.json");
}

std::optional<ContainerRef> ContainerResolver::runtime_container(ProcessTable& table, const ProcessInfo& runtime,
                                                                 const RoleOf& role_of) {
    auto ref = container_from_runtime_argv(runtime.argv);
    if (!ref) {
        return std::nullopt;
    }
    // Under containerd the runtime's parent is the shim, under podman/CRI-O conmon: they know
    // the namespace and the engine.
    if (const ProcessInfo* up = table.peek(runtime.ppid)) {
        const RuntimeRole r = role_of(*up);
        if (r == RuntimeRole::Shim) {
            if (auto shim = container_from_shim_argv(up->argv); shim && shim->id == ref->id) {
                return shim;
            }
            if (auto shim = container_from_shim_argv(up->argv)) {
                ref->ns = shim->ns;  // a pod's shim serves several containers
                ref->runtime = shim->runtime;
            }
        } else if (r == RuntimeRole::Conmon) {
            if (auto mon = container_from_conmon_argv(up->argv); mon && mon->id == ref->id) {
                return mon;
            }
        }
    }
    return ref;
}

void ContainerResolver::from_cgroup(ProcessTable& table, ProcessInfo& p, const ProcessInfo* fallback_parent,
                                    const RoleOf& role_of) {
    if (table.use_proc()) {
        if (auto text = read_proc_file(table.proc_root(), p.pid, "cgroup"); text && alive(table.proc_root(), p.pid)) {
            auto ref = container_from_cgroup(*text, [this](std::string_view ns, std::string_view id) {
                return is_containerd_task(ns, id);
            });
            if (ref) {
                p.attribution = Attribution::Container;
                p.container = std::move(ref);
                return;
            }
            // The host's cgroups; a runtime started by hand names none, so the stream decides
            // below when it can.
            if (fallback_parent == nullptr) {
                p.attribution = Attribution::Host;
                return;
            }
        }
    }
    if (fallback_parent != nullptr) {
        const RuntimeRole r = role_of(*fallback_parent);
        std::optional<ContainerRef> ref = r == RuntimeRole::Shim ? container_from_shim_argv(fallback_parent->argv)
                                                                 : container_from_conmon_argv(fallback_parent->argv);
        if (ref) {
            p.attribution = Attribution::Container;
            p.container = std::move(ref);
            return;
        }
        p.attribution = fallback_parent->attribution == Attribution::Container ? Attribution::Unknown
                                                                                : fallback_parent->attribution;
        return;
    }
    p.attribution = p.pid == 1 ? Attribution::Host : Attribution::Unknown;
}

void ContainerResolver::decide(ProcessTable& table, ProcessInfo& child, const ProcessInfo* parent,
                               const RoleOf& role_of) {
    const RuntimeRole mine = role_of(child);
    if (parent == nullptr) {
        if (mine != RuntimeRole::None && !(mine == RuntimeRole::OciRuntime && table.use_proc())) {
            child.attribution = Attribution::Host;  // a runtime or daemon of the host's files
            return;
        }
        from_cgroup(table, child, nullptr, role_of);
        return;
    }
    const RuntimeRole theirs = role_of(*parent);
    if (mine == RuntimeRole::OciRuntime && theirs == RuntimeRole::OciRuntime) {
        // runc init: the runtime's child that becomes the container's first process.
        if (auto ref = runtime_container(table, *parent, role_of)) {
            child.attribution = Attribution::Container;
            child.container = std::move(ref);
            return;
        }
    }
    if (mine != RuntimeRole::None) {
        // The runtime, a shim, conmon, a daemon: host processes, whoever started them.
        child.attribution = Attribution::Host;
        return;
    }
    if (theirs == RuntimeRole::OciRuntime) {
        // crun's child (no re-exec), or a runtime's hook: the container named on its command
        // line; otherwise the runtime's own attribution.
        if (auto ref = runtime_container(table, *parent, role_of)) {
            child.attribution = Attribution::Container;
            child.container = std::move(ref);
            return;
        }
    }
    if (theirs == RuntimeRole::Shim || theirs == RuntimeRole::Conmon) {
        // A container's first process reparented to its supervisor, or a hook: the kernel's
        // cgroup says which container (a pod's shim serves several); else the supervisor's.
        from_cgroup(table, child, parent, role_of);
        return;
    }
    child.attribution = parent->attribution;
    child.container = parent->attribution == Attribution::Container ? parent->container : std::nullopt;
}

Attribution ContainerResolver::attribute(ProcessTable& table, int pid, const RoleOf& role_of,
                                         std::optional<ContainerRef>* container) {
    ProcessInfo* self = table.find(pid);
    if (self == nullptr) {
        return Attribution::Unknown;
    }
    if (self->attribution == Attribution::Pending) {
        // Up to the nearest ancestor that is decided (or whose parent nobody knows), then down.
        std::vector<int> chain{pid};
        std::unordered_set<int> seen{pid};
        constexpr std::size_t kMaxWalk = 4096;
        int top = pid;
        bool top_has_parent = false;
        while (chain.size() < kMaxWalk) {
            ProcessInfo* cur = table.peek(top);
            if (cur == nullptr || cur->ppid <= 0 || cur->pid == 1) {
                break;
            }
            ProcessInfo* parent = table.find(cur->ppid);
            if (parent == nullptr || !seen.insert(parent->pid).second) {
                break;
            }
            if (parent->attribution != Attribution::Pending) {
                top_has_parent = true;
                break;
            }
            chain.push_back(parent->pid);
            top = parent->pid;
        }
        for (std::size_t i = chain.size(); i-- > 0;) {
            ProcessInfo* p = table.peek(chain[i]);
            if (p == nullptr || p->attribution != Attribution::Pending) {
                continue;
            }
            const ProcessInfo* parent = nullptr;
            if (i + 1 < chain.size() || top_has_parent) {
                parent = p->ppid > 0 ? table.peek(p->ppid) : nullptr;
            }
            decide(table, *p, parent, role_of);
        }
        self = table.peek(pid);
        if (self == nullptr) {
            return Attribution::Unknown;
        }
    }
    if (container != nullptr) {
        *container = self->attribution == Attribution::Container ? self->container : std::nullopt;
    }
    return self->attribution;
}

// ---- names ------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kStateFileMax = 4U << 20U;  ///< bytes read of one runtime state file
constexpr std::size_t kMaxNames = 4096;           ///< containers remembered

std::optional<std::string> bounded(std::optional<std::string> s) {
    if (s && s->size() > 512) {
        s->resize(512);
    }
    return s;
}

std::optional<YAML::Node> parse_json(const std::optional<std::string>& text) {
    if (!text) {
        return std::nullopt;
    }
    try {
        return YAML::Load(*text);
    } catch (const YAML::Exception&) {
        return std::nullopt;
    }
}

bool is_hex64(std::string_view s) {
    return s.size() == 64 && is_hex(s);
}

void add_if_sensitive(ContainerSpec& spec, const std::optional<std::string>& source, const std::optional<std::string>& destination) {
    if (source && host_sensitive_source(*source)) {
        spec.add_bind(*source, destination.value_or(""));
    }
}

/// An OCI runtime spec's process.cwd and bind mounts (podman, CRI-O, containerd bundles).
void oci_spec_facts(const YAML::Node& spec, ContainerSpec& out) {
    if (!spec.IsMap()) {
        return;
    }
    if (const YAML::Node proc = spec["process"]; proc && proc.IsMap()) {
        if (auto cwd = yaml_string(proc["cwd"])) {
            out.cwd = bounded(std::move(cwd));
        }
    }
    const YAML::Node mounts = spec["mounts"];
    if (!mounts || !mounts.IsSequence()) {
        return;
    }
    for (const auto& m : mounts) {
        if (!m.IsMap()) {
            continue;
        }
        bool bind = yaml_string(m["type"]) == "bind";
        if (const YAML::Node opts = m["options"]; !bind && opts && opts.IsSequence()) {
            for (const auto& o : opts) {
                const auto s = yaml_string(o);
                bind = bind || s == "bind" || s == "rbind";
            }
        }
        if (bind) {
            add_if_sensitive(out, yaml_string(m["source"]), yaml_string(m["destination"]));
        }
    }
}

}  // namespace

NameResolver::NameResolver(ContainerDirs dirs) : dirs_(std::move(dirs)), queue_(1024) {
    worker_ = std::thread([this] { run(); });
}

NameResolver::~NameResolver() {
    queue_.close();
    if (worker_.joinable()) {
        worker_.join();
    }
}

std::string NameResolver::key_of(const ContainerRef& ref) {
    return ref.runtime + '\x1f' + ref.ns.value_or("") + '\x1f' + ref.id;
}

std::optional<NameResolver::Names> NameResolver::lookup(const ContainerRef& ref, bool* pending) {
    if (pending != nullptr) {
        *pending = false;
    }
    if (ref.id.empty()) {
        return std::nullopt;
    }
    const std::string key = key_of(ref);
    {
        const std::scoped_lock lock(mu_);
        auto it = cache_.find(key);
        if (it != cache_.end()) {
            if (it->second.done) {
                return it->second.names;
            }
            if (pending != nullptr) {
                *pending = true;
            }
            return std::nullopt;
        }
        if (cache_.size() >= kMaxNames) {
            for (auto e = cache_.begin(); e != cache_.end();) {  // forget what is done
                e = e->second.done ? cache_.erase(e) : std::next(e);
            }
        }
        cache_.emplace(key, Entry{});
        ++inflight_;
    }
    ContainerRef copy = ref;
    if (!queue_.try_push(std::move(copy))) {
        const std::scoped_lock lock(mu_);
        cache_.erase(key);  // asked again later
        --inflight_;
        return std::nullopt;
    }
    if (pending != nullptr) {
        *pending = true;
    }
    return std::nullopt;
}

void NameResolver::drain(unsigned ms) {
    std::unique_lock lock(mu_);
    idle_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return inflight_ == 0; });
}

void NameResolver::run() {
    util::name_this_thread("adock-names");
    for (;;) {
        auto ref = queue_.pop_for(std::chrono::milliseconds(1000));
        if (!ref) {
            if (queue_.closed()) {
                return;
            }
            continue;
        }
        Names n;
        try {
            n = read_names(*ref);
        } catch (const std::exception& e) {
            log::warning(std::string("containers: reading names failed: ") + e.what());
        }
        {
            const std::scoped_lock lock(mu_);
            auto& e = cache_[key_of(*ref)];
            e.done = true;
            e.names = std::move(n);
            --inflight_;
        }
        answered_.store(true, std::memory_order_release);
        idle_.notify_all();
    }
}

NameResolver::Names NameResolver::read_names(const ContainerRef& ref) const {
    Names n;
    if (!util::safe_component(ref.id) || (ref.ns && !util::safe_component(*ref.ns))) {
        return n;
    }
    auto annotations = [&n](const YAML::Node& ann) {
        if (!ann || !ann.IsMap()) {
            return;
        }
        // containerd CRI, then CRI-O, then nerdctl.
        n.name = yaml_string(ann["io.kubernetes.cri.container-name"]);
        n.pod = yaml_string(ann["io.kubernetes.cri.sandbox-name"]);
        n.pod_namespace = yaml_string(ann["io.kubernetes.cri.sandbox-namespace"]);
        n.image = yaml_string(ann["io.kubernetes.cri.image-name"]);
        if (!n.name) {
            n.name = yaml_string(ann["io.kubernetes.container.name"]);
        }
        if (!n.pod) {
            n.pod = yaml_string(ann["io.kubernetes.pod.name"]);
        }
        if (!n.pod_namespace) {
            n.pod_namespace = yaml_string(ann["io.kubernetes.pod.namespace"]);
        }
        if (!n.image) {
            n.image = yaml_string(ann["io.kubernetes.cri-o.ImageName"]);
        }
        if (!n.name) {
            n.name = yaml_string(ann["nerdctl/name"]);
        }
        if (!n.name) {
            n.name = yaml_string(ann["io.container.name"]);
        }
    };
    if (ref.runtime == "docker" || ref.ns == "moby") {
        if (is_hex64(ref.id)) {
            if (auto doc = parse_json(util::read_beneath(dirs_.docker_containers, ref.id + "/config.v2.json", kStateFileMax))) {
                if (auto name = yaml_string((*doc)["Name"])) {
                    n.name = name->starts_with("/") ? name->substr(1) : *name;
                }
                n.image = yaml_string((*doc)["Config"]["Image"]);
                // The classic builder's step containers (docker build, DOCKER_BUILDKIT=0): an
                // image by bare id, no log file, health checks off. `docker run` gives a log
                // path; a client could set all three only through the API (root already).
                const YAML::Node hc = (*doc)["Config"]["Healthcheck"]["Test"];
                const bool no_health = hc && hc.IsSequence() && hc.size() == 1 && yaml_string(hc[0]) == "NONE";
                const YAML::Node log = (*doc)["LogPath"];
                const bool no_log = log && log.IsScalar() && log.Scalar().empty();
                n.image_build = no_health && no_log && n.image && n.image->starts_with("sha256:");
                if (auto wd = yaml_string((*doc)["Config"]["WorkingDir"])) {
                    n.spec.cwd = bounded(std::move(wd));
                }
                if (const YAML::Node mps = (*doc)["MountPoints"]; mps && mps.IsMap()) {
                    for (const auto& kv : mps) {
                        if (kv.second.IsMap()) {
                            add_if_sensitive(n.spec, yaml_string(kv.second["Source"]), yaml_string(kv.second["Destination"]));
                        }
                    }
                }
            }
        }
        n.runtime = "docker";
    } else if (ref.runtime == "podman") {
        if (is_hex64(ref.id)) {
            if (auto doc = parse_json(util::read_beneath(dirs_.podman_storage, "overlay-containers/containers.json", kStateFileMax))) {
                if (doc->IsSequence()) {
                    for (const auto& c : *doc) {
                        if (yaml_string(c["id"]) != ref.id) {
                            continue;
                        }
                        const YAML::Node names = c["names"];
                        if (names && names.IsSequence() && names.size() > 0) {
                            n.name = yaml_string(names[0]);
                        }
                        if (auto meta = parse_json(yaml_string(c["metadata"]))) {
                            n.image = yaml_string((*meta)["image-name"]);
                            if (!n.name) {
                                n.name = yaml_string((*meta)["name"]);
                            }
                        }
                        if (!n.image) {
                            n.image = yaml_string(c["image"]);
                        }
                        break;
                    }
                }
            }
            if (auto spec = parse_json(util::read_beneath(dirs_.podman_storage, "overlay-containers/" + ref.id + "/userdata/config.json", kStateFileMax))) {
                oci_spec_facts(*spec, n.spec);
                if (!n.name || !n.image) {
                    Names a;
                    std::swap(a, n);
                    annotations((*spec)["annotations"]);
                    std::swap(a, n);
                    n.name = n.name ? n.name : a.name;
                    n.image = n.image ? n.image : a.image;
                }
            }
        }
        n.runtime = "podman";
    } else if (ref.runtime == "cri-o" || ref.runtime == "cri") {
        if (auto spec = parse_json(util::read_beneath(dirs_.crio_state, ref.id + "/userdata/config.json", kStateFileMax))) {
            annotations((*spec)["annotations"]);
            oci_spec_facts(*spec, n.spec);
        }
    } else if (ref.ns) {
        if (auto spec = parse_json(util::read_beneath(dirs_.containerd_state, *ref.ns + "/" + ref.id + "/config.json", kStateFileMax))) {
            annotations((*spec)["annotations"]);
            oci_spec_facts(*spec, n.spec);
            if (!n.name && *ref.ns != "k8s.io") {
                n.name = ref.id;  // ctr: the id is the name the operator gave
            }
        }
    }
    n.name = bounded(n.name);
    n.image = bounded(n.image);
    n.pod = bounded(n.pod);
    n.pod_namespace = bounded(n.pod_namespace);
    return n;
}

}  // namespace adock::proc
