// SPDX-License-Identifier: Apache-2.0
#include "rules/initiator.hpp"

#include "alert/alert.hpp"
#include "test_catch.hpp"

using adock::InitiatorRef;
using adock::rules::InitiatorCorrelator;
using adock::rules::ClientRequest;

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

void client(InitiatorCorrelator& c, int pid, std::uint32_t auid, const std::vector<std::string>& argv, std::int64_t ms) {
    auto req = parse_client_argv(argv);
    REQUIRE(req);
    c.note_client(*req, who(pid, auid, argv), ms);
}

}  // namespace

TEST_CASE("client argv: the container each CLI's exec names", "[initiator]") {
    CHECK(parse_client_argv({"/usr/bin/docker", "-H", "unix:///x.sock", "exec", "soak-d", "ls", "/usr/bin"})->ref == "soak-d");
    CHECK(parse_client_argv({"docker", "container", "exec", "-it", "-e", "A=1", "-u", "0", "c1", "sh"})->ref == "c1");
    CHECK(parse_client_argv({"podman", "--cgroup-manager=cgroupfs", "--events-backend", "file", "exec", "fim-p", "sh"})->ref == "fim-p");
    auto ctr = parse_client_argv({"ctr", "--address", "/s", "task", "exec", "--exec-id", "x1", "soak-cd", "/bin/ls"});
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
    auto renamed = adock::rules::parse_client_argv("/usr/bin/docker", {"ctr", "exec", "-it", "c1", "sh"});
    REQUIRE(renamed);
    CHECK(renamed->ref == "c1");
    CHECK_FALSE(renamed->id_only);
    CHECK(runtime_exec({"runc", "--root", "/r", "--log", "l", "--log-format", "json", "exec", "--process", "/tmp/p", "--detach", kId}));
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
