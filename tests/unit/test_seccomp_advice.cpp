// SPDX-License-Identifier: Apache-2.0
// --seccomp-profile (issue 15, seccomp advice): the advisor's aggregation, bounds and errors on
// crafted records, and the whole learning path on tests/data/seccomp_learn.log, a live learning
// run (tests/e2e/seccomp_advice.sh: three docker containers of adock-sc:1 under SCMP_ACT_LOG).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "app/seccomp_advice.hpp"
#include "audit/event.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;
using app::SeccompAdvisor;

namespace {

constexpr std::uint32_t kX86_64 = 0xc000003e;
constexpr std::uint32_t kI386 = 0x40000003;

std::optional<ContainerRef> ref(const std::string& id,
                                std::optional<std::string> image = std::nullopt,
                                std::optional<std::string> name = std::nullopt) {
    ContainerRef c;
    c.id = id;
    c.runtime = "docker";
    c.image = std::move(image);
    c.name = std::move(name);
    return c;
}

int nr(std::uint32_t arch, const char* name) {
    const auto n = audit::syscall_number(arch, name);
    REQUIRE(n);
    return *n;
}

/// The "names" array of a profile, in order.
std::vector<std::string> names_of(const std::string& profile) {
    std::vector<std::string> out;
    const auto at = profile.find("\"names\": [");
    REQUIRE(at != std::string::npos);
    const auto end = profile.find(']', at);
    std::size_t p = at + 10;
    while ((p = profile.find('"', p)) < end) {
        const auto q = profile.find('"', p + 1);
        out.push_back(profile.substr(p + 1, q - p - 1));
        p = q + 1;
    }
    return out;
}

/// The records and containers columns of the report's row for `syscall`, as "R C".
std::string row(const std::string& report, const std::string& syscall) {
    std::istringstream in(report);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("  " + syscall + " ")) {
            std::istringstream cols(line.substr(2 + syscall.size()));
            std::string r;
            std::string c;
            cols >> r >> c;
            return r + " " + c;
        }
    }
    return "(no row)";
}

// The live learning run's containers (docker ids) and what docker's state said of them.
const std::string kLearn1 = "e77fb5a11ff16f7448dbd532130ff6a8db387a762077031f8beff8949f4fc48c";
const std::string kLearn2 = "69cfe234ed00437af1ad519b637456def5f5ccad2ba1c0dfa5936143a58ca8fe";
const std::string kLearn3 = "bde73757caabc07c856a9d96a94094741a233294587b87c697db94ce16639565";

}  // namespace

TEST_CASE("seccomp advice: records aggregate per image and arch into one sorted allow list",
          "[seccomp_advice]") {
    SeccompAdvisor a;
    a.add(10, ref("aaaa1", "web:1"), false, kX86_64, nr(kX86_64, "write"));
    a.add(10, ref("aaaa1", "web:1"), false, kX86_64, nr(kX86_64, "write"));
    a.add(10, ref("aaaa1", "web:1"), false, kX86_64, nr(kX86_64, "openat"));
    a.add(20, ref("aaaa2", "web:1"), false, kX86_64, nr(kX86_64, "write"));
    a.add(20, ref("aaaa2", "web:1"), false, kI386, nr(kI386, "socketcall"));
    a.add(30, ref("bbbb1", "db:2"), false, kX86_64, nr(kX86_64, "mount"));
    a.add(40, std::nullopt, true, kX86_64, nr(kX86_64, "reboot"));  // the host: no container's

    const auto s = a.select("web:1");
    REQUIRE(s.error.empty());
    CHECK(s.by == "image");
    CHECK(s.containers.size() == 2);
    const std::string profile = SeccompAdvisor::profile_json(s);
    CHECK(profile.find("\"defaultAction\": \"SCMP_ACT_ERRNO\"") != std::string::npos);
    CHECK(profile.find("\"defaultErrnoRet\": 1") != std::string::npos);
    CHECK(profile.find("\"architectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X86_64\"]") !=
          std::string::npos);
    CHECK(profile.find("\"action\": \"SCMP_ACT_ALLOW\"") != std::string::npos);
    // no mount, no reboot
    CHECK(names_of(profile) == std::vector<std::string>{"openat", "socketcall", "write"});

    const std::string report = a.report(s);
    INFO(report);
    CHECK(report.find("image: 2 container(s), 5 SECCOMP records") != std::string::npos);
    // write: 3 records from 2 containers; per arch, as two arches were seen.
    CHECK(row(report, "write (SCMP_ARCH_X86_64)") == "3 2");
    CHECK(row(report, "socketcall (SCMP_ARCH_X86)") == "1 1");
    CHECK(row(report, "openat (SCMP_ARCH_X86_64)") == "1 1");
    CHECK(a.stats().records == 7);
    CHECK(a.stats().not_in_container == 1);

    const auto db = a.select("db:2");
    CHECK(names_of(SeccompAdvisor::profile_json(db)) == std::vector<std::string>{"mount"});
}

TEST_CASE("seccomp advice: a syscall or arch without a name is counted and reported, never allowed",
          "[seccomp_advice]") {
    SeccompAdvisor a;
    a.add(10, ref("c1", "img"), false, kX86_64, nr(kX86_64, "read"));
    a.add(10, ref("c1", "img"), false, kX86_64, 9999);
    a.add(10, ref("c1", "img"), false, kX86_64, 9999);
    a.add(10, ref("c1", "img"), false, 0x12345678, 1);
    a.add(10, ref("c1", "img"), false, kX86_64, -1);
    CHECK(a.stats().unnamed == 4);
    const auto s = a.select("img");
    CHECK(names_of(SeccompAdvisor::profile_json(s)) == std::vector<std::string>{"read"});
    CHECK(SeccompAdvisor::profile_json(s).find("\"architectures\": [\"SCMP_ARCH_X86_64\"]") !=
          std::string::npos);
    const std::string report = a.report(s);
    INFO(report);
    CHECK(report.find("NOT IN THE PROFILE: arch:syscall c000003e:9999 has no name (2 records, 1 "
                      "containers)") != std::string::npos);
    CHECK(report.find("arch:syscall 12345678:1 has no name (1 records") != std::string::npos);
    CHECK(report.find("c000003e:-1 has no name") != std::string::npos);
    CHECK(report.find("4 without a syscall or arch name") != std::string::npos);
}

TEST_CASE("seccomp advice: an unattributed pid's records wait for the record that attributes it",
          "[seccomp_advice]") {
    SeccompAdvisor a;
    a.add(50, std::nullopt, false, kX86_64, nr(kX86_64, "mkdir"));  // a forked applet, unknown yet
    a.add(50, std::nullopt, false, kX86_64, nr(kX86_64, "mkdir"));
    a.add(51, std::nullopt, false, kX86_64, nr(kX86_64, "chroot"));
    a.add(52, std::nullopt, false, kX86_64, nr(kX86_64, "sync"));
    a.resolve(50, std::nullopt, false);  // still unknown: keeps waiting
    a.resolve(50, ref("c1", "img"), false);
    a.resolve(51, std::nullopt, true);       // the host's
    a.resolve(50, ref("c2", "img"), false);  // nothing waits any more
    a.finish();
    CHECK(a.containers().size() == 1);
    CHECK(a.containers().at("c1").syscalls.at(kX86_64).at("mkdir") == 2);
    CHECK(a.stats().not_in_container == 1);
    CHECK(a.stats().unattributed == 1);  // pid 52: nothing told
    CHECK(a.stats().records == 4);
}

TEST_CASE("seccomp advice: containers, syscalls and waiting pids are bounded, what is cut counted",
          "[seccomp_advice]") {
    SECTION("containers") {
        SeccompAdvisor a;
        for (std::size_t i = 0; i < SeccompAdvisor::kMaxContainers + 5; ++i) {
            a.add(100, ref("c" + std::to_string(i), "img"), false, kX86_64, 0);
        }
        CHECK(a.containers().size() == SeccompAdvisor::kMaxContainers);
        CHECK(a.stats().dropped_containers == 5);
        CHECK(a.report(a.select("img")).find("dropped by the bounds: 5 (containers past 1024)") !=
              std::string::npos);
    }
    SECTION("syscalls per container: three arches' tables hold more names than the bound") {
        SeccompAdvisor a;
        unsigned long long named = 0;
        for (const std::uint32_t arch : {kX86_64, kI386, 0xc00000b7U}) {
            for (int n = 0; n < 600; ++n) {
                if (!audit::syscall_name(arch, n).starts_with("unknown(")) {
                    a.add(1, ref("c1", "img"), false, arch, n);
                    ++named;
                }
            }
        }
        REQUIRE(named > SeccompAdvisor::kMaxSyscalls);
        std::size_t kept = 0;
        for (const auto& [arch, per] : a.containers().at("c1").syscalls) {
            kept += per.size();
        }
        CHECK(kept == SeccompAdvisor::kMaxSyscalls);
        CHECK(a.stats().dropped_syscalls == named - SeccompAdvisor::kMaxSyscalls);
    }
    SECTION("unnamed syscalls per container") {
        SeccompAdvisor a;
        for (int n = 0; n < static_cast<int>(SeccompAdvisor::kMaxUnnamed) + 3; ++n) {
            a.add(1, ref("c1", "img"), false, kX86_64, 100000 + n);
        }
        CHECK(a.containers().at("c1").unnamed.size() == SeccompAdvisor::kMaxUnnamed);
        CHECK(a.stats().dropped_syscalls == 3);
    }
    SECTION("pids waiting for an attribution") {
        SeccompAdvisor a;
        for (int pid = 1; pid <= static_cast<int>(SeccompAdvisor::kMaxPendingPids) + 7; ++pid) {
            a.add(pid, std::nullopt, false, kX86_64, 0);
        }
        CHECK(a.stats().unattributed == 7);  // refused at once
        a.finish();
        CHECK(a.stats().unattributed == SeccompAdvisor::kMaxPendingPids + 7);
    }
    SECTION("names and images from the stream or a state file") {
        SeccompAdvisor a;
        a.add(1,
              ref(std::string(1000, 'a'), std::string(5000, 'i'), std::string(5000, 'n')),
              false,
              kX86_64,
              0);
        const auto& u = a.containers().begin()->second;
        CHECK(u.id.size() == SeccompAdvisor::kMaxNameBytes);
        CHECK(u.image->size() == SeccompAdvisor::kMaxNameBytes);
        CHECK(u.name->size() == SeccompAdvisor::kMaxNameBytes);
    }
}

TEST_CASE("seccomp advice: selecting by image, name, id and id prefix; errors",
          "[seccomp_advice]") {
    SeccompAdvisor a;
    a.add(1, ref("abc123", "nginx:latest", "/front"), false, kX86_64, 0);
    a.add(2, ref("abd456", "redis:7", "cache"), false, kX86_64, 0);
    a.add(3, ref("ffee99"), false, kX86_64, 0);
    CHECK(a.select("nginx").by == "image");  // nginx:latest
    CHECK(a.select("front").by == "name");   // docker's "/front"
    CHECK(a.select("cache").containers.front()->id == "abd456");
    CHECK(a.select("ffee99").by == "id");
    CHECK(a.select("abc").by == "id prefix");
    CHECK(a.select("redis").error.find("no image, container name or id 'redis'") !=
          std::string::npos);
    const auto ambiguous = a.select("ab");
    CHECK(ambiguous.containers.empty());
    CHECK(ambiguous.error == "the id prefix 'ab' names 2 containers");
    CHECK_FALSE(a.select("").error.empty());
    // What the error names: the images seen, and the containers without one. Record text is
    // attacker-controlled: control bytes do not reach the terminal.
    a.set_names("ffee99", std::string("evil\x1b[2Jname"), std::nullopt);
    const std::string seen = a.seen();
    CHECK(seen ==
          "images seen: nginx:latest (1 container), redis:7 (1 container); containers without a "
          "known "
          "image: ffee99 (evil?[2Jname) (1)");
    CHECK(a.select("x\ny").error.find("'x?y'") != std::string::npos);
}

TEST_CASE("seccomp advice: a live learning run, replayed (docker, three containers of one image)",
          "[seccomp_advice][replay]") {
    config::Config cfg;
    config::apply_replay_defaults(cfg);
    const auto rules = rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules");
    const std::string log = AUDISP_DOCKER_SOURCE_DIR "/tests/data/seccomp_learn.log";
    SECTION("per container, then by image through docker's state files") {
        SeccompAdvisor a;
        std::string error;
        REQUIRE(app::learn_seccomp(cfg, rules, log, a, error));
        CHECK(a.stats().records == 848);
        CHECK(a.stats().unattributed == 0);
        CHECK(a.stats().not_in_container == 0);
        REQUIRE(a.containers().size() == 3);
        // No state files: no image; by id prefix then.
        CHECK(a.select("adock-sc:1").error.find("no image") != std::string::npos);
        CHECK(
            a.seen().find(
                "containers without a known image: 69cfe234ed00, bde73757caab, e77fb5a11ff1 (3)") !=
            std::string::npos);
        const auto one = a.select("69cf");
        REQUIRE(one.error.empty());
        const auto names = names_of(SeccompAdvisor::profile_json(one));
        for (const char* s :
             {"execve", "mkdir", "rmdir", "unlink", "getdents64", "write", "sendfile", "capset"}) {
            INFO(s);
            CHECK(std::find(names.begin(), names.end(), s) != names.end());
        }
        for (const char* s : {"chroot", "mount", "unshare", "reboot", "ptrace"}) {
            INFO(s);
            CHECK(std::find(names.begin(), names.end(), s) == names.end());
        }
        CHECK(std::is_sorted(names.begin(), names.end()));

        test::TempDir dir;
        int i = 0;
        for (const auto& id : {kLearn1, kLearn2, kLearn3}) {
            std::filesystem::create_directories(dir / id);
            std::ofstream(dir / (id + "/config.v2.json"))
                << R"({"ID":")" << id << R"(","Name":"/sc-learn-)" << ++i
                << R"(","Config":{"Image":"adock-sc:1"}})";
        }
        app::name_containers(a, proc::ContainerDirs{"", dir / "", ""}, 5000);
        const auto img = a.select("adock-sc:1");
        REQUIRE(img.error.empty());
        CHECK(img.containers.size() == 3);
        CHECK(names_of(SeccompAdvisor::profile_json(img)).size() == 45);
        const std::string report = a.report(img);
        INFO(report);
        CHECK(report.find(
                  "image: 3 container(s), 848 SECCOMP records, 45 syscalls SCMP_ARCH_X86_64") !=
              std::string::npos);
        CHECK(report.find("name sc-learn-2 image adock-sc:1") != std::string::npos);
        CHECK(a.select("sc-learn-3").containers.front()->id == kLearn3);
    }
    SECTION(
        "without the learning run's exit_group rule a forked applet's records stay unattributed") {
        test::TempDir dir;
        std::ifstream in(log);
        std::ofstream out(dir / "no-exit.log");
        for (std::string line; std::getline(in, line);) {
            if (line.find("key=\"adock_seccomp_learn\"") == std::string::npos) {
                out << line << '\n';
            }
        }
        out.close();
        SeccompAdvisor a;
        std::string error;
        REQUIRE(app::learn_seccomp(cfg, rules, dir / "no-exit.log", a, error));
        CHECK(a.stats().records == 848);
        CHECK(a.stats().unattributed > 0);
        const auto names = names_of(SeccompAdvisor::profile_json(a.select("69cf")));
        // busybox's forked mkdir
        CHECK(std::find(names.begin(), names.end(), "mkdir") == names.end());
    }
    SECTION("an input that cannot be read") {
        SeccompAdvisor a;
        std::string error;
        CHECK_FALSE(app::learn_seccomp(cfg, rules, "/nonexistent/x.log", a, error));
        CHECK(error.find("cannot open input /nonexistent/x.log") != std::string::npos);
    }
}

TEST_CASE(
    "seccomp advice: the live plugin's learned state, written and read back, gives the same "
    "profile",
    "[seccomp_advice]") {
    SeccompAdvisor a;
    CHECK_FALSE(a.changed());  // nothing learned: the plugin writes no file
    a.add(10, ref("aaaa1", "web:1", "w1"), false, kX86_64, nr(kX86_64, "write"));
    a.add(10, ref("aaaa1", "web:1", "w1"), false, kX86_64, nr(kX86_64, "openat"));
    a.add(20, ref("aaaa2", "web:1"), false, kI386, nr(kI386, "socketcall"));
    a.add(20, ref("aaaa2", "web:1"), false, 0x12345678, 7);  // an arch without a name
    a.add(40, std::nullopt, true, kX86_64, nr(kX86_64, "reboot"));
    CHECK(a.changed());
    const std::string text = a.state_json("2026-12-03T07:00:00Z");
    a.mark_saved();
    CHECK_FALSE(a.changed());

    SeccompAdvisor b;
    std::string written;
    std::string error;
    REQUIRE(b.load_state(text, written, error));
    CHECK(written == "2026-12-03T07:00:00Z");
    CHECK(b.containers().size() == 2);
    CHECK(b.stats().records == a.stats().records);
    CHECK(b.stats().not_in_container == 1);
    CHECK(SeccompAdvisor::profile_json(b.select("web:1")) ==
          SeccompAdvisor::profile_json(a.select("web:1")));
    CHECK(b.report(b.select("w1")) == a.report(a.select("w1")));
    CHECK(b.state_json("2026-12-03T07:00:00Z") == text);  // nothing lost or added on the way

    // Not a learned state, or over the bounds: refused with a reason, nothing half-read.
    for (const std::string bad :
         {std::string("{}"),
          std::string("[1,2]"),
          std::string("{\"version\": 2, \"containers\": []}"),
          std::string("{\"version\": 1, \"containers\": [{\"id\": \"x\", \"runtime\": \"docker\", "
                      "\"records\": 1, \"syscalls\": {\"zz\": {\"read\": 1}}}]}"),
          std::string("not json {")}) {
        SeccompAdvisor c;
        std::string e;
        CHECK_FALSE(c.load_state(bad, written, e));
        CHECK_FALSE(e.empty());
    }
    std::string many =
        "{\"version\": 1, \"containers\": [{\"id\": \"x\", \"runtime\": \"docker\", \"records\": "
        "1, "
        "\"syscalls\": {\"c000003e\": {";
    for (std::size_t i = 0; i <= SeccompAdvisor::kMaxSyscalls; ++i) {
        many += (i ? ", " : "") + std::string("\"s") + std::to_string(i) + "\": 1";
    }
    many += "}}}]}";
    SeccompAdvisor d;
    CHECK_FALSE(d.load_state(many, written, error));
    CHECK(error.find("bound") != std::string::npos);
}
