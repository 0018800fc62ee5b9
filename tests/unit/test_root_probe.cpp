// SPDX-License-Identifier: Apache-2.0
// The container's monitored directories by dev/inode, read from its root (issue 11, M2, live).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "proc/root_probe.hpp"
#include "test_catch.hpp"
#include "util/audit_dev.hpp"

using namespace adock;
namespace fs = std::filesystem;

namespace {

struct Root {
    fs::path dir = fs::temp_directory_path() / ("adock-probe-" + std::to_string(::getpid()));

    Root() {
        fs::remove_all(dir);
        fs::create_directories(dir / "rootfs/usr/bin/sub");
        fs::create_directories(dir / "proc/4242");
        fs::create_directories(dir / "proc/4343");
        fs::create_directories(dir / "secret");
        std::ofstream(dir / "rootfs/usr/bin/tool") << "#!/bin/sh\n";
        std::ofstream(dir / "secret/key") << "host";
        // Planted by the container: a FIFO (a blocking open) and a symlink out of its root.
        REQUIRE(::mkfifo((dir / "rootfs/usr/bin/fifo").c_str(), 0600) == 0);
        fs::create_directory_symlink(dir / "secret", dir / "rootfs/usr/bin/escape");
        fs::create_directory_symlink("../../usr/bin", dir / "rootfs/bin");  // merged /usr, relative
        fs::create_directory_symlink(dir / "rootfs", dir / "proc/4242/root");
        fs::create_directory_symlink("/", dir / "proc/4343/root");  // the host's root
    }

    ~Root() { fs::remove_all(dir); }

    static std::pair<std::string, std::uint64_t> id(const fs::path& p) {
        struct stat st {};

        REQUIRE(::stat(p.c_str(), &st) == 0);
        return {util::audit_dev(st.st_dev), st.st_ino};
    }
};

}  // namespace

TEST_CASE("root probe: the container's /usr/bin and its entries by dev/inode",
          "[proc][identity][hostile]") {
    Root r;
    proc::RootProbe probe((r.dir / "proc").string(),
                          {"/usr/bin/", "/bin/", "/etc/docker/daemon.json"});
    probe.request("c1", 4242);
    probe.drain(2000);
    CHECK(probe.await("c1", 10));
    const auto [dev, tool] = Root::id(r.dir / "rootfs/usr/bin/tool");
    CHECK(probe.find("c1", dev, tool) == std::optional<std::string>("/usr/bin/tool"));
    const auto bin = Root::id(r.dir / "rootfs/usr/bin");
    const auto found = probe.find("c1", bin.first, bin.second);
    REQUIRE(found);
    CHECK((*found == "/usr/bin/" || *found == "/bin/"));  // the same directory by two names
    const auto sub = Root::id(r.dir / "rootfs/usr/bin/sub");
    CHECK(probe.find("c1", sub.first, sub.second).value_or("").ends_with("/sub/"));
    // The FIFO is stat'ed, never opened (the probe returned); the symlink is not followed.
    const auto fifo = Root::id(r.dir / "rootfs/usr/bin/fifo");
    CHECK(probe.find("c1", fifo.first, fifo.second).value_or("").ends_with("/fifo"));
    const auto secret = Root::id(r.dir / "secret");
    CHECK_FALSE(probe.find("c1", secret.first, secret.second));
    const auto key = Root::id(r.dir / "secret/key");
    CHECK_FALSE(probe.find("c1", key.first, key.second));
    // Scoped: another container does not see c1's files.
    CHECK_FALSE(probe.find("c2", dev, tool));
    CHECK(probe.stats().probed == 1);
}

TEST_CASE("root probe: a process whose root is the host's, or gone, teaches nothing",
          "[proc][identity]") {
    Root r;
    proc::RootProbe probe((r.dir / "proc").string(), {"/usr/bin/"});
    probe.request("host-rooted", 4343);  // not past a pivot_root (or a reused pid)
    probe.request("gone", 99999);
    probe.drain(3000);
    CHECK_FALSE(probe.await("host-rooted", 10));
    const auto st = probe.stats();
    CHECK(st.failed == 2);
    CHECK(st.identities == 0);
    const auto [dev, ino] = Root::id("/usr/bin");
    CHECK_FALSE(probe.find("host-rooted", dev, ino));
    // Asked again (the next exec in that container): retried, up to the attempts limit.
    for (int i = 0; i < 3; ++i) {
        probe.request("gone", 99999);
        probe.drain(3000);
    }
    CHECK(probe.stats().failed == 4);  // three attempts in all, then no more
}

TEST_CASE("root probe: bounded in entries per directory and in total", "[proc][identity][budget]") {
    Root r;
    for (int i = 0; i < 50; ++i) {
        std::ofstream(r.dir / "rootfs/usr/bin" / ("f" + std::to_string(i))) << i;
    }
    proc::RootProbe::Limits limits;
    limits.entries_per_dir = 10;
    limits.total_entries = 8;
    proc::RootProbe probe((r.dir / "proc").string(), {"/usr/bin/"}, limits);
    probe.request("c1", 4242);
    probe.drain(2000);
    CHECK(probe.stats().identities <= 8);
    CHECK(probe.stats().identities > 0);
}
