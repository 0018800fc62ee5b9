// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "proc/process_table.hpp"
#include "test_catch.hpp"

using namespace adock;

namespace {

audit::Event exec(int pid, int ppid, const std::string& exe) {
    audit::Event e;
    e.has_syscall = true;
    e.arch = 0xc000003e;
    e.syscall = 59;
    e.success = true;
    e.has_execve = true;
    e.pid = pid;
    e.ppid = ppid;
    e.exe = exe;
    e.argv = {exe};
    return e;
}

}  // namespace

TEST_CASE("ancestry comes from the stream, parent first, even for gone parents", "[proc]") {
    config::ProcessTableConfig cfg;
    cfg.use_proc = false;
    proc::ProcessTable t(cfg, "/nonexistent");
    t.observe(exec(10, 1, "/usr/sbin/sshd"));
    t.observe(exec(11, 10, "/usr/bin/bash"));
    t.observe(exec(12, 11, "/usr/bin/python3"));
    const auto chain = t.ancestry(12, 8);
    REQUIRE(chain.size() == 3);
    CHECK(chain[0]->exe == "/usr/bin/python3");
    CHECK(chain[1]->exe == "/usr/bin/bash");
    CHECK(chain[2]->exe == "/usr/sbin/sshd");
    CHECK(t.ancestry(12, 2).size() == 2);
}

TEST_CASE("an exec replaces the pid's entry; loops do not hang", "[proc]") {
    config::ProcessTableConfig cfg;
    cfg.use_proc = false;
    proc::ProcessTable t(cfg, "/nonexistent");
    t.observe(exec(20, 21, "/a"));
    t.observe(exec(21, 20, "/b"));  // a cycle from pid reuse
    CHECK(t.ancestry(20, 64).size() == 2);
    t.observe(exec(20, 21, "/c"));
    CHECK(t.find(20)->exe == "/c");
}

TEST_CASE("the table is bounded, least recently used goes first", "[proc]") {
    config::ProcessTableConfig cfg;
    cfg.use_proc = false;
    cfg.max_entries = 256;
    proc::ProcessTable t(cfg, "/nonexistent");
    for (int pid = 1000; pid < 2000; ++pid) {
        t.observe(exec(pid, 1, "/bin/true"));
        (void)t.find(1000);  // keep one hot
    }
    CHECK(t.stats().size == 256);
    CHECK(t.stats().evictions == 744);
    CHECK(t.find(1000) != nullptr);
    CHECK(t.find(1001) == nullptr);
    CHECK(t.find(1999) != nullptr);
}

TEST_CASE("gaps are read from /proc (a fake proc root)", "[proc]") {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("adock-proc-" + std::to_string(::getpid()));
    fs::create_directories(root / "4242");
    std::ofstream(root / "4242" / "stat")
        << "4242 (containerd-shim) S 1 4242 4242 0 -1 4194560 ...";
    std::ofstream(root / "4242" / "cmdline")
        << std::string("containerd-shim-runc-v2\0-namespace\0default\0-id\0c1\0", 50);
    std::ofstream(root / "4242" / "status") << "Name:\tx\nUid:\t0\t0\t0\t0\n";
    fs::create_symlink("/usr/bin/containerd-shim-runc-v2", root / "4242" / "exe");
    config::ProcessTableConfig cfg;
    proc::ProcessTable t(cfg, root.string());
    const proc::ProcessInfo* p = t.find(4242);
    REQUIRE(p != nullptr);
    CHECK(p->comm == "containerd-shim");
    CHECK(p->ppid == 1);
    CHECK(p->exe == "/usr/bin/containerd-shim-runc-v2");
    CHECK(p->argv.size() == 5);
    CHECK(p->argv[4] == "c1");
    CHECK(p->uid == 0U);
    CHECK_FALSE(p->from_stream);
    CHECK(t.find(4243) == nullptr);
    CHECK(t.stats().proc_misses == 1);
    fs::remove_all(root);
}
