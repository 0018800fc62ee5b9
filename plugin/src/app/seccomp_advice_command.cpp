// SPDX-License-Identifier: Apache-2.0
// The --seccomp-profile command: learning from a saved stream (the rules engine run with no
// outputs), or loading the live plugin's learned state, naming the containers, and printing the
// profile of a target.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string_view>

#include "app/generation.hpp"
#include "app/seccomp_advice.hpp"
#include "app/seccomp_advice_detail.hpp"
#include "audit/event.hpp"
#include "audit/pipeline.hpp"
#include "outputs/dispatcher.hpp"
#include "proc/containers.hpp"
#include "rules/engine.hpp"
#include "util/bytes.hpp"
#include "util/errno_text.hpp"
#include "util/safe_read.hpp"

namespace adock::app {

using detail::printable;

bool learn_seccomp(const config::Config& cfg,
                   std::shared_ptr<const rules::RuleSet> rules,
                   const std::string& input,
                   SeccompAdvisor& advisor,
                   std::string& error) {
    std::FILE* in = std::fopen(input.c_str(), "rbe");
    if (in == nullptr) {
        error = "cannot open input " + input + ": " + util::errno_text(errno);
        return false;
    }
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(in, &std::fclose);
    outputs::Dispatcher out;  // no outputs: the rules run, their alerts are only counted
    out.configure(cfg.host.empty() ? rules::local_host_name() : cfg.host,
                  cfg.degraded_spool_percent);
    rules::Engine engine(cfg, std::move(rules), out);
    advisor.attach(engine);
    audit::Pipeline pipeline(std::chrono::milliseconds(cfg.engine.eoe_timeout_ms),
                             cfg.engine.max_pending_events,
                             [&engine](audit::Event&& ev) { engine.on_event(ev); });
    constexpr std::size_t kChunk = std::size_t{1} << 20;
    std::vector<char> buf(kChunk);
    std::string carry;
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), in);
        if (n == 0) {
            break;
        }
        carry.append(buf.data(), n);
        const auto nl = carry.rfind('\n');
        if (nl == std::string::npos) {
            continue;
        }
        pipeline.feed(std::string_view(carry).substr(0, nl + 1));
        carry.erase(0, nl + 1);
    }
    if (std::ferror(in) != 0) {
        error = "reading " + input + " failed";
        return false;
    }
    if (!carry.empty()) {
        pipeline.feed(carry);
    }
    pipeline.flush();
    engine.flush();
    advisor.finish();
    out.stop(std::chrono::milliseconds(0));
    return true;
}

void name_containers(SeccompAdvisor& advisor, const proc::ContainerDirs& dirs, unsigned wait_ms) {
    proc::NameResolver names(dirs);
    auto ref_of = [](const SeccompAdvisor::Usage& u) {
        ContainerRef ref;
        ref.id = u.id;
        ref.runtime = u.runtime;
        return ref;
    };
    for (const auto& [id, u] : advisor.containers()) {
        (void)names.lookup(ref_of(u));
    }
    names.drain(wait_ms);
    std::vector<std::pair<std::string, proc::NameResolver::Names>> found;
    for (const auto& [id, u] : advisor.containers()) {
        if (auto n = names.lookup(ref_of(u))) {
            found.emplace_back(id, std::move(*n));
        }
    }
    for (auto& [id, n] : found) {
        advisor.set_names(id, std::move(n.name), std::move(n.image));
    }
}

namespace {

/// Names the advisor's containers, selects `target` and prints its profile (stdout) and summary
/// (stderr). `source`: what the usage was learned from, for the messages.
int print_profile(SeccompAdvisor& advisor,
                  const config::Config& cfg,
                  const std::string& source,
                  const std::string& target) {
    // Image and name: what the runtimes' state files say of the containers still on this host.
    constexpr unsigned kNamesWaitMs = 5000;
    name_containers(
        advisor,
        proc::ContainerDirs{
            cfg.containerd_state_dir, cfg.docker_containers_dir, cfg.podman_storage_dir},
        kNamesWaitMs);
    const auto& st = advisor.stats();
    if (advisor.containers().empty()) {
        std::fprintf(
            stderr,
            "seccomp-profile: no SECCOMP record of a container in %s (%llu SECCOMP records: %llu "
            "on the "
            "host, %llu unattributed, %llu past the container bound); learn under a profile whose "
            "defaultAction is SCMP_ACT_LOG with kernel.seccomp.actions_logged including log\n",
            source.c_str(),
            st.records,
            st.not_in_container,
            st.unattributed,
            st.dropped_containers);
        return 1;
    }
    const SeccompAdvisor::Selection sel = advisor.select(target);
    if (!sel.error.empty()) {
        std::fprintf(
            stderr, "seccomp-profile: %s; %s\n", sel.error.c_str(), advisor.seen().c_str());
        return 2;
    }
    const std::string profile = SeccompAdvisor::profile_json(sel);
    std::fputs(advisor.report(sel).c_str(), stderr);
    if (std::fputs(profile.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "seccomp-profile: writing the profile failed\n");
        return 1;
    }
    return 0;
}

}  // namespace

int run_seccomp_profile(const Generation& loaded,
                        const std::string& input,
                        const std::string& target) {
    SeccompAdvisor advisor;
    if (std::string error; !learn_seccomp(loaded.cfg, loaded.rules, input, advisor, error)) {
        std::fprintf(stderr, "seccomp-profile: %s\n", error.c_str());
        return 1;
    }
    return print_profile(advisor, loaded.cfg, input, target);
}

int run_seccomp_profile_live(const Generation& loaded, const std::string& target) {
    const std::string& path = loaded.cfg.seccomp_learn_file;
    if (path.empty()) {
        std::fprintf(stderr,
                     "seccomp-profile: seccomp_learn_file is off in the configuration: learn from "
                     "a saved stream "
                     "with --input PATH\n");
        return 1;
    }
    const auto slash = path.rfind('/');
    constexpr std::size_t kMaxStateBytes = 64 * util::kMiB;
    const util::Result<std::string> text =
        slash == std::string::npos || slash == 0
            ? util::fail(0, "not an absolute path in a directory")
            : util::read_beneath(path.substr(0, slash), path.substr(slash + 1), kMaxStateBytes);
    if (!text) {
        std::fprintf(stderr,
                     "seccomp-profile: cannot read the live plugin's learned state %s (%s): the "
                     "plugin writes it on "
                     "SIGUSR1 and when it stops, once a container's SECCOMP records were seen\n",
                     path.c_str(),
                     text.error().message.c_str());
        return 1;
    }
    SeccompAdvisor advisor;
    std::string written;
    if (std::string error; !advisor.load_state(*text, written, error)) {
        std::fprintf(stderr, "seccomp-profile: %s: %s\n", path.c_str(), error.c_str());
        return 1;
    }
    std::fprintf(stderr,
                 "seccomp-profile: learned by the live plugin, as of %s (%s)\n",
                 written.empty() ? "?" : printable(written).c_str(),
                 path.c_str());
    return print_profile(advisor, loaded.cfg, path, target);
}

}  // namespace adock::app
