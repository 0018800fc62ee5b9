// SPDX-License-Identifier: Apache-2.0
// ContainerResolver: attributing a process to a container or the host, from its cgroup when
// /proc has it, else from its parent in the process table (a runtime, a shim, conmon).
#include <unordered_set>

#include "proc/containers.hpp"
#include "util/safe_read.hpp"

namespace adock::proc {

// ---- attribution ----------------------------------------------------------------------------

namespace {

/// A /proc file of a process (pid formatted by us, proc_root the operator's): small, regular.
util::Result<std::string> read_proc_file(const std::string& proc_root, int pid, const char* name) {
    return util::read_beneath(proc_root, std::to_string(pid) + "/" + name, 65536);
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

ContainerResolver::ContainerResolver(ContainerDirs dirs) : dirs_(std::move(dirs)) {}

bool ContainerResolver::is_containerd_task(std::string_view ns, std::string_view id) const {
    if (ns == "default" || ns == "k8s.io" || ns == "moby" || ns == "buildkit") {
        return true;
    }
    if (!util::safe_component(ns) || !util::safe_component(id)) {
        return false;
    }
    // Looked up beneath the state dir, never through a symlink.
    return util::regular_beneath(dirs_.containerd_state,
                                 std::string(ns) + "/" + std::string(id) + "/config.json");
}

std::optional<ContainerRef> ContainerResolver::runtime_container(ProcessTable& table,
                                                                 const ProcessInfo& runtime,
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

void ContainerResolver::from_cgroup(ProcessTable& table,
                                    ProcessInfo& p,
                                    const ProcessInfo* fallback_parent,
                                    const RoleOf& role_of) {
    if (table.use_proc()) {
        if (auto text = read_proc_file(table.proc_root(), p.pid, "cgroup");
            text && alive(table.proc_root(), p.pid)) {
            auto ref =
                container_from_cgroup(*text, [this](std::string_view ns, std::string_view id) {
                    return is_containerd_task(ns, id);
                });
            if (ref) {
                p.attribution = Attribution::Container;
                p.container = share(std::move(ref));
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
        std::optional<ContainerRef> ref = r == RuntimeRole::Shim
                                              ? container_from_shim_argv(fallback_parent->argv)
                                              : container_from_conmon_argv(fallback_parent->argv);
        if (ref) {
            p.attribution = Attribution::Container;
            p.container = share(std::move(ref));
            return;
        }
        p.attribution = fallback_parent->attribution == Attribution::Container
                            ? Attribution::Unknown
                            : fallback_parent->attribution;
        return;
    }
    p.attribution = p.pid == 1 ? Attribution::Host : Attribution::Unknown;
}

void ContainerResolver::decide(ProcessTable& table,
                               ProcessInfo& child,
                               const ProcessInfo* parent,
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
            child.container = share(std::move(ref));
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
            child.container = share(std::move(ref));
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
    child.container = parent->attribution == Attribution::Container ? parent->container : nullptr;
}

Attribution ContainerResolver::attribute(ProcessTable& table,
                                         int pid,
                                         const RoleOf& role_of,
                                         SharedContainer* container) {
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
        *container = self->attribution == Attribution::Container ? self->container : nullptr;
    }
    return self->attribution;
}

}  // namespace adock::proc
