// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "alert/alert.hpp"
#include "proc/container_request.hpp"
#include "proc/process_table.hpp"
#include "util/bounded_queue.hpp"

namespace adock::proc {

/// Container identity from a cgroup file's contents (/proc/PID/cgroup, v1 or v2).
/// Knows docker (cgroupfs and systemd drivers), containerd CRI (systemd and cgroupfs),
/// plain containerd namespaces (`/default/<id>` as ctr and nerdctl make them), CRI-O,
/// podman (libpod), kubepods and buildkit. nullopt for host processes.
/// `is_containerd_namespace(ns)` decides whether `/<ns>/<id>` is a containerd task.
[[nodiscard]] std::optional<ContainerRef> container_from_cgroup(
    std::string_view cgroup_file,
    const std::function<bool(std::string_view ns, std::string_view id)>& is_containerd_task);

/// Container identity from a containerd shim's argv (`-namespace NS -id ID`). Only meaningful
/// for a process known to be the host's shim (by its executable's identity); ids and namespaces
/// that are not one safe path component are refused.
[[nodiscard]] std::optional<ContainerRef> container_from_shim_argv(
    const std::vector<std::string>& argv);

/// Container identity from conmon's argv (`-c|--cid ID`, `-n|--name NAME`, `--exit-command`
/// naming podman or not: podman or cri-o). Only for the host's conmon, by identity.
[[nodiscard]] std::optional<ContainerRef> container_from_conmon_argv(
    const std::vector<std::string>& argv);

/// Container identity from an OCI runtime's argv (runc, crun, runsc, youki share the CLI):
/// `run|create|restore [options] ID` and `exec [options] ID COMMAND...`. The runtime process
/// itself runs on the host; the processes it starts (`runc init`, then the container's
/// command) belong to container ID. Only for a process known to be the host's runtime.
[[nodiscard]] std::optional<ContainerRef> container_from_runtime_argv(
    const std::vector<std::string>& argv);

/// What a process's executable is to the container machinery, decided by the engine from the
/// identity of the host's files (rule lists oci_runtimes and container_managers), never names.
enum class RuntimeRole : std::uint8_t {
    None,
    OciRuntime,  ///< runc, crun, ... (or runc re-executing itself)
    Shim,        ///< containerd-shim*: its children may be the containers it supervises
    Conmon,      ///< podman's and CRI-O's monitor: likewise
    Manager,     ///< dockerd, containerd, podman, crio, buildkitd: host daemons
};
using RoleOf = std::function<RuntimeRole(const ProcessInfo&)>;

/// Where container state files are, and whether they may be read (live hosts only).
struct ContainerDirs {
    std::string containerd_state;   ///< <ns>/<id>/config.json (the task's OCI bundle)
    std::string docker_containers;  ///< <64-hex id>/config.v2.json
    /// overlay-containers/containers.json, <id>/userdata/config.json
    std::string podman_storage;
    /// <id>/userdata/config.json
    std::string crio_state = "/run/containers/storage/overlay-containers";
};

/// Names, images and pods of containers, read from the runtimes' state files on a thread of
/// its own (never the engine's), once per container, bounded in entries and in bytes read.
class NameResolver {
public:
    struct Names {
        std::optional<std::string> name;
        std::optional<std::string> image;
        std::optional<std::string> pod;
        std::optional<std::string> pod_namespace;
        std::optional<std::string> runtime;  ///< a better runtime name than the attribution's
        bool image_build = false;            ///< a container an image build runs (docker build)
        /// Its spec's working directory and the bind mounts that give it the host (only those:
        /// a spec with hundreds of harmless mounts cannot push one out of the bound).
        ContainerSpec spec;
    };

    explicit NameResolver(ContainerDirs dirs);
    NameResolver(const NameResolver&) = delete;
    NameResolver& operator=(const NameResolver&) = delete;
    NameResolver(NameResolver&&) = delete;
    NameResolver& operator=(NameResolver&&) = delete;
    ~NameResolver();

    /// Engine thread, never blocks: the names when known; otherwise the lookup is queued (once)
    /// and nullopt returned. `pending` is set when a lookup is in flight for the container.
    std::optional<Names> lookup(const ContainerRef& ref, bool* pending = nullptr);

    /// Whether some lookup finished since the last call (engine thread).
    bool answered() { return answered_.exchange(false, std::memory_order_acq_rel); }

    /// Blocks until the queued lookups are done (end of a replay, tests), at most `ms`.
    void drain(unsigned ms);

    /// The lookup itself (worker thread; exposed for tests).
    [[nodiscard]] Names read_names(const ContainerRef& ref) const;

private:
    void run();
    static std::string key_of(const ContainerRef& ref);

    ContainerDirs dirs_;
    util::BoundedQueue<ContainerRef> queue_;
    std::mutex mu_;
    std::condition_variable idle_;

    struct Entry {
        bool done = false;
        Names names;
    };

    std::unordered_map<std::string, Entry> cache_;  ///< guarded by mu_
    unsigned inflight_ = 0;                         ///< guarded by mu_
    std::atomic<bool> answered_{false};
    /// Last member: joined (after ~NameResolver closed the queue) before the queue, the cache
    /// and the mutex run() uses are destroyed.
    std::jthread worker_;
};

/// Attributes processes to containers. A process's attribution is decided once, when it is
/// learned: from its parent's (inherited through the process table, whatever the depth), from
/// what its parent is by identity (the children of the host's runc, shim or conmon), or from
/// the kernel's cgroup on a live host; unknown otherwise, never "host" for lack of evidence.
class ContainerResolver {
public:
    explicit ContainerResolver(ContainerDirs dirs);

    /// The attribution of pid, deciding it (and its ancestors') if not yet done. `container`
    /// is filled for Attribution::Container.
    Attribution attribute(ProcessTable& table,
                          int pid,
                          const RoleOf& role_of,
                          SharedContainer* container = nullptr);

    /// The container a runtime process starts: its argv, with the namespace and runtime of the
    /// shim or conmon above it.
    std::optional<ContainerRef> runtime_container(ProcessTable& table,
                                                  const ProcessInfo& runtime,
                                                  const RoleOf& role_of);

private:
    void decide(ProcessTable& table,
                ProcessInfo& child,
                const ProcessInfo* parent,
                const RoleOf& role_of);
    void from_cgroup(ProcessTable& table,
                     ProcessInfo& p,
                     const ProcessInfo* fallback_parent,
                     const RoleOf& role_of);
    [[nodiscard]] bool is_containerd_task(std::string_view ns, std::string_view id) const;

    ContainerDirs dirs_;
};

}  // namespace adock::proc
