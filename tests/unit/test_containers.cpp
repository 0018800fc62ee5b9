// SPDX-License-Identifier: Apache-2.0
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "proc/containers.hpp"
#include "test_catch.hpp"

using adock::ContainerRef;
using adock::proc::container_from_cgroup;
using adock::proc::container_from_runtime_argv;
using adock::proc::container_from_shim_argv;

namespace {

const std::string kHex = "3f1c6a5b9e0d4c2b8a7f6e5d4c3b2a190817263544536271809a0b1c2d3e4f50";

std::optional<ContainerRef> parse(const std::string& text) {
    return container_from_cgroup(text, [](std::string_view ns, std::string_view) { return ns == "default" || ns == "custom"; });
}

}  // namespace

TEST_CASE("cgroup paths of the common runtimes", "[containers]") {
    struct Case {
        std::string cgroup;
        std::string id;
        std::string runtime;
    };
    const std::vector<Case> cases = {
        {"0::/docker/" + kHex + "\n", kHex, "docker"},
        {"0::/system.slice/docker-" + kHex + ".scope\n", kHex, "docker"},
        {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-" + kHex + ".scope\n",
         kHex,
         "containerd"},
        {"0::/system.slice/containerd.service/kubepods-burstable-pod1.slice:cri-containerd:" + kHex + "\n", kHex, "containerd"},
        {"0::/kubepods/besteffort/pod0b1e2d3c/" + kHex + "\n", kHex, "cri"},
        {"0::/machine.slice/libpod-" + kHex + ".scope/container\n", kHex, "podman"},
        {"0::/libpod_parent/libpod-" + kHex + "\n", kHex, "podman"},
        {"0::/system.slice/crio-" + kHex + ".scope\n", kHex, "cri-o"},
        {"0::/default/bl7\n", "bl7", "containerd"},
        {"12:pids:/docker/" + kHex + "\n11:memory:/docker/" + kHex + "\n", kHex, "docker"},
    };
    for (const auto& c : cases) {
        INFO(c.cgroup);
        auto ref = parse(c.cgroup);
        REQUIRE(ref.has_value());
        CHECK(ref->id == c.id);
        CHECK(ref->runtime == c.runtime);
    }
    CHECK(parse("0::/default/bl7\n")->ns == "default");
}

TEST_CASE("host cgroups are not containers", "[containers]") {
    CHECK_FALSE(parse("0::/\n"));
    CHECK_FALSE(parse("0::/init.scope\n"));
    CHECK_FALSE(parse("0::/system.slice/ssh.service\n"));
    CHECK_FALSE(parse("0::/user.slice/user-1000.slice/session-3.scope\n"));
    CHECK_FALSE(parse("0::/system.slice/crio-conmon-" + kHex + ".scope\n"));
    // Two components but not a containerd namespace.
    CHECK_FALSE(parse("0::/system.slice/cron.service\n"));
    CHECK_FALSE(parse(""));
    CHECK_FALSE(parse("garbage without colons"));
}

TEST_CASE("the shim's argv names the container", "[containers]") {
    auto ref = container_from_shim_argv({"/usr/bin/containerd-shim-runc-v2", "-namespace", "default", "-id", "bl3",
                                         "-address", "/run/containerd/containerd.sock"});
    REQUIRE(ref);
    CHECK(ref->id == "bl3");
    CHECK(ref->ns == "default");
    CHECK(ref->runtime == "containerd");
    CHECK_FALSE(container_from_shim_argv({"/bin/bash", "-id", "x"}));
    CHECK_FALSE(container_from_shim_argv({"containerd-shim-runc-v2", "-id", "../../etc"}));
}

TEST_CASE("names and images come from the runtime's state files", "[containers]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("adock-ct-" + std::to_string(::getpid()));
    fs::create_directories(dir / "k8s.io" / kHex);
    fs::create_directories(dir / "docker" / kHex);
    std::ofstream(dir / "k8s.io" / kHex / "config.json")
        << R"({"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-name":"web","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.25"}})";
    std::ofstream(dir / "docker" / kHex / "config.v2.json") << R"({"Name":"/db","Config":{"Image":"postgres:16"}})";
    adock::proc::ContainerResolver r((dir).string(), (dir / "docker").string());
    ContainerRef c;
    c.id = kHex;
    c.runtime = "containerd";
    c.ns = "k8s.io";
    r.enrich(c);
    CHECK(c.name == "web");
    CHECK(c.image == "docker.io/library/nginx:1.25");
    ContainerRef d;
    d.id = kHex;
    d.runtime = "docker";
    adock::proc::ContainerResolver r2((dir).string(), (dir / "docker").string());
    r2.enrich(d);
    CHECK(d.name == "db");
    CHECK(d.image == "postgres:16");
    fs::remove_all(dir);
}

TEST_CASE("runc's argv names the container it starts", "[containers]") {
    auto id_of = [](std::vector<std::string> argv) -> std::string {
        auto ref = container_from_runtime_argv(argv);
        return ref ? ref->runtime + ":" + ref->id : std::string("none");
    };
    CHECK(id_of({"runc", "--root", "/tmp/r", "run", "cap-b"}) == "runc:cap-b");
    CHECK(id_of({"/usr/sbin/runc", "--log=/x", "create", "--bundle", "/b", "--pid-file", "/p", "c1"}) == "runc:c1");
    CHECK(id_of({"crun", "exec", "-e", "A=1", "--user", "0", "web", "sh", "-c", "id"}) == "crun:web");
    CHECK(id_of({"runc", "--root", "/run/containerd/runc/k8s.io", "--log", "/l", "--log-format", "json",
                 "exec", "--process", "/tmp/p.json", "--detach", "abc123"}) == "runc:abc123");
    CHECK(id_of({"runc", "init"}) == "none");
    CHECK(id_of({"runc", "list"}) == "none");
    CHECK(id_of({"runc", "run", "../../etc"}) == "none");
    CHECK(id_of({"bash", "run", "x"}) == "none");
}
