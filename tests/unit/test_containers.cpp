// SPDX-License-Identifier: Apache-2.0
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "proc/containers.hpp"
#include "proc/process_table.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using adock::ContainerRef;
using adock::proc::container_from_cgroup;
using adock::proc::container_from_runtime_argv;
using adock::proc::container_from_shim_argv;

namespace {

const std::string kHex = "3f1c6a5b9e0d4c2b8a7f6e5d4c3b2a190817263544536271809a0b1c2d3e4f50";

std::optional<ContainerRef> parse(const std::string& text) {
    return container_from_cgroup(text, [](std::string_view ns, std::string_view) {
        return ns == "default" || ns == "custom";
    });
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
        {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/"
         "cri-containerd-" +
             kHex + ".scope\n",
         kHex,
         "containerd"},
        {"0::/system.slice/containerd.service/kubepods-burstable-pod1.slice:cri-containerd:" +
             kHex + "\n",
         kHex,
         "containerd"},
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
    auto ref = container_from_shim_argv({"/usr/bin/containerd-shim-runc-v2",
                                         "-namespace",
                                         "default",
                                         "-id",
                                         "bl3",
                                         "-address",
                                         "/run/containerd/containerd.sock"});
    REQUIRE(ref);
    CHECK(ref->id == "bl3");
    CHECK(ref->ns == "default");
    CHECK(ref->runtime == "containerd");
    CHECK_FALSE(container_from_shim_argv({"containerd-shim-runc-v2", "-id", "../../etc"}));
    CHECK_FALSE(container_from_shim_argv(
        {"containerd-shim-runc-v2", "-namespace", "../../trap", "-id", "abc"}));
    CHECK_FALSE(
        container_from_shim_argv({"containerd-shim-runc-v2", "-namespace", "..", "-id", "abc"}));
    CHECK(container_from_shim_argv({"x", "-namespace", "moby", "-id", "abc"})->runtime == "docker");
}

TEST_CASE("a container's processes share one identity, not a copy each", "[containers][memory]") {
    // The process table holds thousands of a container's processes: each entry pointing to the
    // one ContainerRef its first process was given, not a copy of its strings.
    adock::config::ProcessTableConfig cfg;
    cfg.use_proc = false;
    adock::proc::ProcessTable table(cfg, "/nonexistent");
    auto exec = [&table](int pid, int ppid, std::vector<std::string> argv) {
        const std::string exe = argv.front();
        (void)table.observe(adock::test::exec_event(pid, ppid, exe, std::move(argv)));
    };
    exec(100, 1, {"/usr/bin/containerd-shim-runc-v2", "-namespace", "default", "-id", kHex});
    exec(101, 100, {"/bin/sh", "-c", "sleep 1 & sleep 2"});
    exec(102, 101, {"/bin/sleep", "1"});
    exec(103, 101, {"/bin/sleep", "2"});
    exec(200, 1, {"/usr/sbin/sshd"});
    const adock::proc::RoleOf role = [](const adock::proc::ProcessInfo& p) {
        return p.exe == "/usr/bin/containerd-shim-runc-v2" ? adock::proc::RuntimeRole::Shim
                                                           : adock::proc::RuntimeRole::None;
    };
    adock::proc::ContainerResolver resolver(adock::proc::ContainerDirs{});
    adock::proc::SharedContainer first;
    adock::proc::SharedContainer second;
    adock::proc::SharedContainer third;
    REQUIRE(resolver.attribute(table, 102, role, &second) == adock::proc::Attribution::Container);
    REQUIRE(resolver.attribute(table, 101, role, &first) == adock::proc::Attribution::Container);
    REQUIRE(resolver.attribute(table, 103, role, &third) == adock::proc::Attribution::Container);
    REQUIRE(first);
    CHECK(first->id == kHex);
    CHECK(first->ns == "default");
    CHECK(second.get() == first.get());
    CHECK(third.get() == first.get());
    CHECK(table.peek(102)->container.get() == first.get());
    // A process outside it has none.
    adock::proc::SharedContainer none;
    CHECK(resolver.attribute(table, 200, role, &none) != adock::proc::Attribution::Container);
    CHECK_FALSE(none);
}

TEST_CASE("names and images come from the runtime's state files", "[containers]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("adock-ct-" + std::to_string(::getpid()));
    fs::create_directories(dir / "ctd" / "k8s.io" / kHex);
    fs::create_directories(dir / "ctd" / "default" / "bl3");
    fs::create_directories(dir / "docker" / kHex);
    fs::create_directories(dir / "podman" / "overlay-containers");
    std::ofstream(dir / "ctd" / "k8s.io" / kHex / "config.json")
        << R"({"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-name":"web","io.kubernetes.cri.image-name":"docker.io/library/nginx:1.25","io.kubernetes.cri.sandbox-name":"web-7d9f","io.kubernetes.cri.sandbox-namespace":"shop"}})";
    std::ofstream(dir / "ctd" / "default" / "bl3" / "config.json")
        << R"({"ociVersion":"1.0.2","process":{"cwd":"/proc/self/fd/7"},"mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/h","type":"none","source":"/","options":["rbind","ro"]},{"destination":"/etc/hosts","type":"bind","source":"/var/lib/x/hosts"}]})";
    std::ofstream(dir / "docker" / kHex / "config.v2.json")
        << R"({"Name":"/db","Config":{"Image":"postgres:16","WorkingDir":"/srv"},"MountPoints":{"/sock":{"Source":"/var/run/docker.sock","Destination":"/sock","Type":"bind"},"/data":{"Source":"/srv/data","Destination":"/data","Type":"bind"}}})";
    std::ofstream(dir / "podman" / "overlay-containers" / "containers.json")
        << R"([{"id":")" << kHex
        << R"(","names":["pm-web"],"image":"ab12","metadata":"{\"image-name\":\"localhost/bb:latest\",\"name\":\"pm-web\"}"}])";
    adock::proc::NameResolver r(adock::proc::ContainerDirs{
        (dir / "ctd").string(), (dir / "docker").string(), (dir / "podman").string()});
    ContainerRef k8s;
    k8s.id = kHex;
    k8s.runtime = "containerd";
    k8s.ns = "k8s.io";
    auto n = r.read_names(k8s);
    CHECK(n.name == "web");
    CHECK(n.image == "docker.io/library/nginx:1.25");
    CHECK(n.pod == "web-7d9f");
    CHECK(n.pod_namespace == "shop");

    SECTION("docker by its 64-hex id, also when attributed through containerd's moby namespace") {
        ContainerRef d;
        d.id = kHex;
        d.runtime = "containerd";
        d.ns = "moby";
        auto dn = r.read_names(d);
        CHECK(dn.name == "db");
        CHECK(dn.image == "postgres:16");
        CHECK(dn.runtime == "docker");
        // Its spec: the working directory, and only the binds that give it the host.
        CHECK(dn.spec.cwd == "/srv");
        REQUIRE(dn.spec.binds.size() == 1);
        CHECK(dn.spec.binds[0].first == "/var/run/docker.sock");
        CHECK(dn.spec.binds[0].second == "/sock");
        const auto found = adock::proc::request_from_spec(dn.spec);
        REQUIRE(found.size() == 1);
        CHECK(found[0].kind == adock::proc::RequestKind::HostMount);
        CHECK(found[0].what == "bind mount of /var/run/docker.sock at /sock");
    }
    SECTION("podman from its storage's containers.json") {
        ContainerRef p;
        p.id = kHex;
        p.runtime = "podman";
        auto pn = r.read_names(p);
        CHECK(pn.name == "pm-web");
        CHECK(pn.image == "localhost/bb:latest");
    }
    SECTION("ctr: the id is the name") {
        ContainerRef c;
        c.id = "bl3";
        c.runtime = "containerd";
        c.ns = "default";
        const auto cn = r.read_names(c);
        CHECK(cn.name == "bl3");
        // An OCI bundle's process.cwd and its rbind of / (not the proc mount, not a file bind).
        CHECK(cn.spec.cwd == "/proc/self/fd/7");
        REQUIRE(cn.spec.binds.size() == 1);
        CHECK(cn.spec.binds[0].first == "/");
        CHECK(adock::proc::request_from_spec(cn.spec).size() == 2);
    }
    SECTION("hostile ids and namespaces read nothing outside the state directories") {
        fs::create_directories(dir / "trap" / "abc");
        std::ofstream(dir / "trap" / "abc" / "config.json")
            << R"({"annotations":{"io.kubernetes.cri.container-name":"FROM-ATTACKER-FILE"}})";
        for (const std::string ns : {"../trap", "..", ".", "a/b"}) {
            ContainerRef c;
            c.id = "abc";
            c.runtime = "containerd";
            c.ns = ns;
            CHECK_FALSE(r.read_names(c).name);
        }
        // A symlink planted beneath the state dir is not followed.
        fs::create_directory_symlink(dir / "trap", dir / "ctd" / "evil");
        ContainerRef c;
        c.id = "abc";
        c.runtime = "containerd";
        c.ns = "evil";
        CHECK_FALSE(r.read_names(c).name);
    }
    SECTION("a FIFO where a state file should be is refused without blocking") {
        fs::create_directories(dir / "ctd" / "default" / "fifo1");
        REQUIRE(::mkfifo((dir / "ctd" / "default" / "fifo1" / "config.json").c_str(), 0600) == 0);
        ContainerRef c;
        c.id = "fifo1";
        c.runtime = "containerd";
        c.ns = "default";
        // returns at once: opened O_NONBLOCK, not a regular file
        CHECK_FALSE(r.read_names(c).name);
    }
    fs::remove_all(dir);
}

TEST_CASE("names are read off the engine thread and cached", "[containers]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("adock-ct2-" + std::to_string(::getpid()));
    fs::create_directories(dir / "docker" / kHex);
    std::ofstream(dir / "docker" / kHex / "config.v2.json")
        << R"({"Name":"/db","Config":{"Image":"postgres:16"}})";
    adock::proc::NameResolver r(adock::proc::ContainerDirs{
        (dir / "ctd").string(), (dir / "docker").string(), (dir / "podman").string()});
    ContainerRef d;
    d.id = kHex;
    d.runtime = "docker";
    bool pending = false;
    CHECK_FALSE(r.lookup(d, &pending));  // never blocks: queued
    CHECK(pending);
    r.drain(2000);
    auto n = r.lookup(d, &pending);
    REQUIRE(n);
    CHECK(n->name == "db");
    CHECK_FALSE(pending);
    fs::remove_all(dir);
}

TEST_CASE("runc's argv names the container it starts", "[containers]") {
    auto id_of = [](std::vector<std::string> argv) -> std::string {
        auto ref = container_from_runtime_argv(argv);
        return ref ? ref->runtime + ":" + ref->id : std::string("none");
    };
    CHECK(id_of({"runc", "--root", "/tmp/r", "run", "cap-b"}) == "runc:cap-b");
    CHECK(
        id_of(
            {"/usr/sbin/runc", "--log=/x", "create", "--bundle", "/b", "--pid-file", "/p", "c1"}) ==
        "runc:c1");
    CHECK(id_of({"crun", "exec", "-e", "A=1", "--user", "0", "web", "sh", "-c", "id"}) ==
          "crun:web");
    CHECK(id_of({"runc",
                 "--root",
                 "/run/containerd/runc/k8s.io",
                 "--log",
                 "/l",
                 "--log-format",
                 "json",
                 "exec",
                 "--process",
                 "/tmp/p.json",
                 "--detach",
                 "abc123"}) == "runc:abc123");
    CHECK(id_of({"runc", "init"}) == "none");
    CHECK(id_of({"runc", "list"}) == "none");
    CHECK(id_of({"runc", "run", "../../etc"}) == "none");
    // The parser reads a command line; whether the process is a runtime at all is decided by
    // its executable's identity, never by argv[0] (the engine only asks for identified ones).
    CHECK(id_of({"runc", "run", "a/b"}) == "none");
    CHECK(id_of({"runc", "run", "."}) == "none");
}

TEST_CASE("container requests: what a client's or runtime's command line asks of the runtime",
          "[containers][escape]") {
    using adock::proc::request_from_argv;
    using adock::proc::RequestKind;
    auto kinds = [](const std::vector<std::string>& argv) {
        std::vector<std::pair<RequestKind, std::string>> out;
        for (const auto& f : request_from_argv(argv)) {
            out.emplace_back(f.kind, f.what);
        }
        return out;
    };
    // CVE-2024-21626's working directories, by every spelling of the option.
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"docker", "run", "-w", "/proc/self/fd/7", "img"},
             {"docker",
              "-H",
              "unix:///x.sock",
              "run",
              "--rm",
              "-it",
              "--workdir=/proc/self/fd/8",
              "img",
              "sh"},
             {"docker", "container", "create", "-w/proc/thread-self/fd/7/../..", "img"},
             {"docker", "exec", "-itw", "/proc/1/fd/5", "web", "sh"},
             {"podman", "--root", "/r", "exec", "--workdir", "//proc/./self/fd/7", "web", "sh"},
             {"ctr", "-n", "default", "run", "--cwd", "/proc/self/fd/9", "docker.io/x:1", "c1"},
             {"ctr",
              "task",
              "exec",
              "--exec-id",
              "x1",
              "--cwd",
              "/proc/../proc/self/fd/6",
              "c1",
              "sh"},
             {"runc", "--root", "/run/runc", "exec", "--cwd", "/proc/self/fd/7", "c1", "sh"}}) {
        const auto k = kinds(argv);
        INFO(argv[1] + " " + argv[2] + " " + argv[3]);
        REQUIRE(k.size() == 1);
        CHECK(k[0].first == RequestKind::LeakedFdCwd);
        CHECK(k[0].second.starts_with("working directory "));
    }
    // Host mounts: / and runtime sockets (or their directories), -v, --volume=, --mount.
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"docker", "run", "--name", "x", "-v", "/:/host", "img"},
             {"docker",
              "run",
              "-d",
              "--volume=/var/run/docker.sock:/var/run/docker.sock:ro",
              "img"},
             {"docker", "run", "--mount", "type=bind,source=/run/containerd,target=/c", "img"},
             {"podman", "create", "-v", "/run/podman/podman.sock:/s:z", "img"},
             {"nerdctl", "run", "-v", "/var/run:/r", "img"},
             {"ctr",
              "run",
              "--mount",
              "type=bind,src=/,dst=/host,options=rbind:ro",
              "docker.io/x:1",
              "c1"}}) {
        const auto k = kinds(argv);
        INFO(argv[1] + " " + argv[2] + " " + argv[3]);
        REQUIRE(k.size() == 1);
        CHECK(k[0].first == RequestKind::HostMount);
    }
    CHECK(kinds({"docker", "run", "-v", "/:/host", "img"})[0].second == "bind mount of / at /host");
    // Ordinary requests, and the container's own arguments after the image are its command's.
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"docker", "run", "-w", "/srv", "-v", "/srv/data:/data", "-v", "vol:/x", "img"},
             {"docker", "run", "img", "sh", "-c", "ls", "-w", "/proc/self/fd/7", "-v", "/:/h"},
             {"docker", "exec", "web", "cat", "/proc/self/fd/0"},
             {"docker", "ps", "-w", "/proc/self/fd/7"},
             {"docker", "run", "-v", "/run/user/1000/containers/x:/x", "img"},
             {"docker", "run", "-v", "/proc:/p", "--workdir", "/proc/self/fdx", "img"},
             {"runc", "run", "--bundle", "/b", "c1"},
             {"docker"},
             {}}) {
        CHECK(kinds(argv).empty());
    }
    // What a finding shows is bounded, whatever the argument's length.
    const auto longest =
        kinds({"docker", "run", "-w", "/proc/self/fd/7/" + std::string(100000, 'a'), "img"});
    REQUIRE(longest.size() == 1);
    CHECK(longest[0].second.size() < 400);
    // Both in one request.
    CHECK(kinds({"docker", "run", "-v", "/:/h", "-w", "/proc/self/fd/7", "img"}).size() == 2);
}

TEST_CASE("container requests: paths are judged lexically, never opened", "[containers][escape]") {
    using adock::proc::host_sensitive_source;
    using adock::proc::leaked_fd_path;
    CHECK(adock::proc::lexically_normal("//a/./b/../c/") == "/a/c");
    CHECK(adock::proc::lexically_normal("/../..") == "/");
    CHECK(leaked_fd_path("/proc/self/fd/7"));
    CHECK(leaked_fd_path("/proc/self/fd"));
    CHECK(leaked_fd_path("/proc/self/fd/7/../../../../bin"));
    CHECK(leaked_fd_path("/proc/4242/fd/3"));
    CHECK_FALSE(leaked_fd_path("/proc/self/cwd"));
    CHECK_FALSE(leaked_fd_path("/proc/x1/fd/3"));
    CHECK_FALSE(leaked_fd_path("/srv/proc/self/fd/3"));
    CHECK_FALSE(leaked_fd_path(""));
    CHECK(host_sensitive_source("/"));
    CHECK(host_sensitive_source("//"));
    CHECK(host_sensitive_source("/etc/.."));
    CHECK(host_sensitive_source("/var/run/docker.sock"));
    CHECK(host_sensitive_source("/run/user/1000/podman/podman.sock"));
    CHECK_FALSE(host_sensitive_source("/run/containers/storage/x/userdata/.containerenv"));
    CHECK_FALSE(host_sensitive_source("docker.sock"));
    CHECK_FALSE(host_sensitive_source("/srv"));
    // The bound: a spec with many binds keeps at most kMaxBinds, each path cut to its bound.
    adock::proc::ContainerSpec spec;
    for (std::size_t i = 0; i < adock::proc::ContainerSpec::kMaxBinds + 5; ++i) {
        spec.add_bind("/", std::string(5000, 'x'));
    }
    CHECK(spec.binds.size() == adock::proc::ContainerSpec::kMaxBinds);
    CHECK(spec.binds[0].second.size() == adock::proc::ContainerSpec::kMaxPathBytes);
}
