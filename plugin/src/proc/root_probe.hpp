// SPDX-License-Identifier: Apache-2.0
// The container's own monitored directories by dev/inode, read live from its root. A path rule
// names directories as the container names them (/usr/bin/); a container process can reach the
// same files through a symlinked directory or a hard link, which the PATH record names as given
// (/tmp/u/passwd). The kernel still gives the file's dev/inode, and the directory's in PARENT
// items: knowing which dev/inodes the container's /usr/bin and its entries are lets a rule see
// through the other name (issue 11, M2).
//
// The probe runs on its own worker thread, never on the engine's: a container controls its root
// (a FUSE mount can make a stat hang), so only this thread can be held up, and only for that
// container. It resolves inside the container's root (/proc/PID/root, openat2 RESOLVE_IN_ROOT,
// no magic links), opens directories only (O_DIRECTORY: never a FIFO or a device), and stats
// entries without following them. What it learns can only add matches in that container's scope.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace adock::proc {

class RootProbe {
public:
    struct Limits {
        std::size_t entries_per_dir = 4096;  ///< directory entries stat'ed per directory
        std::size_t total_entries = 65536;   ///< identities kept, all containers together
        std::size_t containers = 256;        ///< containers remembered (probed or failed)
        unsigned attempts = 3;               ///< probes per container (its process may be gone)
    };

    /// `proc_root` is /proc (tests: a directory of their own); `paths` the patterns of the
    /// path rules: a directory ends in '/', anything else is one file.
    RootProbe(std::string proc_root, std::vector<std::string> paths, Limits limits);

    RootProbe(std::string proc_root, std::vector<std::string> paths)
        : RootProbe(std::move(proc_root), std::move(paths), Limits{}) {}

    RootProbe(const RootProbe&) = delete;
    RootProbe& operator=(const RootProbe&) = delete;
    RootProbe(RootProbe&&) = delete;
    RootProbe& operator=(RootProbe&&) = delete;
    ~RootProbe();

    /// Engine thread, never blocks: asks for the container's probe through process `pid` (in the
    /// container, past the runtime's setup) unless it is done, in flight or out of attempts.
    void request(const std::string& container, int pid);
    /// Engine thread: the path (a directory ends in '/') the container's root has at dev/inode.
    [[nodiscard]] std::optional<std::string> find(const std::string& container,
                                                  const std::string& dev,
                                                  std::uint64_t inode) const;
    /// Engine thread: waits (at most `ms`, and only once per container if that runs out) for a
    /// probe in flight, so that a container's first file events after its start are judged with
    /// its root known. Whether the container's probe is done.
    bool await(const std::string& container, unsigned ms);
    /// Replaces the patterns (a reload); probes already made are kept.
    void set_paths(std::vector<std::string> paths);
    /// Blocks until the queued probes are done (tests), at most `ms`.
    void drain(unsigned ms);

    struct Stats {
        std::uint64_t probed = 0;  ///< probes that read a container's root
        /// probes whose process was gone or whose root was the host's
        std::uint64_t failed = 0;
        std::uint64_t identities = 0;  ///< dev/inodes learned
        std::uint64_t dropped = 0;     ///< requests refused (queue full)
        std::uint64_t timeouts = 0;    ///< engine waits that ran out (a slow root)
    };

    [[nodiscard]] Stats stats() const;

private:
    /// Shared with the worker, a detached thread (not joined: a probe can hang on a FUSE
    /// mount), which keeps it alive until it returns.
    struct Shared;
    std::shared_ptr<Shared> s_;
};

}  // namespace adock::proc
