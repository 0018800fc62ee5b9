// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alert/alert.hpp"
#include "proc/process_table.hpp"

namespace adock::proc {

/// Container identity from a cgroup file's contents (/proc/PID/cgroup, v1 or v2).
/// Knows docker (cgroupfs and systemd drivers), containerd CRI (systemd and cgroupfs),
/// plain containerd namespaces (`/default/<id>` as ctr and nerdctl make them), CRI-O,
/// podman (libpod), kubepods and buildkit. nullopt for host processes.
/// `is_containerd_namespace(ns)` decides whether `/<ns>/<id>` is a containerd task.
[[nodiscard]] std::optional<ContainerRef> container_from_cgroup(
    std::string_view cgroup_file,
    const std::function<bool(std::string_view ns, std::string_view id)>& is_containerd_task);

/// Container identity from a containerd shim's argv (`-namespace NS -id ID`).
[[nodiscard]] std::optional<ContainerRef> container_from_shim_argv(const std::vector<std::string>& argv);

/// Container identity from an OCI runtime's argv (runc, crun, runsc, youki share the CLI):
/// `run|create|restore [options] ID` and `exec [options] ID COMMAND...`. The runtime process
/// itself runs on the host; the processes it starts (`runc init`, then the container's
/// command) belong to container ID. runtime is the binary's name.
[[nodiscard]] std::optional<ContainerRef> container_from_runtime_argv(const std::vector<std::string>& argv);

/// Attributes processes to containers and fills in names and images from the runtimes' state
/// files (containerd task config.json, docker config.v2.json). No runtime socket is used.
class ContainerResolver {
public:
    ContainerResolver(std::string containerd_state_dir, std::string docker_containers_dir);

    /// The container of a process: its cgroup if it is alive, else inherited from the nearest
    /// ancestor we know, else the shim or runtime invocation it descends from. A runtime
    /// started by hand (`runc run` without a manager) leaves a cgroup no manager named, so a
    /// live process on the host cgroup is still checked for a runtime parent. nullopt on the
    /// host.
    std::optional<ContainerRef> for_process(ProcessTable& table, int pid, unsigned depth);

    /// Fills name/image (cached per id, bounded).
    void enrich(ContainerRef& ref);

private:
    bool is_containerd_task(std::string_view ns, std::string_view id) const;

    std::string containerd_state_dir_;
    std::string docker_containers_dir_;
    struct Names {
        std::optional<std::string> name;
        std::optional<std::string> image;
    };
    std::unordered_map<std::string, Names> names_;
};

}  // namespace adock::proc
