// SPDX-License-Identifier: Apache-2.0
// Which container a process is in, from text: a cgroup path (docker, containerd, CRI, CRI-O,
// podman, BuildKit), a containerd shim's or conmon's command line, a runtime's (runc, crun).
// ContainerResolver (attribution through the process tree) is in containers_attribution.cpp,
// NameResolver (names, image and spec facts from the runtimes' state) in containers_names.cpp.
#include "proc/containers.hpp"

#include <functional>

#include "proc/containers_detail.hpp"
#include "util/safe_read.hpp"
#include "util/split.hpp"

namespace adock::proc {

using detail::is_hex;

namespace {

/// A runtime id: 64 hex for docker/CRI/podman; containerd's own ids are free-form but bounded,
/// and always one safe path component (never ".", "..", or anything with a '/').
bool plausible_id(std::string_view s) {
    return util::safe_component(s);
}

bool strip(std::string_view& s, std::string_view prefix, std::string_view suffix) {
    if (s.size() < prefix.size() + suffix.size() || !s.starts_with(prefix) ||
        !s.ends_with(suffix)) {
        return false;
    }
    s = s.substr(prefix.size(), s.size() - prefix.size() - suffix.size());
    return true;
}

ContainerRef make(std::string_view id,
                  std::string runtime,
                  std::optional<std::string> ns = std::nullopt) {
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
        if ((strip(id, "crio-", ".scope") || strip(id, "crio-", "")) &&
            !id.starts_with("conmon-") && is_hex(id)) {
            return make(id, "cri-o");
        }
        id = c;
        if ((strip(id, "libpod-", ".scope") || strip(id, "libpod-", "")) &&
            !id.starts_with("conmon-") && is_hex(id)) {
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

}  // namespace

std::optional<ContainerRef> container_from_runtime_argv(const std::vector<std::string>& argv) {
    if (argv.size() < 3) {
        return std::nullopt;
    }
    const std::string_view name = base_name(argv[0]);
    std::size_t i = 1;
    while (i < argv.size() && argv[i].starts_with("-")) {
        const bool has_value =
            global_option_takes_value(argv[i]) && argv[i].find('=') == std::string::npos;
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
        if ((argv[j] == "--bundle" || argv[j] == "-b") &&
            argv[j + 1].find("/buildkit/") != std::string::npos) {
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
                         : (name.empty() || !util::safe_component(name) ? std::string("runc")
                                                                        : std::string(name));
    return c;
}

}  // namespace adock::proc
