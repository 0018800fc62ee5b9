// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert.hpp"
#include "util/bytes.hpp"

namespace adock::rules {

/// What a container client's argv asks a daemon for (issue 15, "who asked for it"): a process
/// in a running container (docker/podman/nerdctl exec, ctr task exec, crictl exec), a stopped
/// container's start (docker/podman/nerdctl start) or a new container (docker/podman/nerdctl run).
struct ClientRequest {
    enum class Kind : std::uint8_t {
        Exec,   ///< a process in a running container: the runtime's `exec`
        Start,  ///< an existing container: the runtime's `create` (or `run`) of it
        Run,    ///< a new container: the runtime's `create` (or `run`) of a new id
    };
    /// The container as the client names it: a name, a full id or (docker, podman, nerdctl,
    /// crictl) an id prefix. Run: the name it asks for (`--name`), empty when it asks none.
    std::string ref;
    /// ctr: the reference is a full id, never a name or a prefix.
    bool id_only = false;
    Kind kind = Kind::Exec;
    /// Run: the image as the client names it (what docker keeps as the container's image).
    std::string image;
};

/// The request a client's argv makes, when it is one this correlation knows. `program` is the
/// host file the process is, by identity (the caller's match of the container_clients list:
/// "/usr/bin/docker", or the list's pattern): its base name picks the CLI's grammar. argv[0]
/// decides nothing (`exec -a ctr docker exec ...` is still docker's grammar).
[[nodiscard]] std::optional<ClientRequest> parse_client_argv(std::string_view program,
                                                             const std::vector<std::string>& argv);

/// The starts a client's argv asks for: `docker|podman|nerdctl [container] start [options]
/// CONTAINER...` (one request per container, at most kMaxStartRefs) and `... run [options]
/// IMAGE ...` (its `--name` and image). Options are read by proc::client_command. `program` as
/// for parse_client_argv.
[[nodiscard]] std::vector<ClientRequest> parse_client_start(std::string_view program,
                                                            const std::vector<std::string>& argv);
inline constexpr std::size_t kMaxStartRefs = 16;

/// An OCI runtime's argv is `exec [options] ID ...` (runc, crun share the CLI).
[[nodiscard]] bool runtime_exec(const std::vector<std::string>& argv);

/// An OCI runtime's argv is `create [options] ID` or `run [options] ID`: a container's start.
[[nodiscard]] bool runtime_create(const std::vector<std::string>& argv);

struct InitiatorStats {
    unsigned long long requests = 0;   ///< client requests noted
    unsigned long long matched = 0;    ///< runtime starts given an initiator
    unsigned long long ambiguous = 0;  ///< runtime starts two or more requests fit
    unsigned long long unmatched = 0;  ///< runtime starts no request fits
    unsigned long long expired = 0;    ///< requests no runtime start took in the window
    unsigned long long dropped = 0;    ///< requests dropped for the bounds (count, bytes)
};

/// Correlates a container client's exec event (the CLI command a user ran) with the runtime's
/// exec (or, for a start or run, create) of the same container a moment later, across the
/// daemon hop (dockerd, containerd, conmon), on the stream alone: the audit trail's auid
/// survives the CLI, not the daemon. Starts: see decide().
///
/// A request names the container of a `runc exec` for certain when it is its full id, an id
/// prefix (where the CLI takes one) or its name when the name is known (the name resolver
/// live; conmon's argv). A request by a name while the container's name is not known (a
/// replay of docker's containers) may name it: it cannot be ruled out, and it is no proof.
/// One certain request and no other possible one: the initiator; the request is used. A
/// certain one and any other possible one: ambiguous (all candidates are reported, none
/// chosen), they are used up. No certain one: unknown. The client's argv is its own choice,
/// so nothing is taken on its word alone: a request only counts when a runtime exec of that
/// very container follows within the window. Bounded in count and bytes; requests expire.
class InitiatorCorrelator {
public:
    struct Options {
        std::int64_t window_ms = 5000;
        std::size_t max_requests = 256;
        std::size_t max_bytes = 256 * util::kKiB;
        std::size_t argv_bytes = 1024;  ///< each initiator's argv, cut to this
    };

    /// One client request waiting for its runtime start.
    struct Pending {
        ClientRequest req;
        std::shared_ptr<const InitiatorRef> who;  ///< shared by the requests of one command
        std::int64_t ms = 0;
        std::size_t bytes = 0;
        bool used = false;  ///< a runtime start took it (a Start may still hold it)
    };

    /// A runtime's create of container `id` at `ms`: the start and run requests waiting then,
    /// to be decided at once or (live) once the container's name and image are read.
    struct Start {
        std::string id;
        std::int64_t ms = 0;
        std::vector<std::shared_ptr<Pending>> candidates;  ///< at most max_requests
    };

    InitiatorCorrelator() : InitiatorCorrelator(Options{}) {}

    explicit InitiatorCorrelator(Options o) : opt_(o) {}

    /// A container client's request (`who`: its pid, exe, argv, auid, uid) at stream time `ms`.
    void note_client(const ClientRequest& req, InitiatorRef who, std::int64_t ms);
    /// Several requests of one command (`docker start a b`): one `who`, shared.
    void note_client(const std::vector<ClientRequest>& reqs, InitiatorRef who, std::int64_t ms);

    /// An OCI runtime exec'ing a process in container `id` at stream time `ms`; `name`: the
    /// container's name when known. The initiator (possibly ambiguous), or null (unknown).
    /// Only exec requests count.
    std::shared_ptr<const InitiatorRef> on_runtime_exec(const std::string& id,
                                                        const std::optional<std::string>& name,
                                                        std::int64_t ms);

    /// An OCI runtime creating container `id` at stream time `ms`: the start and run requests
    /// that may be its, for decide().
    [[nodiscard]] Start on_runtime_create(const std::string& id, std::int64_t ms);

    /// Decides a Start with what is known of its container (`name`, `image`: nullopt when
    /// unknown). A start request fits by id, id prefix or name; a run request by the name it
    /// asked for, or, without one, by its image. One that fits and none other that may: the
    /// initiator. Two that fit, or one and another that an unknown name or image cannot rule
    /// out: ambiguous. None that fits: null. The ones that fit are used up.
    std::shared_ptr<const InitiatorRef> decide(Start& start,
                                               const std::optional<std::string>& name,
                                               const std::optional<std::string>& image);

    [[nodiscard]] const InitiatorStats& stats() const { return stats_; }

    [[nodiscard]] std::size_t pending() const { return pending_.size(); }

    [[nodiscard]] std::size_t pending_bytes() const { return bytes_; }

private:
    void expire(std::int64_t ms);
    void drop_front();
    void erase(const Pending* p);
    /// The outcome of the requests that fit (`certain`) and may (`possible`); counts it and
    /// uses the certain ones up.
    std::shared_ptr<const InitiatorRef> conclude(
        const std::vector<std::shared_ptr<Pending>>& certain,
        const std::vector<std::shared_ptr<Pending>>& possible);

    Options opt_;
    std::deque<std::shared_ptr<Pending>> pending_;  ///< oldest first
    std::size_t bytes_ = 0;
    InitiatorStats stats_;
};

}  // namespace adock::rules
