// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace adock {

enum class Severity { Info = 0, Low = 1, Medium = 2, High = 3, Critical = 4 };

[[nodiscard]] const char* severity_name(Severity s);
[[nodiscard]] std::optional<Severity> parse_severity(std::string_view s);

/// A file's state as the integrity monitor saw it.
struct FileState {
    std::string sha256;
    std::uint64_t size = 0;
    std::uint32_t mode = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

/// What the integrity monitor found a program or file to be.
struct IntegrityRef {
    std::string sha256;
    std::uint64_t size = 0;
    std::optional<std::string> recognized_as;  ///< the runtime binary with this content
    bool trusted = false;                      ///< something vouches for the content
    std::optional<std::string> trusted_by;     ///< package:NAME, allowlist, baseline
    std::optional<std::string> change;         ///< scans: content, mode, owner, missing, new
    std::optional<FileState> before;           ///< scans: the baseline's state
    std::optional<FileState> after;            ///< scans: the disk's state
};

/// A container's file compared with its image (integrity/image_diff.hpp): the file as the
/// overlay's lower layers have it and as the container's root has it now.
struct ImageDiffRef {
    std::string path;                ///< as the container sees it, symlinks resolved in its root
    std::optional<FileState> image;  ///< the image's (lower layers); null: not in the image
    std::optional<FileState> now;    ///< the merged view now; null: not there
    std::string verdict;             ///< modified attributes unchanged added removed absent unknown
    std::optional<std::string> reason;  ///< unknown: why
};

/// One process as the alert reports it (the actor or one of its ancestors).
struct ProcessRef {
    int pid = -1;
    int ppid = -1;
    std::string exe;
    std::string comm;
    std::vector<std::string> argv;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> auid;
    /// argv was cut to a byte budget (audit/argv_budget.hpp) or arrived incomplete.
    bool truncated = false;
    /// SHA-256 of the whole argv (NUL-joined) when cut; empty otherwise.
    std::string argv_sha256;
    /// Arguments of the whole argv when cut (0: not known or not cut).
    std::size_t argc = 0;
};

/// Container identity; members unknown to us stay empty and serialize as null. An empty id
/// is an unknown attribution: the process may be in a container, and is not reported as host.
struct ContainerRef {
    std::string id;
    std::string runtime;
    std::optional<std::string> ns;
    std::optional<std::string> name;
    std::optional<std::string> image;
    std::optional<std::string> pod;            ///< Kubernetes pod name
    std::optional<std::string> pod_namespace;  ///< Kubernetes namespace of the pod
};

struct FileRef {
    /// absolute, as the acting process sees it (a container's view inside one)
    std::string path;
    std::string operation;  ///< chmod chown link rename write unlink utimes exec create connect
    /// The file is the one known by this path (same dev/inode, or its directory's): a write
    /// through a symlinked directory or a hard link.
    std::optional<std::string> same_as{};
};

struct SeccompRef {
    std::string syscall;  ///< by name, decoded with the record's arch
    std::string action;   ///< kill_process, kill_thread, trap, errno(N), trace, log, user_notif
};

/// The client command that asked a daemon for the process (docker exec, podman exec, ctr task
/// exec, crictl exec), correlated across the daemon hop (rules/initiator.hpp).
struct InitiatorRef {
    int pid = -1;
    std::string exe;
    std::vector<std::string> argv;  ///< cut to a byte budget (truncated then)
    bool truncated = false;
    std::optional<std::uint32_t> auid;
    std::optional<std::uint32_t> uid;
    std::optional<std::string> user;  ///< the auid's name, when the stream gives it
    /// Two or more requests fit and could not be told apart: `candidates` holds them all and
    /// the fields above stay empty (never a guess).
    bool ambiguous = false;
    std::vector<InitiatorRef> candidates;
};

/// An aggregation window's distinct values of one field (fold summaries).
struct DistinctValues {
    std::string field;                ///< process.cmdline, file.path, seccomp.syscall, ...
    std::vector<std::string> values;  ///< the first few distinct values, each bounded
    unsigned long long distinct = 0;  ///< distinct values seen
    bool capped = false;              ///< more than could be counted: `distinct` is a lower bound
};

/// A summary placeholder whose text the engine learns after the summary is rendered.
enum class SummaryField : std::uint8_t {
    ContainerName,    ///< {container.name}: the runtime's state is being read
    ContainerImage,   ///< {container.image}
    IntegrityChange,  ///< {integrity.change}: the integrity monitor has not looked yet
    IntegrityTrust,   ///< {integrity.trust}
};

/// Where in the summary such a text goes: an offset, never a text to look for, so a file or a
/// container named "{container.name}" is shown as it is.
struct SummaryHole {
    std::size_t at = 0;  ///< offset in Alert::summary (text appended later comes after it)
    SummaryField field = SummaryField::ContainerName;
};

/// Alert contract v1 (DESIGN.md). Everything a sink needs; sinks never look at audit records.
struct Alert {
    std::string time;  ///< RFC 3339 UTC of the audit event
    /// The same instant, milliseconds since the epoch (0: unknown), for the delivery latency
    /// histogram of the metrics file; not serialized.
    std::int64_t time_ms = 0;
    std::string host;
    std::string rule_id;
    Severity severity = Severity::Info;
    std::vector<std::string> mitre;
    std::vector<std::string> tags;
    std::string summary;
    /// The summary's places still to fill, in order (the engine fills them before it dispatches
    /// the alert); not serialized.
    std::vector<SummaryHole> summary_holes;
    std::uint64_t serial = 0;
    std::optional<std::string> key;
    std::optional<std::string> syscall;  ///< event.syscall
    std::optional<bool> success;         ///< event.success
    std::optional<std::int64_t> exit;    ///< event.exit (negative errno on failure)
    ProcessRef process;
    std::vector<ProcessRef> ancestry;  ///< parent first
    std::optional<ContainerRef> container;
    std::optional<FileRef> file;
    std::optional<SeccompRef> seccomp;
    std::optional<IntegrityRef> integrity;
    std::optional<InitiatorRef> initiator;   ///< who asked a daemon for the process (optional)
    std::optional<ImageDiffRef> image_diff;  ///< the file against the container's image (live)
    /// audit_coverage_degraded: the figures behind it (kernel lost, backlog, auditd's queue,
    /// the plugin's own drops), serialized as the `coverage` object in this order.
    std::vector<std::pair<std::string, std::uint64_t>> coverage;
    std::string remediation;                  ///< empty: none
    std::optional<unsigned long long> count;  ///< aggregated rules: events this alert stands for
    /// Fold summaries: the distinct values of the rule's aggregate.distinct fields in the window.
    std::vector<DistinctValues> distinct;
    /// Set on an output's fold summary: repeats of this incident held back within its dedup window.
    std::optional<unsigned long long> repeats;
};

/// Serializes an alert as one line of JSON (no trailing newline).
[[nodiscard]] std::string to_json(const Alert& alert);

}  // namespace adock
