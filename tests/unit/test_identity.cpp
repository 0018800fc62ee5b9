// SPDX-License-Identifier: Apache-2.0
// Path rules by dev/inode (issue 11, M2): a symlinked directory or a hard link does not hide a
// write to /usr/bin inside a container, once the stream has shown the file or its directory.
#include <fcntl.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock;

namespace {

constexpr std::uint32_t kX86_64 = 0xc000003e;

struct Harness {
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;
    std::uint64_t serial = 0;

    Harness() {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<test::CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = false;
        cfg.host = "testhost";
        engine = std::make_unique<rules::Engine>(
            cfg, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), out);
    }

    static audit::PathItem item(int n,
                                const std::string& name,
                                std::uint64_t inode,
                                const std::string& type = "NORMAL") {
        audit::PathItem p;
        p.item = n;
        p.name = name;
        p.inode = inode;
        p.dev = "00:2f";  // the container's overlay
        p.nametype = type;
        return p;
    }

    audit::Event event(int pid, int ppid, const std::string& exe, const std::string& syscall) {
        audit::Event e;
        e.serial = ++serial;
        e.sec = 1795338855;
        e.has_syscall = true;
        e.arch = kX86_64;
        e.syscall = audit::syscall_number(kX86_64, syscall).value_or(-1);
        e.success = true;
        e.pid = pid;
        e.ppid = ppid;
        e.exe = exe;
        e.comm = "x";
        e.uid = 0;
        e.cwd = "/";
        e.args = {0xffffff9c, 0, 0, 0};
        return e;
    }

    void exec(int pid,
              int ppid,
              const std::string& exe,
              std::vector<std::string> argv,
              std::uint64_t inode) {
        audit::Event e = event(pid, ppid, exe, "execve");
        e.has_execve = true;
        e.argv = std::move(argv);
        e.paths.push_back(item(0, exe, inode));
        engine->on_event(e);
    }

    std::vector<const Alert*> modified() const {
        return test::alerts_of(alerts, "container_binary_modified");
    }
};

}  // namespace

TEST_CASE("a write through a symlinked directory or a hard link matches by inode",
          "[engine][identity]") {
    Harness h;
    h.exec(500,
           1,
           "/usr/bin/containerd-shim-runc-v2",
           {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"},
           1);
    h.exec(501, 500, "/bin/busybox", {"sh"}, 1234);
    // the container's own passwd
    h.exec(502, 501, "/usr/bin/passwd", {"passwd", "--version"}, 4242);
    // chmod u+s /tmp/u/passwd, /tmp/u -> /usr/bin
    auto chmod = h.event(503, 501, "/bin/busybox", "fchmodat");
    chmod.paths.push_back(Harness::item(0, "/tmp/u/passwd", 4242));
    h.engine->on_event(chmod);
    REQUIRE(h.modified().size() == 1);
    const Alert& a = *h.modified()[0];
    REQUIRE(a.file);
    CHECK(a.file->path == "/tmp/u/passwd");
    CHECK(a.file->same_as == "/usr/bin/passwd");
    CHECK(a.file->operation == "chmod");
    CHECK(to_json(a).find("\"same_as\":\"/usr/bin/passwd\"") != std::string::npos);
    // echo x >> /tmp/p, a hard link of /usr/bin/passwd
    auto write = h.event(504, 501, "/bin/busybox", "openat");
    write.args = {0xffffff9c, 0, O_WRONLY | O_APPEND, 0};
    write.paths.push_back(Harness::item(0, "/tmp/p", 4242));
    h.engine->on_event(write);
    REQUIRE(h.modified().size() == 2);
    CHECK(h.modified()[1]->file->same_as == "/usr/bin/passwd");
    // A file of /tmp that is no binary: nothing.
    auto other = h.event(505, 501, "/bin/busybox", "fchmodat");
    other.paths.push_back(Harness::item(0, "/tmp/notes", 777));
    h.engine->on_event(other);
    CHECK(h.modified().size() == 2);
}

TEST_CASE("a file created in /usr/bin through a symlinked directory matches by its PARENT inode",
          "[engine][identity]") {
    Harness h;
    h.exec(500,
           1,
           "/usr/bin/containerd-shim-runc-v2",
           {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"},
           1);
    h.exec(501, 500, "/bin/busybox", {"sh"}, 1234);
    // The runtime's setup (excepted by the rule) teaches nothing: it names host files.
    h.exec(399, 500, "/usr/sbin/runc", {"runc", "create", "--bundle", "/b", "c1"}, 9);
    // /proc/self/exe init: the runtime itself
    h.exec(400, 399, "/usr/sbin/runc", {"runc", "init"}, 9);
    auto setup = h.event(400, 399, "/usr/sbin/runc", "unlinkat");
    setup.paths.push_back(Harness::item(0, "/usr/bin/", 11, "PARENT"));
    setup.paths.push_back(Harness::item(1, "/usr/bin/.wh", 12, "DELETE"));
    h.engine->on_event(setup);
    CHECK(h.modified().empty());
    auto early = h.event(502, 501, "/bin/busybox", "openat");
    early.args = {0xffffff9c, 0, O_WRONLY | O_CREAT, 0};
    early.paths.push_back(Harness::item(0, "/tmp/u/", 11, "PARENT"));
    early.paths.push_back(Harness::item(1, "/tmp/u/early", 4999, "CREATE"));
    h.engine->on_event(early);
    CHECK(h.modified().empty());
    // The container's own file in /usr/bin teaches the directory's inode (its PARENT item).
    auto direct = h.event(502, 501, "/bin/busybox", "openat");
    direct.args = {0xffffff9c, 0, O_WRONLY | O_CREAT, 0};
    direct.paths.push_back(Harness::item(0, "/usr/bin/", 11, "PARENT"));
    direct.paths.push_back(Harness::item(1, "/usr/bin/a", 4998, "CREATE"));
    h.engine->on_event(direct);
    REQUIRE(h.modified().size() == 1);
    // The container creates /tmp/u/tool where /tmp/u -> /usr/bin.
    auto create = h.event(503, 501, "/bin/busybox", "openat");
    create.args = {0xffffff9c, 0, O_WRONLY | O_CREAT, 0};
    create.paths.push_back(Harness::item(0, "/tmp/u/", 11, "PARENT"));
    create.paths.push_back(Harness::item(1, "/tmp/u/tool", 5000, "CREATE"));
    h.engine->on_event(create);
    REQUIRE(h.modified().size() == 2);
    CHECK(h.modified()[1]->file->same_as == "/usr/bin/tool");
}

TEST_CASE("the source of a hard link teaches its inode: a write through the link matches",
          "[engine][identity]") {
    Harness h;
    h.exec(500,
           1,
           "/usr/bin/containerd-shim-runc-v2",
           {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"},
           1);
    h.exec(501, 500, "/bin/busybox", {"sh"}, 1234);
    // ln /usr/bin/tool /tmp/p: the link itself is a change of /usr/bin/tool.
    auto link = h.event(502, 501, "/bin/busybox", "linkat");
    link.paths.push_back(Harness::item(0, "/usr/bin/tool", 4300));
    link.paths.push_back(Harness::item(1, "/tmp/", 20, "PARENT"));
    link.paths.push_back(Harness::item(2, "/tmp/p", 4300, "CREATE"));
    h.engine->on_event(link);
    REQUIRE(h.modified().size() == 1);
    // echo x >> /tmp/p
    auto write = h.event(503, 501, "/bin/busybox", "openat");
    write.args = {0xffffff9c, 0, O_WRONLY | O_APPEND, 0};
    write.paths.push_back(Harness::item(0, "/tmp/p", 4300));
    h.engine->on_event(write);
    REQUIRE(h.modified().size() == 2);
    CHECK(h.modified()[1]->file->same_as == "/usr/bin/tool");
    // A name that is gone (DELETE) teaches nothing: mv /usr/bin/old /tmp/old, then a write to it.
    auto mv = h.event(504, 501, "/bin/busybox", "renameat");
    mv.paths.push_back(Harness::item(0, "/usr/bin/", 11, "PARENT"));
    mv.paths.push_back(Harness::item(1, "/tmp/", 20, "PARENT"));
    mv.paths.push_back(Harness::item(2, "/usr/bin/old", 4400, "DELETE"));
    mv.paths.push_back(Harness::item(3, "/tmp/old", 4400, "CREATE"));
    h.engine->on_event(mv);
    const auto after_mv = h.modified().size();
    auto later = h.event(505, 501, "/bin/busybox", "openat");
    later.args = {0xffffff9c, 0, O_WRONLY | O_APPEND, 0};
    later.paths.push_back(Harness::item(0, "/tmp/old", 4400));
    h.engine->on_event(later);
    CHECK(h.modified().size() == after_mv);
}
