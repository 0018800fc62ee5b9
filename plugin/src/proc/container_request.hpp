// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace adock::proc {

/// What a request for a container asks the runtime for that opens the host to it (issue 15).
enum class RequestKind : std::uint32_t {
    LeakedFdCwd = 1,  ///< a working directory under /proc/{self,thread-self,N}/fd/ (CVE-2024-21626)
    HostMount = 2,    ///< a bind mount of the host's / or of a runtime socket (or its directory)
};

struct RequestFinding {
    RequestKind kind;
    /// for the analyst: "working directory /proc/self/fd/7", "bind mount of / at /host"
    std::string what;
};

/// What a container's own spec says (the runtimes' state files, read off the engine thread):
/// its process's working directory and its bind mounts (host source, container destination).
struct ContainerSpec {
    static constexpr std::size_t kMaxBinds = 64;
    static constexpr std::size_t kMaxPathBytes = 4096;
    std::optional<std::string> cwd;
    std::vector<std::pair<std::string, std::string>> binds;  ///< source, destination
    /// Adds a bind mount within the bounds (beyond kMaxBinds dropped, a path over kMaxPathBytes
    /// cut). Only the binds that give the host are added, so a dropped one is never the only.
    void add_bind(std::string source, std::string destination);
};

/// `path` lexically normalised: repeated slashes and `.` removed, `..` applied (never above /).
/// No file system access: the path is a request's, not something to open.
[[nodiscard]] std::string lexically_normal(std::string_view path);

/// A working directory through one of a process's file descriptors: `/proc/self/fd/N`,
/// `/proc/thread-self/fd/N`, `/proc/PID/fd/N` (and beneath), after normalisation.
[[nodiscard]] bool leaked_fd_path(std::string_view path);

/// A bind-mount source that gives a container the host: `/`, the runtimes' sockets
/// (docker, containerd, podman, CRI-O, buildkit, rootless podman's) or a directory holding
/// one of them (/run, /var/run, /run/containerd, ...). /var/run is taken as /run.
[[nodiscard]] bool host_sensitive_source(std::string_view source);

/// One option of a command line as the container clients' options reader sees it (long
/// `--x=v`, `--x v`, short clusters `-itw DIR`, `-wDIR`; a value in the next argument never
/// starts with '-').
struct CliOption {
    std::string name;  ///< "--workdir", "-w"
    std::optional<std::string> value;
};

/// A container client's (or an OCI runtime's) command: `[global options] VERB [options]
/// OPERAND...`, with `container VERB` / `task VERB` (and ctr's `c`, `t`) taken as VERB.
struct ClientCommand {
    std::string verb;                   ///< run, create, start, exec, ...
    std::vector<CliOption> options;     ///< the verb's options, up to its first operand
    std::vector<std::string> operands;  ///< its first operands (options between them skipped)
};

/// `argv` read as a ClientCommand, with at most `max_operands` operands (run: the image first;
/// start: the containers). nullopt: no verb. The one options reader of the clients' requests
/// (request_from_argv, the initiator's run/start): options it does not know take a value
/// unless the next argument starts with '-', so an unknown flag costs at most one operand.
[[nodiscard]] std::optional<ClientCommand> client_command(const std::vector<std::string>& argv,
                                                          std::size_t max_operands);

/// The findings of a container client's or an OCI runtime's command line: docker, podman and
/// nerdctl `run|create|exec` (also as `container run` ...), ctr `run`, `container create` and
/// `task exec`, runc/crun `exec --cwd`. Options are read until the first positional argument
/// after the verb (the image or the container): what the container's command gets as its own
/// arguments is not the client's request. argv is the process's (attacker-controlled, bounded
/// by the caller); `argv[0]` decides nothing.
[[nodiscard]] std::vector<RequestFinding> request_from_argv(const std::vector<std::string>& argv);

/// The findings of a container's spec.
[[nodiscard]] std::vector<RequestFinding> request_from_spec(const ContainerSpec& spec);

}  // namespace adock::proc
