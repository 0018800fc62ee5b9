// SPDX-License-Identifier: Apache-2.0
#include "rules/initiator.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "proc/container_request.hpp"

namespace adock::rules {

namespace {

std::string_view base_name(std::string_view p) {
    const auto slash = p.rfind('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

template <std::size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& set) {
    return std::find(set.begin(), set.end(), s) != set.end();
}

/// Walks argv from `i`, skipping options; options in `with_value` take the next argument
/// (unless written `--opt=value`); `-abc` bundles of boolean letters are skipped. Returns the
/// index of the first positional argument, or argv.size(). `--` ends the options.
template <std::size_t N>
std::size_t skip_options(const std::vector<std::string>& argv,
                         std::size_t i,
                         const std::array<std::string_view, N>& with_value) {
    while (i < argv.size()) {
        const std::string& a = argv[i];
        if (a == "--") {
            return i + 1;
        }
        if (a.size() < 2 || a[0] != '-') {
            return i;
        }
        ++i;
        if (a.find('=') != std::string::npos) {
            continue;
        }
        if (one_of(a, with_value)) {
            ++i;
        }
    }
    return i;
}

// Global options that take a value, per CLI (docker 20.10, podman 4.3, nerdctl, ctr 1.6,
// crictl). An unknown one only makes the reference unknown or wrong: a wrong reference names
// no container, or one a runtime exec must then follow for it to count (and then it is a
// candidate, not a proof, when another request fits).
constexpr std::array<std::string_view, 12> kDockerGlobal = {"-H",
                                                            "--host",
                                                            "-c",
                                                            "--context",
                                                            "--config",
                                                            "-l",
                                                            "--log-level",
                                                            "--tlscacert",
                                                            "--tlscert",
                                                            "--tlskey",
                                                            "--namespace",
                                                            "-n"};
constexpr std::array<std::string_view, 24> kPodmanGlobal = {"--root",
                                                            "--runroot",
                                                            "--cgroup-manager",
                                                            "--events-backend",
                                                            "--storage-driver",
                                                            "--log-level",
                                                            "--url",
                                                            "--connection",
                                                            "-c",
                                                            "--runtime",
                                                            "--tmpdir",
                                                            "--conmon",
                                                            "--storage-opt",
                                                            "--hooks-dir",
                                                            "--network-cmd-path",
                                                            "--network-config-dir",
                                                            "--cni-config-dir",
                                                            "--identity",
                                                            "--ssh",
                                                            "--imagestore",
                                                            "--volumepath",
                                                            "--module",
                                                            "--runtime-flag",
                                                            "--db-backend"};
constexpr std::array<std::string_view, 8> kExecOptions = {
    "-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys"};
constexpr std::array<std::string_view, 3> kPodmanExecOptions = {
    "--preserve-fds", "--env-file", "--cidfile"};
constexpr std::array<std::string_view, 6> kCtrGlobal = {
    "-a", "--address", "-n", "--namespace", "--timeout", "--connect-timeout"};
constexpr std::array<std::string_view, 6> kCtrExecOptions = {
    "--exec-id", "--cwd", "-u", "--user", "--fifo-dir", "--log-uri"};
constexpr std::array<std::string_view, 8> kCrictlGlobal = {
    "-r", "--runtime-endpoint", "-i", "--image-endpoint", "-t", "--timeout", "-c", "--config"};
constexpr std::array<std::string_view, 1> kCrictlExecOptions = {"--timeout"};
constexpr std::array<std::string_view, 6> kRuncGlobal = {
    "--root", "--log", "--log-format", "--criu", "--rootless", "--systemd-cgroup-x"};

std::optional<ClientRequest> positional_ref(const std::vector<std::string>& argv, std::size_t i) {
    if (i >= argv.size() || argv[i].empty()) {
        return std::nullopt;
    }
    ClientRequest r;
    r.ref = argv[i];
    return r;
}

}  // namespace

std::optional<ClientRequest> parse_client_argv(std::string_view program,
                                               const std::vector<std::string>& argv) {
    if (argv.empty()) {
        return std::nullopt;
    }
    const std::string_view cli = base_name(program);
    if (cli == "docker" || cli == "podman" || cli == "nerdctl") {
        std::size_t i = cli == "podman" ? skip_options(argv, 1, kPodmanGlobal)
                                        : skip_options(argv, 1, kDockerGlobal);
        if (i < argv.size() && argv[i] == "container") {
            ++i;
        }
        if (i >= argv.size() || argv[i] != "exec") {
            return std::nullopt;
        }
        i = cli == "podman" ? skip_options(argv, i + 1, kPodmanExecOptions)
                            : skip_options(argv, i + 1, kExecOptions);
        if (cli == "podman") {
            // podman's exec options include docker's with values, and a few of its own.
            i = skip_options(argv, i, kExecOptions);
        }
        return positional_ref(argv, i);
    }
    if (cli == "ctr") {
        std::size_t i = skip_options(argv, 1, kCtrGlobal);
        if (i + 1 >= argv.size() || (argv[i] != "task" && argv[i] != "tasks" && argv[i] != "t") ||
            argv[i + 1] != "exec") {
            return std::nullopt;
        }
        auto r = positional_ref(argv, skip_options(argv, i + 2, kCtrExecOptions));
        if (r) {
            r->id_only = true;
        }
        return r;
    }
    if (cli == "crictl") {
        std::size_t i = skip_options(argv, 1, kCrictlGlobal);
        if (i >= argv.size() || argv[i] != "exec") {
            return std::nullopt;
        }
        return positional_ref(argv, skip_options(argv, i + 1, kCrictlExecOptions));
    }
    return std::nullopt;
}

std::vector<ClientRequest> parse_client_start(std::string_view program,
                                              const std::vector<std::string>& argv) {
    std::vector<ClientRequest> out;
    const std::string_view cli = base_name(program);
    if (cli != "docker" && cli != "podman" && cli != "nerdctl") {
        return out;
    }
    const auto cmd = proc::client_command(argv, kMaxStartRefs);
    if (!cmd) {
        return out;
    }
    if (cmd->verb == "start") {
        for (const auto& ref : cmd->operands) {
            if (!ref.empty()) {
                ClientRequest r;
                r.ref = ref;
                r.kind = ClientRequest::Kind::Start;
                out.push_back(std::move(r));
            }
        }
    } else if (cmd->verb == "run") {
        ClientRequest r;
        r.kind = ClientRequest::Kind::Run;
        for (const auto& o : cmd->options) {
            if (o.name == "--name" && o.value) {
                r.ref = *o.value;  // the last one counts, as in the CLIs
            }
        }
        if (!cmd->operands.empty()) {
            r.image = cmd->operands.front();
        }
        if (!r.ref.empty() || !r.image.empty()) {
            out.push_back(std::move(r));
        }
    }
    return out;
}

bool runtime_exec(const std::vector<std::string>& argv) {
    const std::size_t i = skip_options(argv, 1, kRuncGlobal);
    return i < argv.size() && argv[i] == "exec";
}

bool runtime_create(const std::vector<std::string>& argv) {
    const std::size_t i = skip_options(argv, 1, kRuncGlobal);
    return i < argv.size() && (argv[i] == "create" || argv[i] == "run");
}

void InitiatorCorrelator::drop_front() {
    bytes_ -= pending_.front()->bytes;
    pending_.pop_front();
}

void InitiatorCorrelator::erase(const Pending* p) {
    const auto it =
        std::find_if(pending_.begin(), pending_.end(), [&](const auto& q) { return q.get() == p; });
    if (it != pending_.end()) {
        bytes_ -= (*it)->bytes;
        pending_.erase(it);
    }
}

void InitiatorCorrelator::expire(std::int64_t ms) {
    while (!pending_.empty() && pending_.front()->ms + opt_.window_ms < ms) {
        drop_front();
        ++stats_.expired;
    }
}

void InitiatorCorrelator::note_client(const ClientRequest& req, InitiatorRef who, std::int64_t ms) {
    note_client(std::vector<ClientRequest>{req}, std::move(who), ms);
}

void InitiatorCorrelator::note_client(const std::vector<ClientRequest>& reqs,
                                      InitiatorRef who,
                                      std::int64_t ms) {
    if (reqs.empty()) {
        return;
    }
    expire(ms);
    // Its argv within the budget: the table entries that inherit it share this one copy.
    std::size_t argv_bytes = 0;
    for (std::size_t k = 0; k < who.argv.size(); ++k) {
        if (argv_bytes + who.argv[k].size() > opt_.argv_bytes) {
            who.argv.resize(k);
            who.truncated = true;
            break;
        }
        argv_bytes += who.argv[k].size();
    }
    const std::size_t who_bytes = who.exe.size() + argv_bytes + 32 * who.argv.size();
    const auto shared = std::make_shared<const InitiatorRef>(std::move(who));
    for (const ClientRequest& req : reqs) {
        ++stats_.requests;
        auto p = std::make_shared<Pending>();
        p->bytes = sizeof(Pending) + req.ref.size() + req.image.size() + who_bytes;
        if (req.ref.size() > 256 || req.image.size() > 512 || p->bytes > opt_.max_bytes) {
            ++stats_.dropped;  // no container or image is called that
            continue;
        }
        while (!pending_.empty() &&
               (pending_.size() >= opt_.max_requests || bytes_ + p->bytes > opt_.max_bytes)) {
            drop_front();
            ++stats_.dropped;
        }
        p->req = req;
        p->who = shared;
        p->ms = ms;
        bytes_ += p->bytes;
        pending_.push_back(std::move(p));
    }
}

std::shared_ptr<const InitiatorRef> InitiatorCorrelator::conclude(
    const std::vector<std::shared_ptr<Pending>>& certain,
    const std::vector<std::shared_ptr<Pending>>& possible) {
    if (certain.empty()) {
        ++stats_.unmatched;
        return nullptr;
    }
    // Who they are: the requests of one command (`docker start web web`) are one candidate.
    std::vector<std::shared_ptr<const InitiatorRef>> whos;
    for (const auto* set : {&certain, &possible}) {
        for (const auto& p : *set) {
            if (std::none_of(
                    whos.begin(), whos.end(), [&](const auto& w) { return w == p->who; })) {
                whos.push_back(p->who);
            }
        }
    }
    std::shared_ptr<const InitiatorRef> out;
    if (whos.size() == 1) {
        out = whos.front();
        ++stats_.matched;
    } else {
        auto amb = std::make_shared<InitiatorRef>();
        amb->ambiguous = true;
        for (const auto& w : whos) {
            amb->candidates.push_back(*w);
        }
        out = std::move(amb);
        ++stats_.ambiguous;
    }
    // The certain ones are used up (each asked for one start); the possible ones may still be
    // another container's.
    for (const auto& p : certain) {
        p->used = true;
        erase(p.get());
    }
    return out;
}

std::shared_ptr<const InitiatorRef> InitiatorCorrelator::on_runtime_exec(
    const std::string& id, const std::optional<std::string>& name, std::int64_t ms) {
    expire(ms);
    std::vector<std::shared_ptr<Pending>> certain;
    std::vector<std::shared_ptr<Pending>> possible;
    for (const auto& p : pending_) {
        if (p->req.kind != ClientRequest::Kind::Exec || p->ms > ms) {
            continue;  // another kind of request, or asked after the runtime started: not its
        }
        const std::string& ref = p->req.ref;
        const bool by_id =
            ref == id || (!p->req.id_only && id.size() > ref.size() && id.starts_with(ref));
        const bool by_name = !p->req.id_only && name && *name == ref;
        if (by_id || by_name) {
            certain.push_back(p);
        } else if (!p->req.id_only && !name) {
            possible.push_back(p);  // a name this container may have
        }
    }
    return conclude(certain, possible);
}

InitiatorCorrelator::Start InitiatorCorrelator::on_runtime_create(const std::string& id,
                                                                  std::int64_t ms) {
    expire(ms);
    Start s;
    s.id = id;
    s.ms = ms;
    for (const auto& p : pending_) {
        if (p->req.kind != ClientRequest::Kind::Exec && p->ms <= ms) {
            s.candidates.push_back(p);
        }
    }
    return s;
}

std::shared_ptr<const InitiatorRef> InitiatorCorrelator::decide(
    Start& start, const std::optional<std::string>& name, const std::optional<std::string>& image) {
    std::vector<std::shared_ptr<Pending>> certain;
    std::vector<std::shared_ptr<Pending>> possible;
    const std::string& id = start.id;
    for (const auto& p : start.candidates) {
        if (p->used) {
            continue;  // another container's start took it since
        }
        const ClientRequest& r = p->req;
        bool fits = false;
        bool may = false;
        if (r.kind == ClientRequest::Kind::Start) {
            fits = r.ref == id || (id.size() > r.ref.size() && id.starts_with(r.ref)) ||
                   (name && *name == r.ref);
            may = !name;  // a name this container may have
        } else if (!r.ref.empty()) {
            // run --name N: by the name only (a new id is no one's choice; an image is shared).
            fits = name && *name == r.ref;
            may = !name;
        } else {
            fits = image && *image == r.image;
            may = !image;
        }
        if (fits) {
            certain.push_back(p);
        } else if (may) {
            possible.push_back(p);
        }
    }
    start.candidates.clear();
    return conclude(certain, possible);
}

}  // namespace adock::rules
