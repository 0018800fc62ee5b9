// SPDX-License-Identifier: Apache-2.0
#include "proc/container_request.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace adock::proc {

namespace {

/// `.` and empty components removed; `..` kept when `apply_dotdot` is false.
std::string normalise(std::string_view path, bool apply_dotdot) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) {
            j = path.size();
        }
        const std::string_view part = path.substr(i, j - i);
        if (part.empty() || part == ".") {
            // nothing
        } else if (part == ".." && apply_dotdot) {
            if (!parts.empty()) {
                parts.pop_back();
            }
        } else {
            parts.push_back(part);
        }
        i = j + 1;
    }
    const bool absolute = !path.empty() && path.front() == '/';
    std::string out = absolute ? "/" : "";
    for (std::size_t k = 0; k < parts.size(); ++k) {
        out += parts[k];
        if (k + 1 < parts.size()) {
            out += '/';
        }
    }
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

/// `/proc/{self,thread-self,N}/fd/...` on an already normalised path.
bool fd_prefix(std::string_view p) {
    if (!p.starts_with("/proc/")) {
        return false;
    }
    p.remove_prefix(6);
    const auto slash = p.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    const std::string_view who = p.substr(0, slash);
    if (who != "self" && who != "thread-self" && !all_digits(who)) {
        return false;
    }
    p.remove_prefix(slash + 1);
    return p == "fd" || p.starts_with("fd/");
}

// Long options that take no value (the rest of the clients' and runtimes' options do). A value
// that starts with '-' is not taken as one, so a flag missing here costs no later option.
constexpr std::array kBoolLong = {
    "--rm",
    "--init",
    "--privileged",
    "--read-only",
    "--detach",
    "--interactive",
    "--tty",
    "--publish-all",
    "--no-healthcheck",
    "--oom-kill-disable",
    "--quiet",
    "--debug",
    "--systemd-cgroup",
    "--no-new-privs",
    "--no-pivot",
    "--no-subreaper",
    "--tls",
    "--tlsverify",
    "--replace",
    "--rmi",
    "--read-only-tmpfs",
    "--http-proxy",
    "--no-hosts",
    "--env-host",
    "--null-io",
    "--net-host",
    "--help",
    "--sig-proxy",
    "--disable-content-trust",
    "--tls-verify",
    "--privileged-without-host-devices",
    "--rootless",
    "--passthrough",
    "--preserve-fds-inherit",
};
// Short options that take no value: -d -i -t -P -q -D -h.
constexpr std::string_view kBoolShort = "ditPqDh";

/// A verb's own options that take no value where the same letter or word takes one elsewhere:
/// `start -a` / `--attach` (docker, podman, nerdctl) against `run -a stdout`.
struct VerbFlags {
    std::string_view short_flags;
    std::string_view long_flag;
};

constexpr VerbFlags kNoVerbFlags{};
constexpr VerbFlags kStartFlags{"a", "--attach"};

/// Reads the options at argv[i...] up to the first positional argument (or "--"); `i` is left
/// on it. Every option is reported to `take`.
template <typename Take>
void read_options(const std::vector<std::string>& argv,
                  std::size_t& i,
                  Take&& take,
                  const VerbFlags& verb = kNoVerbFlags) {
    while (i < argv.size()) {
        const std::string& a = argv[i];
        if (a == "--") {
            ++i;
            return;
        }
        if (a.size() < 2 || a.front() != '-') {
            return;  // positional
        }
        ++i;
        auto next_value = [&]() -> std::optional<std::string> {
            if (i < argv.size() && !(argv[i].size() > 1 && argv[i].front() == '-')) {
                return argv[i++];
            }
            return std::nullopt;
        };
        if (a.starts_with("--")) {
            const auto eq = a.find('=');
            if (eq != std::string::npos) {
                take(CliOption{a.substr(0, eq), a.substr(eq + 1)});
                continue;
            }
            const bool is_bool =
                std::find(kBoolLong.begin(), kBoolLong.end(), a) != kBoolLong.end() ||
                (!verb.long_flag.empty() && a == verb.long_flag);
            take(CliOption{a, is_bool ? std::nullopt : next_value()});
            continue;
        }
        // A short cluster: flags until one that takes a value, which takes the rest or the next.
        for (std::size_t k = 1; k < a.size(); ++k) {
            const char c = a[k];
            const std::string name{'-', c};
            if (kBoolShort.find(c) != std::string_view::npos ||
                verb.short_flags.find(c) != std::string_view::npos) {
                take(CliOption{name, std::nullopt});
                continue;
            }
            if (k + 1 < a.size()) {
                std::string rest = a.substr(k + 1);
                if (rest.front() == '=') {
                    rest.erase(0, 1);
                }
                take(CliOption{name, std::move(rest)});
            } else {
                take(CliOption{name, next_value()});
            }
            break;
        }
    }
}

std::optional<std::string> next_positional(const std::vector<std::string>& argv,
                                           std::size_t& i,
                                           const VerbFlags& verb = kNoVerbFlags) {
    read_options(
        argv, i, [](const CliOption&) {}, verb);
    if (i < argv.size()) {
        return argv[i++];
    }
    return std::nullopt;
}

/// `key=value,key=value` (docker/podman --mount, ctr --mount).
std::optional<std::string> csv_field(std::string_view csv,
                                     std::initializer_list<std::string_view> keys) {
    std::size_t i = 0;
    while (i <= csv.size()) {
        std::size_t j = csv.find(',', i);
        if (j == std::string_view::npos) {
            j = csv.size();
        }
        const std::string_view kv = csv.substr(i, j - i);
        const auto eq = kv.find('=');
        if (eq != std::string_view::npos) {
            const std::string_view k = kv.substr(0, eq);
            if (std::find(keys.begin(), keys.end(), k) != keys.end()) {
                return std::string(kv.substr(eq + 1));
            }
        }
        i = j + 1;
    }
    return std::nullopt;
}

/// A path as a finding shows it: bounded (an argv element may be long).
std::string shown(std::string_view path) {
    constexpr std::size_t kShownBytes = 256;
    return path.size() <= kShownBytes ? std::string(path)
                                      : std::string(path.substr(0, kShownBytes)) + "...";
}

void check_bind(std::vector<RequestFinding>& out,
                const std::string& source,
                const std::string& destination) {
    if (host_sensitive_source(source)) {
        out.push_back({RequestKind::HostMount,
                       "bind mount of " + shown(source) +
                           (destination.empty() ? std::string() : " at " + shown(destination))});
    }
}

void check_cwd(std::vector<RequestFinding>& out, const std::string& cwd, std::string_view how) {
    if (leaked_fd_path(cwd)) {
        out.push_back({RequestKind::LeakedFdCwd,
                       "working directory " + shown(cwd) +
                           (how.empty() ? "" : " (" + std::string(how) + ")")});
    }
}

}  // namespace

void ContainerSpec::add_bind(std::string source, std::string destination) {
    if (binds.size() >= kMaxBinds) {
        return;
    }
    for (auto* s : {&source, &destination}) {
        if (s->size() > kMaxPathBytes) {
            s->resize(kMaxPathBytes);
        }
    }
    binds.emplace_back(std::move(source), std::move(destination));
}

std::string lexically_normal(std::string_view path) {
    return normalise(path, true);
}

bool leaked_fd_path(std::string_view path) {
    // Both spellings: `/proc/self/fd/7/../..` climbs out through the descriptor (the `..` are
    // the attack, not to be applied), `/proc/../proc/self/fd/7` is the descriptor itself.
    return fd_prefix(normalise(path, false)) || fd_prefix(normalise(path, true));
}

bool host_sensitive_source(std::string_view source) {
    if (source.empty() || source.front() != '/') {
        return false;  // a named volume
    }
    std::string p = lexically_normal(source);
    if (p == "/var/run" || p.starts_with("/var/run/")) {
        p = "/run" + p.substr(8);
    }
    static constexpr std::array kExact = {
        "/",
        "/run",
        "/run/docker.sock",
        "/run/docker",
        "/run/containerd",
        "/run/containerd/containerd.sock",
        "/run/containerd/containerd.sock.ttrpc",
        "/run/podman",
        "/run/podman/podman.sock",
        "/run/crio",
        "/run/crio/crio.sock",
        "/run/buildkit",
        "/run/buildkit/buildkitd.sock",
    };
    if (std::find(kExact.begin(), kExact.end(), p) != kExact.end()) {
        return true;
    }
    static constexpr std::array kPatterns = {"/run/user/*/podman/podman.sock",
                                             "/run/user/*/podman",
                                             "/run/user/*/docker.sock",
                                             "/run/user/*"};
    return std::any_of(kPatterns.begin(), kPatterns.end(), [&](const char* pat) {
        return ::fnmatch(pat, p.c_str(), FNM_PATHNAME) == 0;
    });
}

std::optional<ClientCommand> client_command(const std::vector<std::string>& argv,
                                            std::size_t max_operands) {
    std::size_t i = 1;
    auto verb = next_positional(argv, i);
    if (!verb) {
        return std::nullopt;
    }
    if (*verb == "container" || *verb == "task" || *verb == "c" || *verb == "t") {
        verb = next_positional(argv, i);
        if (!verb) {
            return std::nullopt;
        }
    }
    ClientCommand cmd;
    cmd.verb = std::move(*verb);
    const VerbFlags& flags = cmd.verb == "start" ? kStartFlags : kNoVerbFlags;
    read_options(
        argv, i, [&](const CliOption& o) { cmd.options.push_back(o); }, flags);
    while (cmd.operands.size() < max_operands) {
        auto operand = next_positional(argv, i, flags);
        if (!operand) {
            break;
        }
        cmd.operands.push_back(std::move(*operand));
    }
    return cmd;
}

std::vector<RequestFinding> request_from_argv(const std::vector<std::string>& argv) {
    std::vector<RequestFinding> out;
    const auto cmd = client_command(argv, 0);
    if (!cmd || (cmd->verb != "run" && cmd->verb != "create" && cmd->verb != "exec")) {
        return out;
    }
    for (const CliOption& o : cmd->options) {
        if (!o.value) {
            continue;
        }
        if (o.name == "-w" || o.name == "--workdir" || o.name == "--cwd") {
            check_cwd(out, *o.value, o.name);
        } else if (o.name == "-v" || o.name == "--volume") {
            const auto colon = o.value->find(':');
            check_bind(out,
                       o.value->substr(0, colon),
                       colon == std::string::npos
                           ? std::string()
                           : o.value->substr(colon + 1, o.value->find(':', colon + 1) - colon - 1));
        } else if (o.name == "--mount") {
            if (auto src = csv_field(*o.value, {"source", "src"})) {
                check_bind(
                    out,
                    *src,
                    csv_field(*o.value, {"target", "destination", "dst", "dest"}).value_or(""));
            }
        }
    }
    return out;
}

std::vector<RequestFinding> request_from_spec(const ContainerSpec& spec) {
    std::vector<RequestFinding> out;
    if (spec.cwd) {
        check_cwd(out, *spec.cwd, "");
    }
    for (const auto& [source, destination] : spec.binds) {
        check_bind(out, source, destination);
    }
    return out;
}

}  // namespace adock::proc
