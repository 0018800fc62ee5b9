// SPDX-License-Identifier: Apache-2.0
// NameResolver: a container's names, image and spec facts (cwd, sensitive binds), read from the
// runtime's state (docker, podman, CRI-O, containerd) on a worker thread, cached by container.
#include <yaml-cpp/yaml.h>

#include <chrono>

#include "proc/containers.hpp"
#include "proc/containers_detail.hpp"
#include "util/log.hpp"
#include "util/safe_read.hpp"
#include "util/thread_name.hpp"

namespace adock::proc {

using detail::is_hex;

// ---- names ------------------------------------------------------------------------------------

namespace {

std::optional<std::string> yaml_string(const YAML::Node& n) {
    if (n && n.IsScalar() && !n.Scalar().empty()) {
        return n.Scalar();
    }
    return std::nullopt;
}

constexpr std::size_t kStateFileMax = 4U << 20U;  ///< bytes read of one runtime state file
constexpr std::size_t kMaxNames = 4096;           ///< containers remembered

std::optional<std::string> bounded(std::optional<std::string> s) {
    if (s && s->size() > 512) {
        s->resize(512);
    }
    return s;
}

/// The document in `text` (a std::optional or a util::Result of the text read); nothing when
/// there is no text or it does not parse.
template <class MaybeText>
std::optional<YAML::Node> parse_json(const MaybeText& text) {
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

void add_if_sensitive(ContainerSpec& spec,
                      const std::optional<std::string>& source,
                      const std::optional<std::string>& destination) {
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
    worker_ = std::jthread([this] { run(); });
}

NameResolver::~NameResolver() {
    // run() returns once what is queued is read; worker_, the last member, is joined first
    // when the members are destroyed, before the queue and the cache it uses.
    queue_.close();
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
            if (auto doc = parse_json(util::read_beneath(
                    dirs_.docker_containers, ref.id + "/config.v2.json", kStateFileMax))) {
                if (auto name = yaml_string((*doc)["Name"])) {
                    n.name = name->starts_with("/") ? name->substr(1) : *name;
                }
                n.image = yaml_string((*doc)["Config"]["Image"]);
                // The classic builder's step containers (docker build, DOCKER_BUILDKIT=0): an
                // image by bare id, no log file, health checks off. `docker run` gives a log
                // path; a client could set all three only through the API (root already).
                const YAML::Node hc = (*doc)["Config"]["Healthcheck"]["Test"];
                const bool no_health =
                    hc && hc.IsSequence() && hc.size() == 1 && yaml_string(hc[0]) == "NONE";
                const YAML::Node log = (*doc)["LogPath"];
                const bool no_log = log && log.IsScalar() && log.Scalar().empty();
                n.image_build = no_health && no_log && n.image && n.image->starts_with("sha256:");
                if (auto wd = yaml_string((*doc)["Config"]["WorkingDir"])) {
                    n.spec.cwd = bounded(std::move(wd));
                }
                if (const YAML::Node mps = (*doc)["MountPoints"]; mps && mps.IsMap()) {
                    for (const auto& kv : mps) {
                        if (kv.second.IsMap()) {
                            add_if_sensitive(n.spec,
                                             yaml_string(kv.second["Source"]),
                                             yaml_string(kv.second["Destination"]));
                        }
                    }
                }
            }
        }
        n.runtime = "docker";
    } else if (ref.runtime == "podman") {
        if (is_hex64(ref.id)) {
            if (auto doc = parse_json(util::read_beneath(
                    dirs_.podman_storage, "overlay-containers/containers.json", kStateFileMax))) {
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
            if (auto spec = parse_json(
                    util::read_beneath(dirs_.podman_storage,
                                       "overlay-containers/" + ref.id + "/userdata/config.json",
                                       kStateFileMax))) {
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
        if (auto spec = parse_json(util::read_beneath(
                dirs_.crio_state, ref.id + "/userdata/config.json", kStateFileMax))) {
            annotations((*spec)["annotations"]);
            oci_spec_facts(*spec, n.spec);
        }
    } else if (ref.ns) {
        if (auto spec = parse_json(util::read_beneath(
                dirs_.containerd_state, *ref.ns + "/" + ref.id + "/config.json", kStateFileMax))) {
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
