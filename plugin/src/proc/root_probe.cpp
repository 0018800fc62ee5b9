// SPDX-License-Identifier: Apache-2.0
#include "proc/root_probe.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "util/audit_dev.hpp"
#include "util/bounded_queue.hpp"
#include "util/dir_stream.hpp"
#include "util/log.hpp"
#include "util/safe_read.hpp"
#include "util/thread_name.hpp"
#include "util/unique_fd.hpp"

namespace adock::proc {

namespace {

std::string key_of(const std::string& container, const std::string& dev, std::uint64_t inode) {
    std::string k;
    k.reserve(container.size() + dev.size() + 24);
    k.append(container).push_back('\0');
    k.append(dev).push_back('\0');
    k.append(std::to_string(inode));
    return k;
}

/// `path` (absolute, as a rule names it) opened inside the root `root_fd`: symlinks are
/// followed as the container would, but never out of its root and never through /proc magic.
util::UniqueFd open_in_root(int root_fd, const std::string& path, int flags) {
    const std::string rel = path.find_first_not_of('/') == std::string::npos
                                ? "."
                                : path.substr(path.find_first_not_of('/'));
    return util::openat2(
        root_fd,
        rel.c_str(),
        static_cast<std::uint64_t>(static_cast<unsigned>(flags | O_NOCTTY | O_NONBLOCK)),
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

}  // namespace

struct RootProbe::Shared {
    struct Job {
        std::string container;
        int pid = 0;
    };

    struct Container {
        enum class State { Queued, Done, Failed } state = State::Queued;
        unsigned attempts = 0;
        bool no_wait = false;           ///< a wait for it timed out once: never again
        std::vector<std::string> keys;  ///< its entries in by_id, forgotten together
    };

    Shared(std::string root, std::vector<std::string> p, Limits l)
        : proc_root(std::move(root)), limits(l), paths(std::move(p)) {}

    const std::string proc_root;
    const Limits limits;
    util::BoundedQueue<Job> queue{64};
    std::mutex mu;
    std::condition_variable idle;
    std::vector<std::string> paths;                         ///< guarded by mu
    std::unordered_map<std::string, Container> containers;  ///< guarded by mu
    std::deque<std::string> order;                          ///< containers, oldest first; mu
    std::unordered_map<std::string, std::string> by_id;     ///< key_of -> path; mu
    unsigned inflight = 0;                                  ///< guarded by mu
    bool stopped = false;                                   ///< the worker returned; mu
    Stats stats;                                            ///< guarded by mu

    void forget_oldest() {
        const std::string victim = order.front();
        order.pop_front();
        auto it = containers.find(victim);
        if (it != containers.end()) {
            for (const auto& k : it->second.keys) {
                by_id.erase(k);
            }
            containers.erase(it);
        }
    }

    void run() {
        util::name_this_thread("adock-rootprobe");
        for (;;) {
            auto job = queue.pop_for(std::chrono::seconds(60));
            if (!job) {
                if (queue.closed()) {
                    break;
                }
                continue;
            }
            try {
                probe(*job);
            } catch (const std::exception& e) {
                log::warning(std::string("containers: probing a container's root failed: ") +
                             e.what());
                const std::scoped_lock lock(mu);
                if (auto it = containers.find(job->container); it != containers.end()) {
                    it->second.state = Container::State::Failed;
                }
            }
            {
                const std::scoped_lock lock(mu);
                --inflight;
            }
            idle.notify_all();
        }
        const std::scoped_lock lock(mu);
        stopped = true;
        idle.notify_all();
    }

    void probe(const Job& job) {
        const std::string root_path = proc_root + "/" + std::to_string(job.pid) + "/root";
        // The host's root is the plugin's own (pid 1's may be out of reach).
        const util::UniqueFd host(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));

        struct stat hs {};

        const bool host_known = host.valid() && ::fstat(host.get(), &hs) == 0;
        // A process gone, or one whose root is the host's (a reused pid, a process not yet
        // past the runtime's pivot_root): nothing to learn about the container now.
        const util::UniqueFd root(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));

        struct stat rs {};

        const bool usable = root.valid() && ::fstat(root.get(), &rs) == 0 &&
                            (!host_known || rs.st_dev != hs.st_dev || rs.st_ino != hs.st_ino);
        std::vector<std::string> patterns;
        {
            const std::scoped_lock lock(mu);
            patterns = paths;
        }
        std::vector<std::pair<std::string, std::string>> found;  // key, path
        if (usable) {
            for (const auto& pat : patterns) {
                if (pat.empty() || pat.front() != '/' ||
                    pat.find_first_of("*?[") != std::string::npos) {
                    continue;
                }
                const bool dir = pat.back() == '/';
                const util::UniqueFd fd =
                    open_in_root(root.get(), pat, dir ? O_RDONLY | O_DIRECTORY : O_PATH);

                struct stat st {};

                if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
                    continue;
                }
                found.emplace_back(key_of(job.container, util::audit_dev(st.st_dev), st.st_ino),
                                   pat);
                if (!dir) {
                    continue;
                }
                // The entries, not followed: a symlink's own inode is not the file it names.
                const util::DirStream d = util::open_dir_stream(fd.get());
                if (!d) {
                    continue;
                }
                std::size_t n = 0;
                // readdir(3) in glibc is safe on a stream no other thread reads.
                // NOLINTNEXTLINE(concurrency-mt-unsafe)
                while (const dirent* e = ::readdir(d.get())) {
                    const std::string_view name(e->d_name);
                    if (name == "." || name == "..") {
                        continue;
                    }
                    if (++n > limits.entries_per_dir) {
                        break;
                    }

                    struct stat es {};

                    if (::fstatat(::dirfd(d.get()), e->d_name, &es, AT_SYMLINK_NOFOLLOW) != 0 ||
                        S_ISLNK(es.st_mode)) {
                        continue;
                    }
                    std::string path = pat;
                    path.append(name);
                    if (S_ISDIR(es.st_mode)) {
                        path.push_back('/');
                    }
                    found.emplace_back(key_of(job.container, util::audit_dev(es.st_dev), es.st_ino),
                                       std::move(path));
                }
            }
        }
        const std::scoped_lock lock(mu);
        auto it = containers.find(job.container);
        if (it == containers.end()) {
            return;  // forgotten meanwhile
        }
        if (!usable) {
            ++stats.failed;
            it->second.state = Container::State::Failed;
            return;
        }
        ++stats.probed;
        it->second.state = Container::State::Done;
        for (auto& [k, path] : found) {
            while (by_id.size() >= limits.total_entries && order.size() > 1) {
                if (order.front() == job.container) {
                    order.push_back(order.front());
                    order.pop_front();
                }
                forget_oldest();
                it = containers.find(job.container);
            }
            if (by_id.size() >= limits.total_entries) {
                break;
            }
            if (by_id.emplace(k, std::move(path)).second) {
                it->second.keys.push_back(std::move(k));
                ++stats.identities;
            }
        }
    }
};

RootProbe::RootProbe(std::string proc_root, std::vector<std::string> paths, Limits limits)
    : s_(std::make_shared<Shared>(std::move(proc_root), std::move(paths), limits)) {
    // Detached on purpose, not a std::jthread: a probe stuck on the container's root (a FUSE
    // mount that never answers a stat) must not hold up the plugin's exit. The thread holds its
    // own share of the state; ~RootProbe waits up to 2 s for it, then leaves it to finish alone.
    std::thread([s = s_] { s->run(); }).detach();
}

RootProbe::~RootProbe() {
    s_->queue.close();
    // A probe held up by the container's root (a FUSE mount) must not hold up the plugin's
    // exit: the worker owns its share of the state and finishes on its own.
    std::unique_lock lock(s_->mu);
    s_->idle.wait_for(lock, std::chrono::seconds(2), [this] { return s_->stopped; });
}

void RootProbe::request(const std::string& container, int pid) {
    if (container.empty() || pid <= 0) {
        return;
    }
    {
        const std::scoped_lock lock(s_->mu);
        auto it = s_->containers.find(container);
        if (it != s_->containers.end()) {
            auto& c = it->second;
            if (c.state != Shared::Container::State::Failed || c.attempts >= s_->limits.attempts) {
                return;
            }
        } else {
            while (s_->containers.size() >= s_->limits.containers && !s_->order.empty()) {
                s_->forget_oldest();
            }
            it = s_->containers.emplace(container, Shared::Container{}).first;
            s_->order.push_back(container);
        }
        it->second.state = Shared::Container::State::Queued;
        ++it->second.attempts;
        ++s_->inflight;
    }
    if (!s_->queue.try_push(Shared::Job{container, pid})) {
        const std::scoped_lock lock(s_->mu);
        --s_->inflight;
        ++s_->stats.dropped;
        if (auto it = s_->containers.find(container); it != s_->containers.end()) {
            it->second.state = Shared::Container::State::Failed;
        }
    }
}

std::optional<std::string> RootProbe::find(const std::string& container,
                                           const std::string& dev,
                                           std::uint64_t inode) const {
    if (inode == 0 || dev.empty()) {
        return std::nullopt;
    }
    const std::string k = key_of(container, dev, inode);
    const std::scoped_lock lock(s_->mu);
    const auto it = s_->by_id.find(k);
    if (it == s_->by_id.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool RootProbe::await(const std::string& container, unsigned ms) {
    std::unique_lock lock(s_->mu);
    auto it = s_->containers.find(container);
    if (it == s_->containers.end() || it->second.state != Shared::Container::State::Queued ||
        it->second.no_wait) {
        return it != s_->containers.end() && it->second.state == Shared::Container::State::Done;
    }
    const bool done = s_->idle.wait_for(lock, std::chrono::milliseconds(ms), [&] {
        const auto c = s_->containers.find(container);
        return c == s_->containers.end() || c->second.state != Shared::Container::State::Queued;
    });
    it = s_->containers.find(container);
    if (!done && it != s_->containers.end()) {
        it->second.no_wait = true;  // a slow root is not waited for twice
        ++s_->stats.timeouts;
    }
    return done && it != s_->containers.end() && it->second.state == Shared::Container::State::Done;
}

void RootProbe::set_paths(std::vector<std::string> paths) {
    const std::scoped_lock lock(s_->mu);
    s_->paths = std::move(paths);
}

void RootProbe::drain(unsigned ms) {
    std::unique_lock lock(s_->mu);
    s_->idle.wait_for(lock, std::chrono::milliseconds(ms), [this] { return s_->inflight == 0; });
}

RootProbe::Stats RootProbe::stats() const {
    const std::scoped_lock lock(s_->mu);
    return s_->stats;
}

}  // namespace adock::proc
