// SPDX-License-Identifier: Apache-2.0
#include "alert/alert.hpp"
#include "rules/initiator.hpp"
#include "test_catch.hpp"

using adock::InitiatorRef;
using adock::rules::ClientRequest;
using adock::rules::InitiatorCorrelator;

namespace {
/// The client's request as the engine asks for it, the program taken to be what argv[0] names.
std::optional<ClientRequest> parse_client_argv(const std::vector<std::string>& argv) {
    return adock::rules::parse_client_argv(argv.empty() ? std::string() : argv[0], argv);
}
}  // namespace

using adock::rules::runtime_exec;

namespace {

const std::string kId = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

InitiatorRef who(int pid, std::uint32_t auid, const std::vector<std::string>& argv) {
    InitiatorRef r;
    r.pid = pid;
    r.exe = argv.front();
    r.argv = argv;
    r.auid = auid;
    r.uid = 0;
    return r;
}

void client(InitiatorCorrelator& c,
            int pid,
            std::uint32_t auid,
            const std::vector<std::string>& argv,
            std::int64_t ms) {
    auto req = parse_client_argv(argv);
    REQUIRE(req);
    c.note_client(*req, who(pid, auid, argv), ms);
}

}  // namespace

TEST_CASE("client argv: the container each CLI's exec names", "[initiator]") {
    CHECK(parse_client_argv(
              {"/usr/bin/docker", "-H", "unix:///x.sock", "exec", "soak-d", "ls", "/usr/bin"})
              ->ref == "soak-d");
    CHECK(parse_client_argv(
              {"docker", "container", "exec", "-it", "-e", "A=1", "-u", "0", "c1", "sh"})
              ->ref == "c1");
    CHECK(parse_client_argv({"podman",
                             "--cgroup-manager=cgroupfs",
                             "--events-backend",
                             "file",
                             "exec",
                             "fim-p",
                             "sh"})
              ->ref == "fim-p");
    auto ctr = parse_client_argv(
        {"ctr", "--address", "/s", "task", "exec", "--exec-id", "x1", "soak-cd", "/bin/ls"});
    REQUIRE(ctr);
    CHECK(ctr->ref == "soak-cd");
    CHECK(ctr->id_only);
    CHECK(parse_client_argv({"crictl", "exec", "-it", "3f4e", "sh"})->ref == "3f4e");
    CHECK_FALSE(parse_client_argv({"docker", "run", "--name", "x", "img"}));
    CHECK_FALSE(parse_client_argv({"docker", "ps"}));
    CHECK_FALSE(parse_client_argv({"ctr", "run", "img", "id"}));
    CHECK_FALSE(parse_client_argv({"bash", "exec", "x"}));
    // The grammar is the host file's (by identity), never argv[0]'s: docker's binary run as
    // `exec -a ctr` still asks docker's exec of c1.
    auto renamed =
        adock::rules::parse_client_argv("/usr/bin/docker", {"ctr", "exec", "-it", "c1", "sh"});
    REQUIRE(renamed);
    CHECK(renamed->ref == "c1");
    CHECK_FALSE(renamed->id_only);
    CHECK(runtime_exec({"runc",
                        "--root",
                        "/r",
                        "--log",
                        "l",
                        "--log-format",
                        "json",
                        "exec",
                        "--process",
                        "/tmp/p",
                        "--detach",
                        kId}));
    CHECK_FALSE(runtime_exec({"runc", "--root", "/r", "create", "--bundle", "/b", kId}));
}

TEST_CASE("initiator: docker exec by name, by id prefix; ctr and podman", "[initiator]") {
    InitiatorCorrelator c;
    SECTION("by name (known)") {
        client(c, 100, 1000, {"/usr/bin/docker", "exec", "soak-d", "ls"}, 1000);
        auto i = c.on_runtime_exec(kId, std::string("soak-d"), 1200);
        REQUIRE(i);
        CHECK_FALSE(i->ambiguous);
        CHECK(i->pid == 100);
        CHECK(i->auid == 1000U);
        CHECK(i->exe == "/usr/bin/docker");
        CHECK(c.pending() == 0);  // used
        CHECK_FALSE(c.on_runtime_exec(kId, std::string("soak-d"), 1300));
    }
    SECTION("by name while the name is unknown: no proof") {
        client(c, 100, 1000, {"/usr/bin/docker", "exec", "soak-d", "ls"}, 1000);
        CHECK_FALSE(c.on_runtime_exec(kId, std::nullopt, 1200));
        CHECK(c.pending() == 1);
    }
    SECTION("by id prefix") {
        client(c, 101, 1001, {"/usr/bin/docker", "exec", kId.substr(0, 12), "sh"}, 1000);
        auto i = c.on_runtime_exec(kId, std::nullopt, 1100);
        REQUIRE(i);
        CHECK(i->pid == 101);
    }
    SECTION("ctr task exec: the full id only") {
        client(c, 102, 0, {"ctr", "task", "exec", "--exec-id", "x1", "soak-cd", "/bin/ls"}, 1000);
        client(c, 103, 0, {"ctr", "task", "exec", "--exec-id", "x2", "soak", "/bin/ls"}, 1000);
        auto i = c.on_runtime_exec("soak-cd", std::nullopt, 1010);
        REQUIRE(i);
        CHECK_FALSE(i->ambiguous);  // "soak" is no prefix ctr accepts
        CHECK(i->pid == 102);
    }
    SECTION("podman exec by name (conmon's -n)") {
        client(c, 104, 1002, {"podman", "exec", "fim-p", "sh"}, 1000);
        auto i = c.on_runtime_exec(kId, std::string("fim-p"), 1500);
        REQUIRE(i);
        CHECK(i->exe == "podman");
    }
}

TEST_CASE("initiator: never a guess", "[initiator]") {
    InitiatorCorrelator c;
    SECTION("two clients for the same container: ambiguous, both named") {
        client(c, 200, 1000, {"docker", "exec", "web", "sh"}, 1000);
        client(c, 201, 1001, {"docker", "exec", kId.substr(0, 8), "sh"}, 1001);
        auto i = c.on_runtime_exec(kId, std::string("web"), 1100);
        REQUIRE(i);
        CHECK(i->ambiguous);
        CHECK(i->pid == -1);
        REQUIRE(i->candidates.size() == 2);
        CHECK(c.stats().ambiguous == 1);
    }
    SECTION("a certain one and one by a name that cannot be ruled out: ambiguous") {
        client(c, 200, 1000, {"docker", "exec", "maybe-this", "sh"}, 1000);
        client(c, 201, 1001, {"docker", "exec", kId, "sh"}, 1001);
        auto i = c.on_runtime_exec(kId, std::nullopt, 1100);
        REQUIRE(i);
        CHECK(i->ambiguous);
        CHECK(i->candidates.size() == 2);
    }
    SECTION("a client for another container is not matched") {
        client(c, 202, 1000, {"docker", "exec", "other", "sh"}, 1000);
        CHECK_FALSE(c.on_runtime_exec(kId, std::string("web"), 1100));
        client(c, 203, 1001, {"docker", "exec", "web", "sh"}, 1200);
        auto i = c.on_runtime_exec(kId, std::string("web"), 1300);
        REQUIRE(i);
        CHECK_FALSE(i->ambiguous);  // "other" is another container's name
        CHECK(i->pid == 203);
    }
    SECTION("a request after the runtime's exec is not its") {
        client(c, 204, 1000, {"docker", "exec", "web", "sh"}, 2000);
        CHECK_FALSE(c.on_runtime_exec(kId, std::string("web"), 1999));
    }
}

TEST_CASE("initiator: expiry and bounds", "[initiator]") {
    InitiatorCorrelator::Options o;
    o.window_ms = 5000;
    o.max_requests = 4;
    InitiatorCorrelator c(o);
    client(c, 300, 1000, {"docker", "exec", "web", "sh"}, 1000);
    CHECK_FALSE(c.on_runtime_exec(kId, std::string("web"), 6001));
    CHECK(c.stats().expired == 1);
    for (int k = 0; k < 10; ++k) {
        client(c, 400 + k, 1000, {"docker", "exec", "c" + std::to_string(k), "sh"}, 7000 + k);
    }
    CHECK(c.pending() == 4);
    CHECK(c.stats().dropped == 6);
    CHECK_FALSE(c.on_runtime_exec(kId, std::string("c0"), 7100));  // dropped, oldest first
    auto i = c.on_runtime_exec(kId, std::string("c9"), 7100);
    REQUIRE(i);
    CHECK(i->pid == 409);
    InitiatorCorrelator::Options small;
    small.max_bytes = 4096;
    InitiatorCorrelator b(small);
    for (int k = 0; k < 100; ++k) {
        client(b, k, 0, {"docker", "exec", "c", std::string(800, 'x')}, 1000);
    }
    CHECK(b.pending_bytes() <= 4096);
    CHECK(b.stats().dropped > 0);
}

// ---------------------------------------------------------------------------------------------
// docker/podman run and start: the runtime's create of the container

using adock::rules::parse_client_start;
using adock::rules::runtime_create;
using Kind = adock::rules::ClientRequest::Kind;

namespace {

void starter(InitiatorCorrelator& c,
             int pid,
             std::uint32_t auid,
             const std::vector<std::string>& argv,
             std::int64_t ms) {
    auto reqs = parse_client_start(argv.front(), argv);
    REQUIRE_FALSE(reqs.empty());
    c.note_client(reqs, who(pid, auid, argv), ms);
}

/// The runtime creating container `id` at `ms`, decided with its name and image.
std::shared_ptr<const InitiatorRef> create(InitiatorCorrelator& c,
                                           const std::string& id,
                                           const std::optional<std::string>& name,
                                           const std::optional<std::string>& image,
                                           std::int64_t ms) {
    auto s = c.on_runtime_create(id, ms);
    return c.decide(s, name, image);
}

const std::string kId2 = "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233";

}  // namespace

TEST_CASE("client argv: the containers docker, podman and nerdctl run and start name",
          "[initiator]") {
    auto run = parse_client_start("/usr/bin/docker",
                                  {"docker",
                                   "-H",
                                   "unix:///x.sock",
                                   "run",
                                   "-it",
                                   "--rm",
                                   "--name",
                                   "web",
                                   "-e",
                                   "A=1",
                                   "adock-bb:1",
                                   "sh",
                                   "-c",
                                   "--name x"});
    REQUIRE(run.size() == 1);
    CHECK(run[0].kind == Kind::Run);
    CHECK(run[0].ref == "web");
    CHECK(run[0].image == "adock-bb:1");
    auto anon = parse_client_start(
        "docker", {"docker", "container", "run", "-d", "--network", "host", "adock-bb:1", "top"});
    REQUIRE(anon.size() == 1);
    CHECK(anon[0].ref.empty());
    CHECK(anon[0].image == "adock-bb:1");
    auto pod = parse_client_start("/usr/bin/podman",
                                  {"podman",
                                   "--cgroup-manager=cgroupfs",
                                   "run",
                                   "--name=p1",
                                   "-v",
                                   "/srv:/srv",
                                   "img",
                                   "true"});
    REQUIRE(pod.size() == 1);
    CHECK(pod[0].ref == "p1");
    CHECK(pod[0].image == "img");
    auto start = parse_client_start(
        "docker", {"docker", "start", "-a", "c1", "--detach-keys", "ctrl-x", "c2"});
    REQUIRE(start.size() == 2);
    CHECK(start[0].kind == Kind::Start);
    CHECK(start[0].ref == "c1");
    CHECK(start[1].ref == "c2");
    CHECK(parse_client_start("nerdctl", {"nerdctl", "container", "start", "n1"}).size() == 1);
    CHECK(parse_client_start("podman", {"podman", "start", "--attach", "p1"}).at(0).ref == "p1");
    CHECK(parse_client_start("docker", {"docker", "start", "-ai", "c1"}).at(0).ref == "c1");
    CHECK(parse_client_start("docker", {"docker", "run", "-a", "stdout", "img"}).at(0).image ==
          "img");
    // As many as the bound.
    std::vector<std::string> many{"docker", "start"};
    for (int k = 0; k < 40; ++k) {
        many.push_back("c" + std::to_string(k));
    }
    CHECK(parse_client_start("docker", many).size() == adock::rules::kMaxStartRefs);
    // Not a run or a start; a start of nothing named; not one of these CLIs; argv[0] decides
    // nothing.
    CHECK(parse_client_start("docker", {"docker", "exec", "c1", "sh"}).empty());
    CHECK(parse_client_start("docker", {"docker", "ps"}).empty());
    CHECK(parse_client_start("podman", {"podman", "start", "--latest"}).empty());
    CHECK(parse_client_start("ctr", {"ctr", "run", "img", "id"}).empty());
    CHECK(parse_client_start("/usr/bin/bash", {"docker", "start", "c1"}).empty());
    CHECK(parse_client_start("/usr/bin/podman", {"runc", "start", "c1"}).size() == 1);
    CHECK_FALSE(parse_client_argv({"docker", "start", "c1"}));  // no exec request
    CHECK(runtime_create({"runc",
                          "--root",
                          "/r",
                          "--log",
                          "l",
                          "--log-format",
                          "json",
                          "create",
                          "--bundle",
                          "/b",
                          "--pid-file",
                          "p",
                          kId}));
    CHECK(runtime_create({"crun", "run", "--bundle", "/b", kId}));
    CHECK_FALSE(runtime_create({"runc", "--root", "/r", "start", kId}));
    CHECK_FALSE(runtime_create({"runc", "exec", "--process", "/p", kId}));
}

TEST_CASE("initiator: docker start and run, by the runtime's create of the container",
          "[initiator]") {
    InitiatorCorrelator c;
    SECTION("start by name (known), by id prefix (name unknown)") {
        starter(c, 100, 1000, {"docker", "start", "web"}, 1000);
        auto i = create(c, kId, std::string("web"), std::string("adock-bb:1"), 1200);
        REQUIRE(i);
        CHECK_FALSE(i->ambiguous);
        CHECK(i->pid == 100);
        CHECK(c.pending() == 0);
        starter(c, 101, 1001, {"docker", "start", kId.substr(0, 12)}, 2000);
        auto j = create(c, kId, std::nullopt, std::nullopt, 2100);
        REQUIRE(j);
        CHECK(j->pid == 101);
        CHECK(c.stats().matched == 2);
    }
    SECTION("run --name by the name; run without one by its image") {
        starter(c, 102, 1002, {"docker", "run", "-d", "--name", "web", "adock-bb:1"}, 1000);
        starter(c, 103, 1003, {"docker", "run", "-d", "other:2"}, 1001);
        auto i = create(c, kId, std::string("web"), std::string("adock-bb:1"), 1100);
        REQUIRE(i);
        CHECK_FALSE(i->ambiguous);  // the other asked for another image
        CHECK(i->pid == 102);
        auto j = create(c, kId2, std::string("quirky_einstein"), std::string("other:2"), 1200);
        REQUIRE(j);
        CHECK_FALSE(j->ambiguous);
        CHECK(j->pid == 103);
    }
    SECTION("docker start a b: one command, one candidate for each") {
        starter(c, 104, 1004, {"docker", "start", "a", kId2.substr(0, 6)}, 1000);
        auto i = create(c, kId, std::string("a"), std::nullopt, 1100);
        REQUIRE(i);
        CHECK_FALSE(i->ambiguous);
        auto j = create(c, kId2, std::string("b"), std::nullopt, 1200);
        REQUIRE(j);
        CHECK_FALSE(j->ambiguous);
        CHECK(j == i);  // the same command, shared
        // the same container twice
        starter(c, 105, 1005, {"docker", "start", "web", kId.substr(0, 8)}, 2000);
        auto k = create(c, kId, std::string("web"), std::nullopt, 2100);
        REQUIRE(k);
        CHECK_FALSE(k->ambiguous);
        CHECK(k->pid == 105);
    }
    SECTION("exec requests are not starts, start requests not execs") {
        client(c, 106, 1006, {"docker", "exec", "web", "sh"}, 1000);
        starter(c, 107, 1007, {"docker", "start", "db"}, 1000);
        CHECK_FALSE(create(c, kId, std::string("web"), std::nullopt, 1100));
        CHECK_FALSE(c.on_runtime_exec(kId2, std::string("db"), 1100));
        CHECK(c.pending() == 2);
    }
}

TEST_CASE("initiator: a start is never a guess", "[initiator]") {
    InitiatorCorrelator c;
    SECTION("two runs of the same image: ambiguous, both named, both used") {
        starter(c, 200, 1000, {"docker", "run", "adock-bb:1"}, 1000);
        starter(c, 201, 1001, {"docker", "run", "-it", "adock-bb:1", "sh"}, 1001);
        auto i = create(c, kId, std::string("a_b"), std::string("adock-bb:1"), 1100);
        REQUIRE(i);
        CHECK(i->ambiguous);
        CHECK(i->pid == -1);
        CHECK(i->candidates.size() == 2);
        CHECK(c.stats().ambiguous == 1);
        CHECK(c.pending() == 0);
    }
    SECTION("a certain one and one whose name is not known: ambiguous") {
        starter(c, 202, 1000, {"docker", "start", kId.substr(0, 12)}, 1000);
        starter(c, 203, 1001, {"docker", "run", "--name", "maybe", "adock-bb:1"}, 1001);
        auto i = create(c, kId, std::nullopt, std::nullopt, 1100);
        REQUIRE(i);
        CHECK(i->ambiguous);
        CHECK(i->candidates.size() == 2);
        CHECK(c.pending() == 1);  // the run may still be another container's
    }
    SECTION("unknown: a run whose name or image is not known is no proof") {
        starter(c, 204, 1000, {"docker", "run", "--name", "web", "adock-bb:1"}, 1000);
        starter(c, 205, 1000, {"docker", "run", "adock-bb:1"}, 1000);
        CHECK_FALSE(create(c, kId, std::nullopt, std::nullopt, 1100));
        CHECK(c.stats().unmatched == 1);
        CHECK(c.pending() == 2);
    }
    SECTION("a request for another container, or after the create, is not its") {
        starter(c, 206, 1000, {"docker", "run", "--name", "other", "adock-bb:1"}, 1000);
        starter(c, 207, 1000, {"docker", "start", "db"}, 1000);
        CHECK_FALSE(create(c, kId, std::string("web"), std::string("adock-bb:1"), 1100));
        starter(c, 208, 1000, {"docker", "start", "web"}, 2000);
        CHECK_FALSE(create(c, kId, std::string("web"), std::nullopt, 1999));
    }
    SECTION("a request one start took is no other start's") {
        starter(c, 209, 1000, {"docker", "run", "adock-bb:1"}, 1000);
        auto first = c.on_runtime_create(kId, 1100);
        auto second = c.on_runtime_create(kId2, 1101);
        REQUIRE(first.candidates.size() == 1);
        REQUIRE(second.candidates.size() == 1);
        REQUIRE(c.decide(first, std::string("x"), std::string("adock-bb:1")));
        CHECK_FALSE(c.decide(second, std::string("y"), std::string("adock-bb:1")));
    }
    SECTION("expiry and bounds hold for starts too") {
        starter(c, 210, 1000, {"docker", "start", "web"}, 1000);
        CHECK_FALSE(create(c, kId, std::string("web"), std::nullopt, 6001));
        CHECK(c.stats().expired == 1);
        for (int k = 0; k < 300; ++k) {
            starter(c,
                    300 + k,
                    1000,
                    {"docker", "run", "--name", "n" + std::to_string(k), std::string(600, 'i')},
                    7000);
        }
        CHECK(c.pending() <= 256);
        CHECK(c.pending_bytes() <= 256 * 1024);
        CHECK(c.stats().dropped > 0);
        CHECK(c.on_runtime_create(kId, 7001).candidates.size() == c.pending());
    }
}
