// SPDX-License-Identifier: Apache-2.0
// --seccomp-profile: an OCI seccomp profile learned from the SECCOMP records (SCMP_ACT_LOG) of
// the containers of one image, or of one container, in a saved stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alert/alert.hpp"
#include "config/config.hpp"
#include "proc/containers.hpp"
#include "rules/engine.hpp"
#include "rules/rule.hpp"

namespace adock::app {

/// libseccomp's name of an audit arch (AUDIT_ARCH_X86_64 -> "SCMP_ARCH_X86_64"); nullopt when
/// this build does not know it.
[[nodiscard]] std::optional<std::string> scmp_arch_name(std::uint32_t audit_arch);

/// What the SECCOMP records of a stream say each container used, bounded: an attacker who
/// controls the stream cannot make it grow past the caps, and what they cut is counted.
class SeccompAdvisor {
public:
    static constexpr std::size_t kMaxContainers = 1024;
    static constexpr std::size_t kMaxSyscalls = 1024;  ///< distinct (arch, syscall) per container
    /// distinct unnamed (arch, nr) per container
    static constexpr std::size_t kMaxUnnamed = 64;
    static constexpr std::size_t kMaxNameBytes = 256;     ///< container id, name and image
    static constexpr std::size_t kMaxPendingPids = 4096;  ///< pids with records not yet attributed
    static constexpr std::size_t kMaxPendingSyscalls = 256;  ///< per such pid

    struct Usage {
        std::string id;
        std::string runtime;
        std::optional<std::string> name;
        std::optional<std::string> image;
        /// arch -> syscall name -> records
        std::map<std::uint32_t, std::map<std::string, unsigned long long>> syscalls;
        /// "arch:nr" (hex arch) -> records, for a syscall or arch libaudit cannot name
        std::map<std::string, unsigned long long> unnamed;
        unsigned long long records = 0;
    };

    struct Stats {
        unsigned long long records = 0;             ///< SECCOMP records seen
        unsigned long long not_in_container = 0;    ///< attributed to the host
        unsigned long long unattributed = 0;        ///< attribution unknown
        unsigned long long unnamed = 0;             ///< syscall or arch without a name
        unsigned long long dropped_containers = 0;  ///< records of containers past kMaxContainers
        unsigned long long dropped_syscalls = 0;    ///< records past kMaxSyscalls / kMaxUnnamed
    };

    /// One SECCOMP record of `pid`: its process's container (nullopt with `host` true: the host;
    /// with `host` false: unknown), arch and syscall number. An unknown pid's records wait for
    /// resolve() to name their process, until finish().
    void add(int pid,
             const std::optional<ContainerRef>& container,
             bool host,
             std::uint32_t arch,
             int syscall);
    /// A SYSCALL record of `pid` with its attribution, as in add(): the records of `pid` that
    /// waited are counted now. A shell's forked applet execs nothing and none of the usual rules
    /// audits it: its SECCOMP records name a pid the process table learns only from its
    /// exit_group, audited in the learning run (README, Seccomp advice).
    void resolve(int pid, const std::optional<ContainerRef>& container, bool host);
    /// End of the stream: the records of pids nothing attributed are counted as unattributed.
    void finish();
    /// Makes `engine` hand this advisor its SECCOMP records (add()) and the SYSCALL records of
    /// the pids whose records wait for their attribution (resolve()): no attribution is
    /// computed for the other events. The advisor must outlive the engine's use of it.
    void attach(rules::Engine& engine);
    /// Sets a container's name and image once known (the runtime's state files).
    void set_names(const std::string& id,
                   std::optional<std::string> name,
                   std::optional<std::string> image);

    /// The containers `target` designates: those of image `target` (exactly, or `target:latest`),
    /// else the one whose name or id is `target` or whose id starts with it.
    struct Selection {
        std::vector<const Usage*> containers;
        std::string by;     ///< "image", "name", "id" or "id prefix"
        std::string error;  ///< not empty: nothing, or several containers by an id prefix
    };

    [[nodiscard]] Selection select(const std::string& target) const;

    /// The OCI profile (JSON, newline-terminated) allowing exactly what the containers used.
    [[nodiscard]] static std::string profile_json(const Selection& s);
    /// The human summary: per syscall its records and containers, what could not be named, what
    /// the bounds dropped.
    [[nodiscard]] std::string report(const Selection& s) const;
    /// "image (N containers), ..." and the containers without image: what the stream has.
    [[nodiscard]] std::string seen() const;

    [[nodiscard]] const Stats& stats() const { return stats_; }

    [[nodiscard]] const std::map<std::string, Usage>& containers() const { return usage_; }

    /// The live plugin's learned state (seccomp_learn_file): every container's usage and the
    /// stats, as JSON, stamped with `written` (RFC 3339).
    [[nodiscard]] std::string state_json(const std::string& written) const;
    /// Reads what state_json() wrote, within the same bounds; false with `error` set when it is
    /// not that. `written`: its stamp.
    bool load_state(const std::string& text, std::string& written, std::string& error);

    /// Whether anything was counted since the last mark_saved() (the plugin writes only then).
    [[nodiscard]] bool changed() const { return changed_; }

    void mark_saved() { changed_ = false; }

private:
    void count(const ContainerRef& container,
               std::uint32_t arch,
               int syscall,
               unsigned long long n);
    using Key = std::pair<std::uint32_t, int>;  ///< arch, syscall number
    std::map<std::string, Usage> usage_;        ///< by container id
    /// records of pids not attributed yet (bounded): a forked child's SECCOMP records precede the
    /// first SYSCALL record that tells the process table its parent
    std::unordered_map<int, std::map<Key, unsigned long long>> pending_;
    Stats stats_;
    bool changed_ = false;
};

}  // namespace adock::app

namespace adock::app {

struct Generation;

/// Replays `input` through an engine (attribution only: no alert leaves) into `advisor`, then
/// finish()es it. False with `error` set when the input cannot be read.
[[nodiscard]] bool learn_seccomp(const config::Config& cfg,
                                 std::shared_ptr<const rules::RuleSet> rules,
                                 const std::string& input,
                                 SeccompAdvisor& advisor,
                                 std::string& error);
/// Names and images of the advisor's containers from the runtimes' state files in `dirs` (the
/// containers still on this host; never /proc), waiting at most `wait_ms` for the reads.
void name_containers(SeccompAdvisor& advisor, const proc::ContainerDirs& dirs, unsigned wait_ms);

/// --seccomp-profile TARGET --input PATH: replays PATH through the engine (attribution only:
/// no alert leaves), aggregates its SECCOMP records per container, names the containers from the
/// runtimes' state files (not /proc) where they still exist, prints the profile for TARGET on
/// stdout and the summary on stderr. Exit 0; 1 when the input cannot be read or has no SECCOMP
/// record of a container; 2 when TARGET is no image, name or id the stream has.
int run_seccomp_profile(const Generation& loaded,
                        const std::string& input,
                        const std::string& target);

/// --seccomp-profile TARGET without --input: the same from what the live plugin learned and wrote
/// to `seccomp_learn_file` (on SIGUSR1 and when it stops). Exit codes as above.
int run_seccomp_profile_live(const Generation& loaded, const std::string& target);

}  // namespace adock::app
