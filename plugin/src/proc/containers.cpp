// SPDX-License-Identifier: Apache-2.0
#include "proc/containers.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <sstream>

namespace adock::proc {
namespace {

bool is_hex(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

/// A runtime id: 64 hex for docker/CRI/podman; containerd's own ids are free-form but bounded.
bool plausible_id(std::string_view s) {
    if (s.empty() || s.size() > 128) {
        return false;
    }
    return s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
           std::string_view::npos;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const auto p = s.find(sep, start);
        if (p == std::string_view::npos) {
            out.push_back(s.substr(start));
            break;
        }
        out.push_back(s.substr(start, p - start));
        start = p + 1;
    }
    return out;
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
    for (auto p : split(path, '/')) {
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

std::optional<std::string> read_text(const std::string& path, std::size_t max) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::string out(max, '\0');
    in.read(out.data(), static_cast<std::streamsize>(max));
    out.resize(static_cast<std::size_t>(in.gcount()));
    return out;
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
    for (auto line : split(cgroup_file, '\n')) {
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
    const std::string_view arg0 = argv[0];
    const auto slash = arg0.rfind('/');
    const std::string_view base = slash == std::string_view::npos ? arg0 : arg0.substr(slash + 1);
    if (!base.starts_with("containerd-shim")) {
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
    if (!id || !plausible_id(*id)) {
        return std::nullopt;
    }
    ContainerRef c;
    c.id = *id;
    c.runtime = "containerd";
    c.ns = ns;
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
    auto stat = read_text(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
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
    if (name != "runc" && name != "crun" && name != "runsc" && name != "youki") {
        return std::nullopt;
    }
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
    c.runtime = std::string(name);
    return c;
}

ContainerResolver::ContainerResolver(std::string containerd_state_dir, std::string docker_containers_dir)
    : containerd_state_dir_(std::move(containerd_state_dir)),
      docker_containers_dir_(std::move(docker_containers_dir)) {}

bool ContainerResolver::is_containerd_task(std::string_view ns, std::string_view id) const {
    if (ns == "default" || ns == "k8s.io" || ns == "moby" || ns == "buildkit") {
        return true;
    }
    struct stat st {};
    const std::string dir = containerd_state_dir_ + "/" + std::string(ns) + "/" + std::string(id);
    return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::optional<ContainerRef> ContainerResolver::for_process(ProcessTable& table, int pid, unsigned depth) {
    ProcessInfo* self = table.find(pid);
    if (self != nullptr && self->container) {
        return *self->container;
    }
    if (self != nullptr && (container_from_runtime_argv(self->argv) || container_from_shim_argv(self->argv))) {
        return std::nullopt;  // the runtime and the shim themselves run on the host
    }
    std::optional<ContainerRef> found;
    bool live = false;
    if (table.use_proc()) {
        // A live process answers for itself; its cgroup file exists even on the host.
        auto text = read_text(table.proc_root() + "/" + std::to_string(pid) + "/cgroup", 16384);
        if (text) {
            live = true;
            found = container_from_cgroup(*text, [this](std::string_view ns, std::string_view id) {
                return is_containerd_task(ns, id);
            });
            if (!found && !alive(table.proc_root(), pid)) {
                // An exited, unreaped process reads as the root cgroup: not evidence of the host.
                live = false;
            }
        }
    }
    if (!found && self != nullptr) {
        // Inherit from the nearest ancestor we can attribute, or the shim or runtime invocation
        // it descends from. A live process whose cgroup named no container only takes a runtime
        // parent (runc run by hand): under a shim, its cgroup would have said so.
        const auto chain = table.ancestry(self->ppid, depth);
        for (std::size_t i = 0; i < chain.size(); ++i) {
            const ProcessInfo* a = chain[i];
            if (auto rt = container_from_runtime_argv(a->argv)) {
                found = rt;
                // Under containerd the runtime's own parent is the shim, which also knows the
                // namespace: prefer its view of the same container.
                for (std::size_t j = i + 1; j < chain.size(); ++j) {
                    auto shim = container_from_shim_argv(chain[j]->argv);
                    if (shim && shim->id == rt->id) {
                        found = shim;
                        break;
                    }
                }
                break;
            }
            if (live) {
                continue;
            }
            if (auto shim = container_from_shim_argv(a->argv)) {
                found = shim;
                break;
            }
            if (a->container) {
                found = *a->container;
                break;
            }
        }
    }
    if (found) {
        enrich(*found);
    }
    if (self != nullptr && (live || found)) {
        self->container = found;
    }
    return found;
}

void ContainerResolver::enrich(ContainerRef& ref) {
    auto it = names_.find(ref.id);
    if (it == names_.end()) {
        if (names_.size() > 4096) {
            names_.clear();
        }
        Names n;
        if (ref.runtime == "docker") {
            if (auto text = read_text(docker_containers_dir_ + "/" + ref.id + "/config.v2.json", 4 << 20)) {
                try {
                    const YAML::Node doc = YAML::Load(*text);
                    if (auto name = yaml_string(doc["Name"])) {
                        n.name = name->starts_with("/") ? name->substr(1) : *name;
                    }
                    n.image = yaml_string(doc["Config"]["Image"]);
                } catch (const YAML::Exception&) {
                }
            }
        } else if (ref.runtime == "containerd" && ref.ns) {
            const std::string path = containerd_state_dir_ + "/" + *ref.ns + "/" + ref.id + "/config.json";
            if (auto text = read_text(path, 4 << 20)) {
                try {
                    const YAML::Node ann = YAML::Load(*text)["annotations"];
                    n.name = yaml_string(ann["io.kubernetes.cri.container-name"]);
                    if (!n.name) {
                        n.name = yaml_string(ann["nerdctl/name"]);
                    }
                    n.image = yaml_string(ann["io.kubernetes.cri.image-name"]);
                    if (!n.name) {
                        n.name = ref.id;  // ctr: the id is the name the operator gave
                    }
                } catch (const YAML::Exception&) {
                }
            }
        }
        it = names_.emplace(ref.id, std::move(n)).first;
    }
    if (!ref.name) {
        ref.name = it->second.name;
    }
    if (!ref.image) {
        ref.image = it->second.image;
    }
}

}  // namespace adock::proc
