// SPDX-License-Identifier: Apache-2.0
// The detection catalogue (conf/rules/*.yaml) on events shaped like the kernel's: file syscalls
// with PATH and CWD records, SECCOMP records, mount-family syscalls. Captured streams of the
// same scenarios are replayed in test_replay.cpp.
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/engine_context.hpp"
#include "rules/fileop.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/audit_dev.hpp"
#include "util/clock.hpp"

using namespace adock;
using rules::FileOp;

namespace {

constexpr std::uint32_t kX86_64 = 0xc000003e;

struct Catalogue {
    /// the engine's: a name wait ends when a test says so, not under load
    util::ManualClock clock;
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    config::Config cfg;
    std::unique_ptr<rules::Engine> engine;
    std::uint64_t serial = 1000;

    /// `proc_root` set: a live host (identities are the host's files, /proc is read there).
    explicit Catalogue(const std::string& proc_root = "") {
        std::vector<std::unique_ptr<outputs::Sink>> sinks;
        sinks.push_back(std::make_unique<test::CollectSink>(alerts));
        (void)out.replace(std::move(sinks));
        cfg.processes.use_proc = !proc_root.empty();
        cfg.proc_root = proc_root;
        cfg.integrity.enabled = false;
        cfg.host = "testhost";
        engine = std::make_unique<rules::Engine>(
            cfg, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), out, clock);
    }

    audit::Event base(int pid, int ppid, const std::string& exe, const std::string& syscall) {
        audit::Event e;
        e.serial = ++serial;
        e.sec = 1795338855;
        e.has_syscall = true;
        e.arch = kX86_64;
        e.syscall = audit::syscall_number(kX86_64, syscall).value_or(-1);
        REQUIRE(e.syscall >= 0);
        e.success = true;
        e.pid = pid;
        e.ppid = ppid;
        e.exe = exe;
        e.comm = exe.substr(exe.rfind('/') + 1).substr(0, 15);
        e.uid = 0;
        e.auid = 4294967295U;
        e.args = {0, 0, 0, 0};
        return e;
    }

    void exec(int pid,
              int ppid,
              const std::string& exe,
              std::vector<std::string> argv,
              std::optional<std::pair<std::string, std::uint64_t>> file = std::nullopt) {
        audit::Event e = base(pid, ppid, exe, "execve");
        e.has_execve = true;
        e.argv = std::move(argv);
        if (file) {
            audit::PathItem p;
            p.item = 0;
            p.name = exe;
            p.nametype = "NORMAL";
            p.dev = file->first;
            p.inode = file->second;
            e.paths.push_back(p);
        }
        engine->on_event(e);
    }

    /// A file syscall on `name` (relative names resolve against `cwd`).
    audit::Event file(int pid,
                      int ppid,
                      const std::string& exe,
                      const std::string& syscall,
                      const std::string& name,
                      const std::string& cwd = "/",
                      const std::string& nametype = "NORMAL") {
        audit::Event e = base(pid, ppid, exe, syscall);
        e.cwd = cwd;
        audit::PathItem parent;
        parent.item = 0;
        parent.name = name.substr(0, name.rfind('/') + 1);
        parent.nametype = "PARENT";
        parent.dev = "fe:00";
        // one inode per directory
        parent.inode = 11 + std::hash<std::string>{}(parent.name) % 100000;
        e.paths.push_back(parent);
        audit::PathItem p;
        p.item = 1;
        p.name = name;
        p.nametype = nametype;
        p.dev = "fe:00";
        p.inode = 200000 + std::hash<std::string>{}(name) % 100000;  // one inode per file
        e.paths.push_back(p);
        return e;
    }

    /// The host's runc (a replay learns its identity from this exec) started by `ppid` for
    /// container `id`, and its `runc init` child re-executing itself from a sealed copy: what
    /// runc 1.1 does at every container start and exec. Returns nothing; pids runc, runc + 1.
    void runc_start(int runc, int ppid, const std::string& id) {
        const std::pair<std::string, std::uint64_t> runc_file{"fe:00", 1048601};
        exec(runc,
             ppid,
             "/usr/sbin/runc",
             {"runc", "--root", "/run/containerd/runc/default", "create", "--bundle", "/b", id},
             runc_file);
        exec(runc + 1, runc, "/usr/sbin/runc", {"runc", "init"}, runc_file);  // /proc/self/exe init
        runc_reexec(runc + 1, runc, "00:01", 7788);
    }

    /// `runc init` re-executing itself (execveat, exe "/") from its sealed copy: a memfd, or
    /// runc 1.1's detached bind mount of the binary (the binary's own dev/inode).
    void runc_reexec(int pid, int ppid, const std::string& dev, std::uint64_t inode) {
        audit::Event clone = base(pid, ppid, "/", "execveat");
        clone.has_execve = true;
        clone.argv = {"runc", "init"};
        audit::PathItem copy;
        copy.item = 0;
        copy.nametype = "NORMAL";
        copy.dev = dev;
        copy.inode = inode;
        clone.paths.push_back(copy);
        engine->on_event(clone);
    }

    /// A containerd shim for container `id` and a shell in it.
    void container(int shim, int shell, const std::string& id) {
        exec(shim,
             1,
             "/usr/bin/containerd-shim-runc-v2",
             {"containerd-shim-runc-v2", "-namespace", "default", "-id", id});
        exec(shell, shim, "/bin/busybox", {"sh"});
    }

    std::vector<const Alert*> of(const std::string& rule) const {
        return test::alerts_of(alerts, rule);
    }
};

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

/// A host file as the kernel's PATH records name it (dev "fe:00" style) and its inode, if present.
std::optional<std::pair<std::string, std::uint64_t>> host_file(const char* path) {
    struct stat st {};

    if (::stat(path, &st) != 0) {
        return std::nullopt;
    }
    return std::make_pair(util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
}

std::optional<std::pair<std::string, std::uint64_t>> host_runc() {
    return host_file("/usr/sbin/runc");
}

}  // namespace

TEST_CASE("file operations are classified from the syscall and the open flags", "[fileop]") {
    audit::Event e;
    e.args = {0, O_WRONLY | O_APPEND, 0, 0};
    CHECK(rules::classify("open", e) == FileOp::Write);
    e.args = {0, O_RDONLY, 0, 0};
    CHECK(rules::classify("open", e) == FileOp::None);
    e.args = {0xffffff9c, 0, O_RDWR, 0};
    CHECK(rules::classify("openat", e) == FileOp::Write);
    e.args = {0xffffff9c, 0, O_RDONLY, 0};
    CHECK(rules::classify("openat", e) == FileOp::None);
    CHECK(rules::classify("openat2", e) == FileOp::None);
    audit::PathItem created;
    created.nametype = "CREATE";
    e.paths.push_back(created);
    CHECK(rules::classify("openat2", e) == FileOp::Create);
    CHECK(rules::classify("fchmodat", e) == FileOp::Chmod);
    CHECK(rules::classify("fchownat", e) == FileOp::Chown);
    CHECK(rules::classify("linkat", e) == FileOp::Link);
    CHECK(rules::classify("symlinkat", e) == FileOp::Link);
    CHECK(rules::classify("renameat2", e) == FileOp::Rename);
    CHECK(rules::classify("unlinkat", e) == FileOp::Unlink);
    CHECK(rules::classify("utimensat", e) == FileOp::Utimes);
    CHECK(rules::classify("truncate", e) == FileOp::Write);
    CHECK(rules::classify("mkdirat", e) == FileOp::Create);
    CHECK(rules::classify("getpid", e) == FileOp::None);
    const auto names = rules::syscalls_for(static_cast<std::uint32_t>(FileOp::Chmod));
    CHECK(has(names, "fchmodat"));
    CHECK_FALSE(has(names, "openat"));
    CHECK(has(rules::syscalls_for(static_cast<std::uint32_t>(FileOp::Write)), "openat"));
}

TEST_CASE("paths are made absolute with the cwd and folded lexically", "[fileop]") {
    CHECK(rules::absolute_path("tool", std::string("/usr/bin")) == "/usr/bin/tool");
    CHECK(rules::absolute_path("../bin//./x", std::string("/usr/sbin")) == "/usr/bin/x");
    CHECK(rules::absolute_path("/usr/bin/../../../etc", std::nullopt) == "/etc");
    CHECK(rules::absolute_path("rel", std::nullopt) == "rel");
    CHECK(rules::path_matches("/usr/bin/", "/usr/bin/tool"));
    CHECK(rules::path_matches("/usr/bin/", "/usr/bin"));
    CHECK_FALSE(rules::path_matches("/usr/bin/", "/usr/binx/tool"));
    CHECK(
        rules::path_matches("/etc/systemd/system/docker.*", "/etc/systemd/system/docker.service"));
    CHECK(rules::path_matches("/usr/*bin/runc", "/usr/local/sbin/runc"));
}

namespace {

/// What absolute_path() means, written the plain way (the components of the joined path, `.`
/// dropped, `..` popping one): the reference the in-place fold is held to.
std::string folded_by_components(std::string_view name, const std::optional<std::string>& cwd) {
    std::string joined;
    if (!name.empty() && name.front() == '/') {
        joined = name;
    } else if (cwd && !cwd->empty()) {
        joined = *cwd + "/" + std::string(name);
    } else {
        return std::string(name);
    }
    std::vector<std::string> parts;
    std::size_t pos = 0;
    while (pos <= joined.size()) {
        const std::size_t next = std::min(joined.find('/', pos), joined.size());
        const std::string part = joined.substr(pos, next - pos);
        pos = next + 1;
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            if (!parts.empty()) {
                parts.pop_back();
            }
            continue;
        }
        parts.push_back(part);
    }
    std::string out;
    for (const auto& p : parts) {
        out += "/" + p;
    }
    return out.empty() ? "/" : out;
}

}  // namespace

TEST_CASE("absolute_path_into folds in place as the component list does, in a reused buffer",
          "[fileop]") {
    // Every name of up to six pieces drawn from these, against each cwd: slashes repeated and
    // trailing, `.` and `..` everywhere (also above the root), names like `..x` and `.a`.
    const std::vector<std::string> pieces = {"/", "//", ".", "..", "a", "bc", "..x", ".a", "/."};
    const std::vector<std::optional<std::string>> cwds = {std::nullopt,
                                                          std::string(),
                                                          std::string("/"),
                                                          std::string("/usr/bin"),
                                                          std::string("/a/../b//"),
                                                          std::string("rel/dir")};
    std::string out = std::string(300, 'z');  // a buffer with leftovers from a longer path
    std::size_t checked = 0;
    std::vector<std::string> names = {""};
    for (int depth = 0; depth < 6; ++depth) {
        std::vector<std::string> longer;
        for (const auto& n : names) {
            for (const auto& p : pieces) {
                longer.push_back(n + p);
            }
        }
        names.insert(names.end(), longer.begin(), longer.end());
        if (names.size() > 5000) {
            break;
        }
    }
    for (const auto& cwd : cwds) {
        for (const auto& name : names) {
            rules::absolute_path_into(out, name, cwd);
            const std::string want = folded_by_components(name, cwd);
            if (out != want) {
                FAIL_CHECK("name '" << name << "' cwd '" << cwd.value_or("(none)") << "': got '"
                                    << out << "', want '" << want << "'");
            }
            ++checked;
        }
    }
    CHECK(checked == 6 * names.size());
    CHECK(rules::absolute_path("../../..", std::string("/a")) == "/");
    CHECK(rules::absolute_path("x", std::string("rel")) == "/rel/x");
}

TEST_CASE("path pattern sets answer what path_matches over each pattern answers", "[fileop]") {
    const std::vector<std::string> patterns = {"/usr/bin/",
                                               "/etc/docker/",
                                               "/usr/sbin/runc",
                                               "/etc/default/docker",
                                               "/usr/*bin/ctr",
                                               "/etc/systemd/system/docker.*",
                                               "/proc/sys/kernel/core_pattern",
                                               "/a/[bc]",
                                               "/esc/\\*"};
    const rules::PathPatterns set(patterns);
    CHECK(set.patterns() == patterns);
    const std::vector<std::string> paths = {"/usr/bin/tool",
                                            "/usr/bin",
                                            "/usr/binx/tool",
                                            "/usr/bin/",
                                            "/etc/docker",
                                            "/etc/docker/daemon.json",
                                            "/etc/dockerx",
                                            "/usr/sbin/runc",
                                            "/usr/sbin/runcx",
                                            "/usr/sbin/run",
                                            "/etc/default/docker",
                                            "/usr/local/sbin/ctr",
                                            "/usr/ctr",
                                            "/usr/bin/ctr",
                                            "/etc/systemd/system/docker.service",
                                            "/etc/systemd/system/docker",
                                            "/proc/sys/kernel/core_pattern",
                                            "/a/b",
                                            "/a/d",
                                            "/esc/*",
                                            "/esc/x",
                                            "",
                                            "/",
                                            "relative/usr/bin/x"};
    std::size_t hits = 0;
    for (const auto& path : paths) {
        const bool want = std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
            return rules::path_matches(p, path);
        });
        INFO(path);
        CHECK(set.any(path) == want);
        hits += want ? 1 : 0;
    }
    CHECK(hits == 13);  // both answers are exercised
    CHECK_FALSE(rules::PathPatterns().any("/usr/bin/x"));
}

TEST_CASE("program lists compare plain patterns and glob the others, as fnmatch of each would",
          "[fileop]") {
    rules::ProgramList list;
    list.patterns = {
        "runc", "containerd-shim*", "/usr/sbin/runc", "/usr/*bin/ctr", "/opt/[ab]in/x"};
    list.dirs = {"/usr/bin", "/usr/sbin"};
    // What match() did before it classified patterns: fnmatch of every pattern.
    auto reference = [&](const std::string& p) -> std::optional<std::string> {
        const auto slash = p.rfind('/');
        const std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
        const std::string dir =
            slash == std::string::npos ? std::string() : p.substr(0, slash == 0 ? 1 : slash);
        const bool dir_ok = std::find(list.dirs.begin(), list.dirs.end(), dir) != list.dirs.end();
        for (const auto& pat : list.patterns) {
            const bool full = pat.find('/') != std::string::npos;
            if ((full || dir_ok) &&
                ::fnmatch(pat.c_str(), full ? p.c_str() : base.c_str(), 0) == 0) {
                return pat;
            }
        }
        return std::nullopt;
    };
    const std::vector<std::string> paths = {"/usr/sbin/runc",
                                            "/usr/bin/runc",
                                            "/tmp/runc",
                                            "/usr/bin/runcx",
                                            "/usr/bin/containerd-shim-runc-v2",
                                            "/tmp/containerd-shim",
                                            "/usr/local/sbin/ctr",
                                            "/usr/bin/ctr",
                                            "/opt/ain/x",
                                            "/opt/cin/x",
                                            "runc",
                                            "/",
                                            "/runc"};
    std::size_t hits = 0;
    for (const auto& p : paths) {
        INFO(p);
        CHECK(list.match(p) == reference(p));
        hits += reference(p) ? 1 : 0;
    }
    CHECK(hits == 6);
    list.patterns = {"/tmp/runc"};  // patterns set again: classified again
    CHECK(list.match("/tmp/runc") == std::optional<std::string>("/tmp/runc"));
}

TEST_CASE("runtime_binary_tampered: host, container escape, package manager, attempts",
          "[detections][tamper]") {
    Catalogue c;
    c.exec(100, 1, "/usr/bin/bash", {"bash"});
    auto w = c.file(101, 100, "/usr/bin/bash", "openat", "/usr/sbin/runc");
    w.args = {0xffffff9c, 0, O_WRONLY | O_APPEND, 0};
    c.engine->on_event(w);
    REQUIRE(c.of("runtime_binary_tampered").size() == 1);
    const Alert& host = *c.of("runtime_binary_tampered")[0];
    CHECK(host.severity == Severity::High);
    REQUIRE(host.file);
    CHECK(host.file->path == "/usr/sbin/runc");
    CHECK(host.file->operation == "write");
    CHECK(host.syscall == "openat");
    CHECK_FALSE(has(host.tags, "container_escape"));
    CHECK_FALSE(host.remediation.empty());

    // Reading runc (runc re-executing itself does) and writing a file that is merely named runc.
    auto r = c.file(102, 100, "/usr/bin/bash", "openat", "/usr/sbin/runc");
    r.args = {0xffffff9c, 0, O_RDONLY, 0};
    c.engine->on_event(r);
    auto other = c.file(103, 100, "/usr/bin/bash", "openat", "/home/dev/src/runc/runc");
    other.args = {0xffffff9c, 0, O_WRONLY | O_TRUNC, 0};
    c.engine->on_event(other);
    CHECK(c.of("runtime_binary_tampered").size() == 1);

    // A container writing the host's runc through a bind mount, failing with ETXTBSY. A replay
    // knows the host's runc by the execs the stream showed of it.
    c.container(200, 201, "evil");
    auto ids = host_runc();
    if (ids) {
        c.exec(150, 1, "/usr/sbin/runc", {"runc", "--version"}, ids);
        auto x = c.file(202, 201, "/bin/busybox", "openat", "/hostsbin/runc");
        x.paths[1].dev = ids->first;
        x.paths[1].inode = ids->second;
        x.args = {0xffffff9c, 0, O_WRONLY | O_TRUNC, 0};
        x.success = false;
        x.exit = -26;
        c.engine->on_event(x);
        REQUIRE(c.of("runtime_binary_tampered").size() == 2);
        const Alert& esc = *c.of("runtime_binary_tampered")[1];
        CHECK(esc.severity == Severity::Critical);
        CHECK(has(esc.tags, "container_escape"));
        CHECK(has(esc.mitre, "T1611"));
        REQUIRE(esc.container);
        CHECK(esc.container->id == "evil");
        CHECK(esc.success == false);
        CHECK(esc.exit == -26);
        CHECK(esc.file->path == "/hostsbin/runc");
        CHECK(esc.summary.find("failed (exit -26)") != std::string::npos);
    }

    // dpkg replacing runc: info, authorized_update.
    c.exec(300, 1, "/usr/bin/apt-get", {"apt-get", "install", "runc"});
    c.exec(301, 300, "/usr/bin/dpkg", {"dpkg", "--unpack", "runc.deb"});
    auto mv = c.file(301, 300, "/usr/bin/dpkg", "rename", "/usr/sbin/runc", "/", "CREATE");
    c.engine->on_event(mv);
    const auto all = c.of("runtime_binary_tampered");
    const Alert& upd = *all.back();
    CHECK(upd.severity == Severity::Info);
    CHECK(has(upd.tags, "authorized_update"));
    CHECK(upd.file->operation == "rename");

    // A program merely named dpkg is not a package manager.
    c.exec(400, 1, "/tmp/dpkg", {"dpkg"});
    auto fake = c.file(400, 1, "/tmp/dpkg", "fchmodat", "/usr/sbin/runc");
    c.engine->on_event(fake);
    CHECK(c.of("runtime_binary_tampered").back()->severity == Severity::High);
}

TEST_CASE("runtime_binary_tampered: the unpackers' exception is about the rule's own file",
          "[detections][tamper]") {
    // The exception {actor_in: image_unpackers, file_on_host: false} names no file: its
    // file_on_host is what the rule's path_in found. dockerd unpacking an image's own
    // /usr/sbin/runc (a layer's file, by name only) is excepted; dockerd writing the host's
    // runc (known by dev/inode) is not.
    auto ids = host_runc();
    if (!ids) {
        WARN("no /usr/sbin/runc on this host: not tested");
        return;
    }
    Catalogue c;
    // a replay learns runc's identity
    c.exec(150, 1, "/usr/sbin/runc", {"runc", "--version"}, ids);
    c.exec(50, 1, "/usr/bin/dockerd", {"dockerd"});
    auto layer = c.file(50, 1, "/usr/bin/dockerd", "openat", "/usr/sbin/runc");
    layer.args = {0xffffff9c, 0, O_WRONLY | O_CREAT | O_TRUNC, 0};
    c.engine->on_event(layer);
    CHECK(c.of("runtime_binary_tampered").empty());
    auto host = c.file(50, 1, "/usr/bin/dockerd", "openat", "/usr/sbin/runc");
    host.paths[1].dev = ids->first;
    host.paths[1].inode = ids->second;
    host.args = {0xffffff9c, 0, O_WRONLY | O_TRUNC, 0};
    c.engine->on_event(host);
    REQUIRE(c.of("runtime_binary_tampered").size() == 1);
    // by identity
    CHECK(c.of("runtime_binary_tampered")[0]->summary.find("inode ") != std::string::npos);
}

TEST_CASE("runtime_config_changed: daemon.json by a shell, not the daemon's own files",
          "[detections][config]") {
    Catalogue c;
    c.exec(100, 1, "/usr/bin/bash", {"bash"});
    auto w = c.file(100, 1, "/usr/bin/bash", "openat", "daemon.json", "/etc/docker", "CREATE");
    w.args = {0xffffff9c, 0, O_WRONLY | O_CREAT | O_TRUNC, 0};
    c.engine->on_event(w);
    REQUIRE(c.of("runtime_config_changed").size() == 1);
    CHECK(c.of("runtime_config_changed")[0]->severity == Severity::Medium);
    CHECK(c.of("runtime_config_changed")[0]->file->path == "/etc/docker/daemon.json");
    CHECK(c.of("runtime_config_changed")[0]->file->operation == "create");

    c.exec(200, 1, "/usr/bin/dockerd", {"dockerd"});
    auto sock = c.file(200, 1, "/usr/bin/dockerd", "unlinkat", "/run/docker.sock");
    c.engine->on_event(sock);
    auto unit = c.file(
        100, 1, "/usr/bin/bash", "renameat2", "/etc/systemd/system/docker.service", "/", "CREATE");
    c.engine->on_event(unit);
    CHECK(c.of("runtime_config_changed").size() == 2);
    CHECK(c.alerts.size() == 2);
}

TEST_CASE("container_binary_modified: each operation under /usr/bin in a container",
          "[detections][fim]") {
    Catalogue c;
    c.container(500, 501, "c1");

    struct Op {
        const char* syscall;
        const char* name;
        const char* cwd;
        const char* nametype;
        std::uint64_t flags;
        const char* expect;
    };

    const std::vector<Op> ops{
        {"fchmodat", "/usr/bin/tool", "/", "NORMAL", 0, "chmod"},
        {"fchownat", "tool", "/usr/bin", "NORMAL", 0, "chown"},
        {"utimensat", "/usr/bin/tool", "/", "NORMAL", 0, "utimes"},
        {"openat", "/usr/bin/tool", "/", "NORMAL", O_WRONLY | O_APPEND, "write"},
        {"linkat", "/usr/bin/tool2", "/", "CREATE", 0, "link"},
        {"renameat2", "/usr/bin/tool3", "/", "CREATE", 0, "rename"},
        {"unlinkat", "/usr/bin/tool3", "/", "DELETE", 0, "unlink"},
        {"openat", "/sbin/new", "/", "CREATE", O_WRONLY | O_CREAT, "create"},
    };
    for (const auto& op : ops) {
        auto e = c.file(502, 501, "/bin/busybox", op.syscall, op.name, op.cwd, op.nametype);
        e.args = {0xffffff9c, 0, op.flags, 0};
        c.engine->on_event(e);
    }
    const auto hits = c.of("container_binary_modified");
    REQUIRE(hits.size() == ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        REQUIRE(hits[i]->container);
        CHECK(hits[i]->container->id == "c1");
        CHECK(hits[i]->file->operation == ops[i].expect);
        CHECK(hits[i]->severity == Severity::High);
        CHECK_FALSE(hits[i]->remediation.empty());
    }
    CHECK(hits[1]->file->path == "/usr/bin/tool");
    CHECK(has(hits[0]->mitre, "T1222.002"));
    CHECK(has(hits[1]->mitre, "T1222.002"));
    CHECK_FALSE(has(hits[3]->mitre, "T1222.002"));

    // Negative: /tmp in the container, /usr/bin on the host, a read, the runtime's own setup.
    auto tmp = c.file(502, 501, "/bin/busybox", "fchmodat", "/tmp/f");
    c.engine->on_event(tmp);
    c.exec(600, 1, "/usr/bin/bash", {"bash"});
    c.engine->on_event(c.file(600, 1, "/usr/bin/bash", "fchmodat", "/usr/bin/x"));
    auto rd = c.file(502, 501, "/bin/busybox", "openat", "/usr/bin/tool");
    rd.args = {0xffffff9c, 0, O_RDONLY, 0};
    c.engine->on_event(rd);
    c.runc_start(700, 500, "c1");
    c.engine->on_event(c.file(701, 700, "/", "fchmodat", "/usr/bin/tool"));  // runc init
    c.engine->on_event(c.file(702, 701, "/", "fchmodat", "/usr/bin/tool"));  // a fork of it
    CHECK(c.of("container_binary_modified").size() == ops.size());

    // Positive controls of the same shapes: a container process exec'ing its own file from a
    // memfd, or naming itself runc, is not the runtime.
    c.exec(710, 501, "/memfd:runc_cloned:/proc/self/exe (deleted)", {"runc", "init"});
    c.engine->on_event(c.file(
        710, 501, "/memfd:runc_cloned:/proc/self/exe (deleted)", "fchmodat", "/usr/bin/tool"));
    CHECK(c.of("container_binary_modified").size() == ops.size() + 1);
    c.exec(711,
           501,
           "/usr/sbin/runc",
           {"runc", "init"},
           std::make_pair(std::string("00:2a"), std::uint64_t{555}));
    c.engine->on_event(c.file(711, 501, "/usr/sbin/runc", "fchmodat", "/usr/bin/tool"));
    CHECK(c.of("container_binary_modified").size() == ops.size() + 2);
}

TEST_CASE("seccomp_violation: decoded syscall and action, repeats folded with a count",
          "[detections][seccomp]") {
    Catalogue c;
    c.container(800, 801, "sc1");
    auto kill = [&](int pid) {
        audit::Event e;
        e.serial = ++c.serial;
        e.sec = 1795338900;
        e.pid = pid;
        e.exe = "/bin/busybox";
        e.comm = "mkdir";
        e.seccomp = audit::SeccompInfo{
            kX86_64, audit::syscall_number(kX86_64, "mkdir").value(), 0x80000000U, 31};
        c.engine->on_event(e);
    };
    c.exec(802, 801, "/bin/busybox", {"mkdir", "/tmp/x"});
    kill(802);
    REQUIRE(c.of("seccomp_violation").size() == 1);
    const Alert& a = *c.of("seccomp_violation")[0];
    REQUIRE(a.seccomp);
    CHECK(a.seccomp->syscall == "mkdir");
    CHECK(a.seccomp->action == "kill_process");
    REQUIRE(a.container);
    CHECK(a.container->id == "sc1");
    CHECK(a.count == 1);
    CHECK(a.process.argv == std::vector<std::string>{"mkdir", "/tmp/x"});
    CHECK(a.process.ppid == 801);
    for (int i = 0; i < 50; ++i) {
        c.exec(900 + i, 801, "/bin/busybox", {"mkdir", "/tmp/y"});
        kill(900 + i);
    }
    CHECK(c.of("seccomp_violation").size() == 1);  // folded while the window is open
    c.engine->flush();
    REQUIRE(c.of("seccomp_violation").size() == 2);
    CHECK(c.of("seccomp_violation")[1]->count == 50);
    CHECK(c.of("seccomp_violation")[1]->summary.find("repeated 50 more times") !=
          std::string::npos);
    CHECK(c.engine->stats().aggregated == 50);
}

TEST_CASE("container_sensitive_syscall: mount from a container, not from runc's setup",
          "[detections][syscalls]") {
    Catalogue c;
    c.container(1000, 1001, "s1");
    c.exec(1002, 1001, "/bin/busybox", {"mount", "-t", "tmpfs", "none", "/mnt"});
    auto m = c.base(1002, 1001, "/bin/busybox", "mount");
    m.success = false;
    m.exit = -1;
    c.engine->on_event(m);
    REQUIRE(c.of("container_sensitive_syscall").size() == 1);
    CHECK(c.of("container_sensitive_syscall")[0]->syscall == "mount");
    CHECK(c.of("container_sensitive_syscall")[0]->summary.find("failed (exit -1)") !=
          std::string::npos);
    // runc init and a fork of it (exe "/" inside the container's mount namespace).
    c.runc_start(1100, 1000, "s1");
    c.engine->on_event(c.base(1101, 1100, "/", "unshare"));
    c.engine->on_event(c.base(1102, 1101, "/", "mount"));
    // runc:[2:INIT], cloned by nsexec with CLONE_PARENT: its parent is runc itself, it never
    // exec'd, and the record names the init's executable ("/").
    c.engine->on_event(c.base(1103, 1100, "/", "mount"));
    c.engine->on_event(c.base(1103, 1100, "/", "keyctl"));
    CHECK(c.of("container_sensitive_syscall").size() == 1);
    // On the host: not a container.
    c.exec(1200, 1, "/usr/bin/bash", {"bash"});
    c.engine->on_event(c.base(1200, 1, "/usr/bin/bash", "unshare"));
    CHECK(c.of("container_sensitive_syscall").size() == 1);
    // Module loading is critical.
    c.engine->on_event(c.base(1002, 1001, "/bin/busybox", "finit_module"));
    REQUIRE(c.of("container_sensitive_syscall").size() == 2);
    CHECK(c.of("container_sensitive_syscall")[1]->severity == Severity::Critical);
}

TEST_CASE(
    "runc's nsexec clone (CLONE_PARENT, no exec) is the runtime, live, once /proc has moved on",
    "[detections][syscalls][runc]") {
    // Live, the clone's event is read after it has exec'd the container's command: its
    // /proc/PID/exe is the container's busybox by then. The record still names the init's
    // executable ("/") and its parent, the host's runc.
    const auto runc = host_runc();
    const auto shim = host_file("/usr/bin/containerd-shim-runc-v2");
    if (!runc || !shim) {
        WARN("skipped: needs the host's runc and containerd-shim-runc-v2");
        return;
    }
    namespace fs = std::filesystem;
    const fs::path proc =
        fs::temp_directory_path() / ("adock-nsexec-" + std::to_string(::getpid()));
    fs::create_directories(proc / "1103");
    fs::create_directories(proc / "1104");
    fs::create_symlink("/bin/busybox", proc / "1103" / "exe");
    fs::create_symlink("/bin/busybox", proc / "1104" / "exe");
    {
        Catalogue c(proc.string());
        c.exec(1000,
               1,
               "/usr/bin/containerd-shim-runc-v2",
               {"containerd-shim-runc-v2", "-namespace", "default", "-id", "s1"},
               shim);
        c.exec(1100,
               1000,
               "/usr/sbin/runc",
               {"runc", "--root", "/run/containerd/runc/default", "create", "--bundle", "/b", "s1"},
               runc);
        c.exec(1101, 1100, "/usr/sbin/runc", {"runc", "init"}, runc);  // /proc/self/exe init
        c.runc_reexec(1101, 1100, "00:01", 7788);  // its re-exec from the sealed copy
        // runc 1.1's other sealed copy: a detached read-only bind mount of the binary itself
        // (the same inode, exe "/"), under another runc for container s2.
        c.exec(1200,
               1000,
               "/usr/sbin/runc",
               {"runc", "--root", "/run/containerd/runc/default", "create", "--bundle", "/b", "s2"},
               runc);
        c.exec(1201, 1200, "/usr/sbin/runc", {"runc", "init"}, runc);
        c.runc_reexec(1201, 1200, runc->first, runc->second);
        fs::create_directories(proc / "1203");
        fs::create_symlink("/bin/busybox", proc / "1203" / "exe");
        c.engine->on_event(c.base(1203, 1200, "/", "keyctl"));
        c.engine->on_event(c.base(1103, 1100, "/", "keyctl"));
        c.engine->on_event(c.base(1103, 1100, "/", "mount"));
        c.engine->flush();
        c.engine->drain_probes(100);
        CHECK(c.of("container_sensitive_syscall").empty());
        // Not another executable under the same parent: a child of runc that is not its init.
        c.engine->on_event(c.base(1104, 1100, "/memfd:x (deleted)", "mount"));
        c.engine->flush();
        CHECK(c.of("container_sensitive_syscall").size() == 1);
    }
    fs::remove_all(proc);
}

TEST_CASE("the index tests an event only against rules that can match it", "[detections][index]") {
    Catalogue c;
    c.exec(100, 1, "/usr/bin/bash", {"bash"});
    const auto before = c.engine->stats().rule_tests;
    for (int i = 0; i < 100; ++i) {
        c.engine->on_event(c.base(100, 1, "/usr/bin/bash", "getpid"));
    }
    CHECK(c.engine->stats().rule_tests == before);
    auto chmod = c.file(100, 1, "/usr/bin/bash", "fchmodat", "/tmp/x");
    c.engine->on_event(chmod);
    // With the shipped catalogue: some rules are tested (the file rules), far fewer than all.
    const auto shipped = c.engine->stats().rule_tests - before;
    CHECK(shipped > 0);
    CHECK(shipped < rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules")->rules.size());

    // Exactly, on rules of this test's own: a syscall list, an operation class, another
    // syscall, an exec rule.
    outputs::Dispatcher out;
    std::vector<Alert> got;
    std::vector<std::unique_ptr<outputs::Sink>> sinks;
    sinks.push_back(std::make_unique<test::CollectSink>(got));
    (void)out.replace(std::move(sinks));
    rules::Engine e(c.cfg,
                    rules::load_rules_texts({{"r.yaml", R"(rules:
  - {id: by_syscall, description: d, severity: info, summary: s, match: {event: syscall, syscall: [fchmodat, chmod]}}
  - {id: by_operation, description: d, severity: info, summary: s, match: {event: syscall, operation: [chmod]}}
  - {id: other_syscall, description: d, severity: info, summary: s, match: {event: syscall, syscall: [mount]}}
  - {id: on_exec, description: d, severity: info, summary: s, match: {event: exec}}
)"}}),
                    out);
    for (int i = 0; i < 100; ++i) {
        e.on_event(c.base(100, 1, "/usr/bin/bash", "getpid"));
    }
    CHECK(e.stats().rule_tests == 0);
    e.on_event(chmod);
    CHECK(e.stats().rule_tests == 2);  // by_syscall and by_operation, not mount's nor the exec rule
    e.flush();
    CHECK(got.size() == 2);  // and both match: the two tested are the two that apply
}

TEST_CASE("catalogue errors point at file:line:col", "[detections][loader]") {
    const auto error_of = test::rule_error;
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {syscall: [mkdri]}\n")
              .starts_with("r.yaml:4:22: syscall: unknown syscall 'mkdri'"));
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {operation: [delete]}\n")
              .starts_with("r.yaml:4:24: operation: unknown 'delete'"));
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {exit: [EWHAT]}\n")
              .starts_with("r.yaml:4:19: exit: expected a number or an errno name"));
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {event: seccomp}\n    aggregate: "
                   "{by: [colour]}\n")
              .starts_with("r.yaml:5:21: aggregate.by: unknown field 'colour'"));
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {event: exec}\n    variants:\n   "
                   "   - severity: high\n")
              .starts_with("r.yaml:6:9: variant: needs 'when'"));
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {record_type: [NOPE]}\n")
              .starts_with("r.yaml:4:26: record_type: unknown audit record type 'NOPE'"));
    // Known to the kernel, dropped by the framer: a rule on it could never match.
    CHECK(error_of("rules:\n  - id: x\n    summary: s\n    match: {record_type: [AVC]}\n")
              .starts_with("r.yaml:4:26: record_type: AVC records are not read"));
}

// --- issue 15: container escape techniques -----------------------------------------------

namespace {

/// A memfd exec as the kernel records it: execveat(fd, "", AT_EMPTY_PATH), exe "/memfd:NAME
/// (deleted)".
void memfd_exec(
    Catalogue& c, int pid, int ppid, const std::string& exe, std::vector<std::string> argv) {
    audit::Event e = c.base(pid, ppid, exe, "execveat");
    e.has_execve = true;
    e.argv = std::move(argv);
    audit::PathItem p;
    p.item = 0;
    p.nametype = "NORMAL";
    p.dev = "00:01";
    p.inode = 99123;
    e.paths.push_back(p);
    c.engine->on_event(e);
}

/// An openat of `name` with `flags`, its result `exit` (0: success).
audit::Event open_event(
    Catalogue& c, int pid, int ppid, const std::string& name, int flags, std::int64_t exit) {
    audit::Event e = c.file(pid, ppid, "/bin/busybox", "openat", name);
    e.args = {0xffffff9c, 0, static_cast<std::uint64_t>(flags), 0};
    e.success = exit >= 0;
    e.exit = exit >= 0 ? 3 : exit;
    return e;
}

}  // namespace

TEST_CASE(
    "fileless_exec: a memfd or deleted program, critical in a container; runc's sealed copy is not",
    "[detections][escape]") {
    Catalogue c;
    c.container(500, 501, "c1");
    memfd_exec(c, 502, 501, "/memfd:adock-payload (deleted)", {"true"});
    c.engine->flush();
    REQUIRE(c.of("fileless_exec").size() == 1);
    const Alert& a = *c.of("fileless_exec")[0];
    CHECK(a.severity == Severity::Critical);
    CHECK(has(a.tags, "container"));
    REQUIRE(a.container);
    CHECK(a.container->id == "c1");
    CHECK(a.process.exe == "/memfd:adock-payload (deleted)");

    // On the host: high. A deleted file too.
    c.exec(600, 1, "/usr/bin/bash", {"bash"});
    memfd_exec(c, 601, 600, "/memfd: (deleted)", {"x"});
    c.exec(602, 600, "/tmp/.x (deleted)", {"x"});
    c.engine->flush();
    REQUIRE(c.of("fileless_exec").size() == 3);
    CHECK(c.of("fileless_exec")[1]->severity == Severity::High);
    CHECK(c.of("fileless_exec")[2]->process.exe == "/tmp/.x (deleted)");

    // runc's re-exec of itself at every container start (exe "/", execveat) is the runtime.
    c.runc_start(700, 1, "c2");
    // An ordinary program, and one merely named like a memfd path elsewhere.
    c.exec(710, 600, "/usr/bin/true", {"true"});
    c.exec(711, 600, "/tmp/memfd:x", {"x"});
    c.engine->flush();
    CHECK(c.of("fileless_exec").size() == 3);
}

TEST_CASE(
    "container_escape_write: the host's escape surfaces opened for writing from a container, "
    "refused or not",
    "[detections][escape]") {
    Catalogue c;
    c.container(500, 501, "c1");
    // EROFS
    c.engine->on_event(open_event(c, 501, 500, "/proc/sys/kernel/core_pattern", O_WRONLY, -30));
    // relative to /
    c.engine->on_event(open_event(c, 501, 500, "cg/release_agent", O_WRONLY | O_TRUNC, 0));
    c.engine->on_event(open_event(c, 501, 500, "/proc/sysrq-trigger", O_WRONLY, -30));
    c.engine->flush();
    const auto hits = c.of("container_escape_write");
    REQUIRE(hits.size() == 3);
    for (const Alert* a : hits) {
        CHECK(a->severity == Severity::Critical);
        REQUIRE(a->file);
        CHECK(a->file->operation == "write");
        REQUIRE(a->container);
        CHECK(a->container->id == "c1");
    }
    CHECK(hits[0]->file->path == "/proc/sys/kernel/core_pattern");
    CHECK(hits[0]->success == false);
    CHECK(hits[1]->file->path == "/cg/release_agent");
    CHECK(hits[2]->file->path == "/proc/sysrq-trigger");

    // Reading them, a container's own file of such a name elsewhere, and the host writing them.
    c.engine->on_event(open_event(c, 501, 500, "/proc/sys/kernel/core_pattern", O_RDONLY, 0));
    c.engine->on_event(open_event(c, 501, 500, "/tmp/core_pattern", O_WRONLY | O_CREAT, 0));
    c.engine->on_event(
        open_event(c, 501, 500, "/tmp/sys/kernel/uevent_helper", O_WRONLY | O_CREAT, 0));
    c.exec(600, 1, "/usr/lib/systemd/systemd-sysctl", {"systemd-sysctl"});
    c.engine->on_event(open_event(c, 600, 1, "/proc/sys/kernel/core_pattern", O_WRONLY, 0));
    c.engine->flush();
    CHECK(c.of("container_escape_write").size() == 3);
}

TEST_CASE("runtime_socket_from_container: connect(2) the socket rule saw, from a container only",
          "[detections][escape]") {
    Catalogue c;
    c.container(500, 501, "c1");
    auto connect = c.file(501, 500, "/bin/busybox", "connect", "/var/run/docker.sock");
    connect.key = "adock_sock";
    c.engine->on_event(connect);
    c.engine->flush();
    REQUIRE(c.of("runtime_socket_from_container").size() == 1);
    const Alert& a = *c.of("runtime_socket_from_container")[0];
    CHECK(a.severity == Severity::High);
    REQUIRE(a.file);
    CHECK(a.file->path == "/var/run/docker.sock");
    CHECK(a.file->operation == "connect");
    REQUIRE(a.container);
    CHECK(a.container->id == "c1");

    // The host's own client; a connect no socket rule named (another key).
    c.exec(600, 1, "/usr/bin/docker", {"docker", "ps"});
    auto host = c.file(600, 1, "/usr/bin/docker", "connect", "/run/docker.sock");
    host.key = "adock_sock";
    c.engine->on_event(host);
    auto other = c.file(501, 500, "/bin/busybox", "connect", "/tmp/app.sock");
    other.key = "something_else";
    c.engine->on_event(other);
    c.engine->flush();
    CHECK(c.of("runtime_socket_from_container").size() == 1);
}

TEST_CASE(
    "container_host_namespace_join: live, a container process in the host's mount namespace after "
    "setns",
    "[detections][escape]") {
    // Live, the shim is known by its identity: the host's file.
    const auto shim = host_file("/usr/bin/containerd-shim-runc-v2");
    if (!shim) {
        WARN("skipped: needs the host's containerd-shim-runc-v2");
        return;
    }
    namespace fs = std::filesystem;
    const fs::path proc =
        fs::temp_directory_path() / ("adock-nsjoin-" + std::to_string(::getpid()));
    fs::remove_all(proc);
    auto pid_dir = [&](int pid, const std::string& mnt, const std::string& cgroup) {
        fs::create_directories(proc / std::to_string(pid) / "ns");
        fs::create_symlink(mnt, proc / std::to_string(pid) / "ns" / "mnt");
        fs::create_symlink("pid:[4026531836]", proc / std::to_string(pid) / "ns" / "pid");
        std::ofstream(proc / std::to_string(pid) / "cgroup") << cgroup;
    };
    fs::create_directories(proc / "self" / "ns");
    fs::create_symlink("mnt:[4026531841]", proc / "self" / "ns" / "mnt");
    fs::create_symlink("pid:[4026531836]", proc / "self" / "ns" / "pid");
    pid_dir(1502, "mnt:[4026531841]", "0::/default/c1\n");  // joined the host's
    pid_dir(1503, "mnt:[4026532999]", "0::/default/c1\n");  // its own container's
    pid_dir(1504, "mnt:[4026531841]", "0::/user.slice\n");  // a host process now has the pid
    {
        Catalogue c(proc.string());
        c.exec(1500,
               1,
               "/usr/bin/containerd-shim-runc-v2",
               {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"},
               shim);
        c.exec(1501, 1500, "/bin/busybox", {"sh"});
        c.exec(1502, 1501, "/usr/bin/nsenter", {"nsenter", "-t", "1", "-m", "sh"});
        c.exec(1503, 1501, "/usr/bin/nsenter", {"nsenter", "-t", "1", "-m", "sh"});
        c.exec(1504, 1501, "/usr/bin/nsenter", {"nsenter", "-t", "1", "-m", "sh"});
        for (int pid : {1502, 1503, 1504}) {
            auto setns = c.base(pid, 1501, "/usr/bin/nsenter", "setns");
            setns.args = {3, 0x20000, 0, 0};
            c.engine->on_event(setns);
        }
        c.engine->flush();
        REQUIRE(c.of("container_host_namespace_join").size() == 1);
        const Alert& a = *c.of("container_host_namespace_join")[0];
        CHECK(a.severity == Severity::Critical);
        CHECK(a.process.pid == 1502);
        CHECK(a.summary.find("(mnt)") != std::string::npos);
        REQUIRE(a.container);
        CHECK(a.container->id == "c1");
        // The setns itself is a sensitive syscall of each.
        CHECK(c.of("container_sensitive_syscall").size() >= 1);
    }
    {
        // A replay cannot know: never raised.
        Catalogue c;
        c.container(1500, 1501, "c1");
        c.exec(1502, 1501, "/usr/bin/nsenter", {"nsenter", "-t", "1", "-m", "sh"});
        c.engine->on_event(c.base(1502, 1501, "/usr/bin/nsenter", "setns"));
        c.engine->flush();
        CHECK(c.of("container_host_namespace_join").empty());
    }
    fs::remove_all(proc);
}

TEST_CASE("rule conditions fileless and host_namespace are checked at load",
          "[detections][loader]") {
    CHECK(test::rule_error("rules:\n  - id: x\n    summary: s\n    match: {event: syscall, "
                           "host_namespace: [mount]}\n")
              .find("host_namespace: unknown namespace 'mount'") != std::string::npos);
    CHECK(test::rule_error(
              "rules:\n  - id: x\n    summary: s\n    match: {event: exec, fileless: maybe}\n")
              .find("fileless") != std::string::npos);
}

TEST_CASE("a replay keeps what its stream taught across the engine's periodic tick",
          "[detections][replay]") {
    // The tick re-resolves the lists from the host's files; a replay's are the stream's (CI saw
    // runc_suspicious_exec for a shim's runc once in five replays of the same capture).
    Catalogue c;
    c.exec(500,
           1,
           "/usr/bin/containerd-shim-runc-v2",
           {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"},
           std::make_pair(std::string("fe:00"), std::uint64_t{1048700}));
    c.engine->tick(c.clock.now());
    c.runc_start(510, 500, "c1");
    c.clock.advance(std::chrono::hours(1));  // well past the tick's refresh interval
    c.engine->tick(c.clock.now());
    c.runc_start(520, 500, "c1");
    c.engine->flush();
    CHECK(c.of("runc_suspicious_exec").empty());
    CHECK(c.of("fileless_exec").empty());
}

TEST_CASE(
    "runc_leaked_fd_cwd and container_host_mount: the host's clients asking for them, by identity",
    "[detections][escape]") {
    Catalogue c;
    const std::pair<std::string, std::uint64_t> docker{"fe:00", 4242001};
    c.exec(800,
           1,
           "/usr/bin/docker",
           {"docker", "run", "-w", "/proc/self/fd/7", "adock-bb:1", "true"},
           docker);
    c.exec(801,
           1,
           "/usr/bin/docker",
           {"docker", "exec", "-w", "/proc/self/fd/8", "web", "sh"},
           docker);
    c.exec(802,
           1,
           "/usr/bin/docker",
           {"docker", "run", "--rm", "-v", "/:/host", "adock-bb:1", "true"},
           docker);
    c.exec(803,
           1,
           "/usr/sbin/runc",
           {"runc", "--root", "/r", "exec", "--cwd", "/proc/self/fd/7", "c1", "sh"},
           std::make_pair(std::string("fe:00"), std::uint64_t{1048601}));
    c.engine->flush();
    const auto cwd = c.of("runc_leaked_fd_cwd");
    // The first docker request at once, runc's (another program), then the docker window's
    // report of its repeat (folded per source and program).
    REQUIRE(cwd.size() == 3);
    CHECK(cwd[0]->severity == Severity::Critical);
    CHECK(cwd[0]->summary.find("working directory /proc/self/fd/7 (-w)") != std::string::npos);
    CHECK(cwd[0]->process.exe == "/usr/bin/docker");
    CHECK(cwd[1]->process.exe == "/usr/sbin/runc");
    CHECK(cwd[2]->process.exe == "/usr/bin/docker");
    CHECK(cwd[2]->count == 1);
    const auto mount = c.of("container_host_mount");
    REQUIRE(mount.size() == 1);
    CHECK(mount[0]->severity == Severity::High);
    CHECK(mount[0]->summary.find("bind mount of / at /host") != std::string::npos);

    // Ordinary requests; a program that is not the host's client (by its file); a container's
    // own docker CLI; the request words as the container command's arguments.
    Catalogue q;
    q.exec(800,
           1,
           "/usr/bin/docker",
           {"docker", "run", "-w", "/srv", "-v", "/srv:/srv", "adock-bb:1"},
           docker);
    q.exec(801,
           1,
           "/tmp/x/docker",
           {"docker", "run", "-w", "/proc/self/fd/7", "img"},
           std::make_pair(std::string("fe:00"), std::uint64_t{777}));
    q.container(900, 901, "c9");
    q.exec(902,
           901,
           "/usr/bin/docker",
           {"docker", "run", "-v", "/:/h", "img"},
           std::make_pair(std::string("00:33"), std::uint64_t{55}));
    q.exec(803,
           1,
           "/usr/bin/docker",
           {"docker", "run", "img", "sh", "-c", "x", "-w", "/proc/self/fd/7"},
           docker);
    q.engine->flush();
    CHECK(q.of("runc_leaked_fd_cwd").empty());
    CHECK(q.of("container_host_mount").empty());
}

TEST_CASE("container_host_mount: mount(2) of a block device from a container, refused or not",
          "[detections][escape]") {
    Catalogue c;
    c.container(500, 501, "c1");
    audit::Event m = c.file(501, 500, "/bin/busybox", "mount", "/tmp/sda");
    m.paths[1].mode = S_IFBLK | 0644;
    m.success = false;
    m.exit = -1;  // EPERM: the devices cgroup refuses to open it
    c.engine->on_event(m);
    // A tmpfs or bind mount (no device), and the host mounting its own disk: not this rule.
    audit::Event t = c.file(501, 500, "/bin/busybox", "mount", "/mnt");
    t.paths[1].mode = S_IFDIR | 0755;
    c.engine->on_event(t);
    c.exec(600, 1, "/usr/bin/mount", {"mount", "/dev/vdb", "/srv"});
    audit::Event h = c.file(600, 1, "/usr/bin/mount", "mount", "/dev/vdb");
    h.paths[1].mode = S_IFBLK | 0660;
    c.engine->on_event(h);
    c.engine->flush();
    const auto hits = c.of("container_host_mount");
    REQUIRE(hits.size() == 1);
    CHECK(hits[0]->severity == Severity::High);
    CHECK(hits[0]->summary.find("mount of the block device /tmp/sda") != std::string::npos);
    REQUIRE(hits[0]->container);
    CHECK(hits[0]->container->id == "c1");
}

TEST_CASE("container_host_mount: chroot from a container onto a block device it mounted",
          "[detections][escape]") {
    Catalogue c;
    c.container(500, 501, "c1");
    c.container(700, 701, "c2");
    auto mount = c.file(501, 500, "/bin/busybox", "mount", "/tmp/sda");
    mount.paths[1].mode = S_IFBLK | 0644;
    mount.paths[1].rdev = "08:01";
    c.engine->on_event(mount);  // the mount: one alert (the technique), and remembered
    auto chroot_to = [&](int pid, int ppid, const std::string& dir, const std::string& dev) {
        auto e = c.file(pid, ppid, "/bin/busybox", "chroot", dir);
        e.paths[1].mode = S_IFDIR | 0755;
        e.paths[1].dev = dev;
        c.engine->on_event(e);
    };
    chroot_to(501, 500, "/mnt", "08:01");  // onto the disk it mounted
    chroot_to(501, 500, "/srv", "00:31");  // a directory of its own overlay: quiet
    chroot_to(701, 700, "/mnt", "08:01");  // another container that mounted nothing: quiet
    c.engine->flush();
    const auto hits = c.of("container_host_mount");
    REQUIRE(hits.size() == 2);
    CHECK(hits[0]->summary.find("mount of the block device /tmp/sda") != std::string::npos);
    CHECK(hits[1]->summary.find("chroot into /mnt, the block device 08:01 the container mounted") !=
          std::string::npos);
    CHECK(hits[1]->syscall == "chroot");
    REQUIRE(hits[1]->container);
    CHECK(hits[1]->container->id == "c1");
}

TEST_CASE("container_host_mount folds per container and technique: a mount, a chroot",
          "[detections][aggregate]") {
    // By [source, event.syscall] (execve and execveat counting as one: live, runc init's exec
    // and its re-exec of itself read the same spec; containers.sh checks it is one alert).
    Catalogue c;
    c.container(500, 501, "c1");
    auto mount = c.file(501, 500, "/bin/busybox", "mount", "/tmp/sda");
    mount.paths[1].mode = S_IFBLK | 0644;
    mount.paths[1].rdev = "08:01";
    c.engine->on_event(mount);
    auto again = c.file(501, 500, "/bin/busybox", "mount", "/tmp/sdb");
    again.paths[1].mode = S_IFBLK | 0644;
    c.engine->on_event(again);
    auto chroot = c.file(501, 500, "/bin/busybox", "chroot", "/mnt");
    chroot.paths[1].mode = S_IFDIR | 0755;
    chroot.paths[1].dev = "08:01";
    c.engine->on_event(chroot);
    c.engine->flush();
    const auto hits = c.of("container_host_mount");
    REQUIRE(hits.size() == 3);  // the first mount, the chroot, then the fold of the second mount
    CHECK(hits[0]->syscall == "mount");
    CHECK(hits[1]->syscall == "chroot");
    REQUIRE(hits[2]->count);
    CHECK(*hits[2]->count == 1);
}

TEST_CASE(
    "container_host_mount: live, chroot from a container onto the host's root by its dev/inode",
    "[detections][escape]") {
    const auto shim = host_file("/usr/bin/containerd-shim-runc-v2");
    const auto root = host_file("/");
    if (!shim || !root) {
        WARN("skipped: needs the host's containerd-shim-runc-v2");
        return;
    }
    namespace fs = std::filesystem;
    const fs::path proc =
        fs::temp_directory_path() / ("adock-chroot-" + std::to_string(::getpid()));
    fs::remove_all(proc);
    fs::create_directories(proc);
    {
        Catalogue c(proc.string());
        c.exec(1500,
               1,
               "/usr/bin/containerd-shim-runc-v2",
               {"containerd-shim-runc-v2", "-namespace", "default", "-id", "c1"},
               shim);
        c.exec(1501, 1500, "/bin/busybox", {"sh"});
        auto chroot_to =
            [&](int pid, const std::string& dir, const std::pair<std::string, std::uint64_t>& id) {
                auto e = c.file(pid, 1500, "/bin/busybox", "chroot", dir);
                e.paths[1].mode = S_IFDIR | 0755;
                e.paths[1].dev = id.first;
                e.paths[1].inode = id.second;
                c.engine->on_event(e);
            };
        chroot_to(1501, "/hostroot", *root);  // -v /:/hostroot, then chroot
        // another directory of that disk: quiet
        chroot_to(1501, "/srv", {root->first, root->second + 1});
        // the host chrooting: not a container
        c.exec(1600, 1, "/usr/sbin/chroot", {"chroot", "/"});
        chroot_to(1600, "/", *root);
        c.engine->flush();
        const auto hits = c.of("container_host_mount");
        REQUIRE(hits.size() == 1);
        CHECK(
            hits[0]->summary.find("chroot into the host's root directory, mounted at /hostroot") !=
            std::string::npos);
        CHECK(hits[0]->severity == Severity::High);
    }
    fs::remove_all(proc);
}

TEST_CASE(
    "container_drift_exec: a program the container wrote itself, by dev/inode, whatever its name",
    "[detections][escape]") {
    Catalogue c;
    c.container(500, 501, "c1");
    auto inode_of = [&](const std::string& name) {
        return c.file(1, 0, "/x", "openat", name).paths[1].inode;
    };
    // cp /bin/busybox /tmp/x (a write-open creating it), chmod 755 /tmp/x, mv /tmp/x /tmp/y,
    // /tmp/y.
    audit::Event cp = open_event(c, 501, 500, "/tmp/x", O_WRONLY | O_CREAT | O_TRUNC, 0);
    cp.paths[1].nametype = "CREATE";
    c.engine->on_event(cp);
    c.exec(502,
           501,
           "/tmp/y",
           {"y", "true"},
           std::make_pair(std::string("fe:00"), inode_of("/tmp/x")));
    // The image's own programs; a file of the same inode in another container; the host's write.
    c.exec(503, 501, "/bin/ls", {"ls"}, std::make_pair(std::string("fe:00"), std::uint64_t{4711}));
    c.container(600, 601, "c2");
    c.exec(602, 601, "/tmp/x", {"x"}, std::make_pair(std::string("fe:00"), inode_of("/tmp/x")));
    c.exec(700, 1, "/usr/bin/bash", {"bash"});
    c.engine->on_event(open_event(c, 700, 1, "/srv/tool", O_WRONLY | O_CREAT, 0));
    c.exec(503,
           501,
           "/srv/tool",
           {"tool"},
           std::make_pair(std::string("fe:00"), inode_of("/srv/tool")));
    c.engine->flush();
    const auto hits = c.of("container_drift_exec");
    REQUIRE(hits.size() == 1);
    CHECK(hits[0]->severity == Severity::High);
    REQUIRE(hits[0]->container);
    CHECK(hits[0]->container->id == "c1");
    CHECK(hits[0]->process.exe == "/tmp/y");
    CHECK(hits[0]->summary.find("written in the container as /tmp/x") != std::string::npos);
}

TEST_CASE(
    "initiator: ctr task exec's human, through containerd's runc exec, on the exec's grandchild",
    "[detections][initiator]") {
    Catalogue c;  // a replay: the stream alone
    const std::pair<std::string, std::uint64_t> runc_file{"fe:00", 1048601};
    c.container(500, 501, "c1");
    auto client = [&](int pid, std::uint32_t auid, const std::string& target) {
        audit::Event e = c.base(pid, 40, "/usr/bin/ctr", "execve");
        e.has_execve = true;
        e.argv = {"ctr", "task", "exec", "--exec-id", "x1", target, "sh"};
        e.auid = auid;
        e.auid_name = auid == 1001 ? "alice" : "";  // auditd's AUID= translation (ENRICHED)
        e.uid = 0;
        audit::PathItem p;
        p.item = 0;
        p.name = "/usr/bin/ctr";
        p.nametype = "NORMAL";
        p.dev = "fe:00";
        p.inode = 5001;
        e.paths.push_back(p);
        c.engine->on_event(e);
    };
    auto runc_exec = [&](int runc, const std::string& id) {
        c.exec(runc,
               500,
               "/usr/sbin/runc",
               {"runc",
                "--root",
                "/run/containerd/runc/default",
                "exec",
                "--process",
                "/tmp/p",
                "--detach",
                id},
               runc_file);
        c.exec(runc + 1, runc, "/usr/sbin/runc", {"runc", "init"}, runc_file);
        c.runc_reexec(runc + 1, runc, "00:01", 7788);
        // the exec'd command, reparented to the shim
        c.exec(runc + 1, 500, "/bin/busybox", {"sh"});
    };
    auto chmod = [&](int pid, int ppid) {
        auto e = c.file(pid, ppid, "/bin/busybox", "fchmodat", "/usr/bin/tool");
        c.engine->on_event(e);
    };
    client(50, 1000, "other");  // another container's request
    client(51, 1001, "c1");
    runc_exec(600, "c1");
    c.exec(602, 601, "/bin/busybox", {"sh", "-c", "chmod"});  // the shell's child
    c.exec(603, 602, "/bin/busybox", {"chmod", "700", "/usr/bin/tool"});
    chmod(603, 602);  // a grandchild of the exec'd command
    chmod(501, 500);  // the container's own command: nobody asked for it
    chmod(604, 603);  // a fork of the grandchild the stream never saw exec
    const auto hits = c.of("container_binary_modified");
    REQUIRE(hits.size() == 3);
    REQUIRE(hits[2]->initiator);
    CHECK(hits[2]->initiator->pid == 51);
    REQUIRE(hits[0]->initiator);
    CHECK_FALSE(hits[0]->initiator->ambiguous);
    CHECK(hits[0]->initiator->pid == 51);
    CHECK(hits[0]->initiator->auid == 1001U);
    CHECK(hits[0]->initiator->user == std::optional<std::string>("alice"));
    CHECK(hits[0]->initiator->exe == "/usr/bin/ctr");
    CHECK(to_json(*hits[0]).find(R"("initiator":{"pid":51,"exe":"/usr/bin/ctr")") !=
          std::string::npos);
    CHECK_FALSE(hits[1]->initiator);
    CHECK(to_json(*hits[1]).find("initiator") == std::string::npos);
    SECTION("two requests for the same container: ambiguous") {
        client(52, 1002, "c1");
        client(53, 1003, "c1");
        runc_exec(700, "c1");
        chmod(701, 500);
        const auto more = c.of("container_binary_modified");
        REQUIRE(more.size() == 4);
        REQUIRE(more[3]->initiator);
        CHECK(more[3]->initiator->ambiguous);
        CHECK(more[3]->initiator->candidates.size() == 2);
    }
    SECTION("no request: unknown") {
        runc_exec(800, "c1");
        chmod(801, 500);
        const auto more = c.of("container_binary_modified");
        REQUIRE(more.size() == 4);
        CHECK_FALSE(more[3]->initiator);
    }
}

namespace {

const std::string kStartId = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
const std::string kOtherId = "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233";

/// A container client's exec (by its host file: a replay learns it from this PATH item).
void client_exec(Catalogue& c,
                 int pid,
                 std::uint32_t auid,
                 std::vector<std::string> argv,
                 std::optional<std::pair<std::string, std::uint64_t>> file = std::nullopt) {
    audit::Event e = c.base(pid, 40, "/usr/bin/docker", "execve");
    e.has_execve = true;
    e.argv = std::move(argv);
    e.auid = auid;
    audit::PathItem p;
    p.item = 0;
    p.name = "/usr/bin/docker";
    p.nametype = "NORMAL";
    p.dev = file ? file->first : "fe:00";
    p.inode = file ? file->second : 5002;
    e.paths.push_back(p);
    c.engine->on_event(e);
}

/// A container's start as docker's containerd does it: its shim (`shim`), the shim's
/// `runc create` (`shim` + 10) and runc init (+ 11) re-executing itself, then the init exec'ing
/// the container's command (reparented to the shim).
void docker_start(Catalogue& c,
                  int shim,
                  const std::string& id,
                  std::optional<std::pair<std::string, std::uint64_t>> shim_file = std::nullopt,
                  std::optional<std::pair<std::string, std::uint64_t>> runc_file = std::nullopt) {
    c.exec(shim,
           1,
           "/usr/bin/containerd-shim-runc-v2",
           {"containerd-shim-runc-v2", "-namespace", "moby", "-id", id},
           shim_file);
    const auto runc =
        runc_file.value_or(std::make_pair(std::string("fe:00"), std::uint64_t{1048601}));
    c.exec(shim + 10,
           shim,
           "/usr/sbin/runc",
           {"runc",
            "--root",
            "/var/run/docker/runtime-runc/moby",
            "--log",
            "/l",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            id},
           runc);
    c.exec(shim + 11, shim + 10, "/usr/sbin/runc", {"runc", "init"}, runc);
    c.runc_reexec(shim + 11, shim + 10, "00:01", 7788);
    c.exec(shim + 11, shim, "/bin/busybox", {"sh"});
}

void chmod_in(Catalogue& c, int pid, int ppid) {
    c.engine->on_event(c.file(pid, ppid, "/bin/busybox", "fchmodat", "/usr/bin/tool"));
}

}  // namespace

TEST_CASE(
    "initiator: docker start's human, through runc create, on the container's init and its "
    "children",
    "[detections][initiator]") {
    Catalogue c;  // a replay: the stream alone, no names
    client_exec(c, 50, 1000, {"docker", "start", kStartId.substr(0, 12)});
    docker_start(c, 500, kStartId);
    c.exec(512, 511, "/bin/busybox", {"chmod", "700", "/usr/bin/tool"});
    chmod_in(c, 512, 511);  // a child of the container's command
    chmod_in(c, 511, 500);  // the container's command itself
    // Benign control: a container nobody asked for (a restart policy, an API client).
    docker_start(c, 600, kOtherId);
    chmod_in(c, 611, 600);
    c.engine->flush();
    const auto hits = c.of("container_binary_modified");
    REQUIRE(hits.size() == 3);
    for (std::size_t k : {0U, 1U}) {
        REQUIRE(hits[k]->initiator);
        CHECK_FALSE(hits[k]->initiator->ambiguous);
        CHECK(hits[k]->initiator->pid == 50);
        CHECK(hits[k]->initiator->auid == 1000U);
        CHECK(hits[k]->initiator->argv ==
              std::vector<std::string>{"docker", "start", kStartId.substr(0, 12)});
    }
    REQUIRE(hits[2]->container);
    CHECK(hits[2]->container->id == kOtherId);
    CHECK_FALSE(hits[2]->initiator);
    CHECK(c.engine->initiator_stats().matched == 1);
    CHECK(c.engine->initiator_stats().unmatched == 1);
}

TEST_CASE("initiator: docker start and run in a replay: ambiguous, or unknown, never a guess",
          "[detections][initiator]") {
    Catalogue c;
    SECTION("two clients start the same container: ambiguous") {
        client_exec(c, 50, 1000, {"docker", "start", kStartId.substr(0, 12)});
        client_exec(c, 51, 1001, {"docker", "container", "start", "-a", kStartId.substr(0, 6)});
        docker_start(c, 500, kStartId);
        chmod_in(c, 511, 500);
        c.engine->flush();
        const auto hits = c.of("container_binary_modified");
        REQUIRE(hits.size() == 1);
        REQUIRE(hits[0]->initiator);
        CHECK(hits[0]->initiator->ambiguous);
        CHECK(hits[0]->initiator->candidates.size() == 2);
        CHECK(to_json(*hits[0]).find(R"("initiator":{"ambiguous":true)") != std::string::npos);
    }
    SECTION("docker run --name: a replay knows no docker names, so no initiator") {
        client_exec(c, 52, 1000, {"docker", "run", "--name", "web", "adock-bb:1", "sh"});
        docker_start(c, 500, kStartId);
        chmod_in(c, 511, 500);
        c.engine->flush();
        const auto hits = c.of("container_binary_modified");
        REQUIRE(hits.size() == 1);
        CHECK_FALSE(hits[0]->initiator);
        CHECK(c.engine->initiator_pending() == 1);  // it may still be another container's
    }
    SECTION("a docker exec is no start, a docker start no exec") {
        client_exec(c, 53, 1000, {"docker", "exec", kStartId.substr(0, 12), "sh"});
        docker_start(c, 500, kStartId);
        chmod_in(c, 511, 500);
        c.engine->flush();
        const auto hits = c.of("container_binary_modified");
        REQUIRE(hits.size() == 1);
        CHECK_FALSE(hits[0]->initiator);
    }
}

TEST_CASE("initiator: docker run, live: by the name the container was given, or by its image",
          "[detections][initiator]") {
    const auto runc = host_runc();
    const auto shim = host_file("/usr/bin/containerd-shim-runc-v2");
    const auto docker = host_file("/usr/bin/docker");
    if (!runc || !shim || !docker) {
        WARN("skipped: needs the host's runc, containerd-shim-runc-v2 and docker");
        return;
    }
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("adock-run-" + std::to_string(::getpid()));
    const std::string kThirdId(64, 'c');
    auto container = [&](const std::string& id, const std::string& name, const std::string& image) {
        fs::create_directories(dir / "docker" / id);
        std::ofstream(dir / "docker" / id / "config.v2.json")
            << R"({"Name":"/)" << name << R"(","Config":{"Image":")" << image << R"("}})";
    };
    container(kStartId, "web", "adock-bb:1");
    container(kOtherId, "quirky_einstein", "other:2");
    container(kThirdId, "nobody_asked", "adock-bb:1");
    fs::create_directories(dir / "proc");
    {
        Catalogue c((dir / "proc").string());
        c.cfg.docker_containers_dir = (dir / "docker").string();
        c.engine = std::make_unique<rules::Engine>(
            c.cfg, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), c.out, c.clock);
        client_exec(c,
                    50,
                    1000,
                    {"docker", "run", "-it", "--rm", "--name", "web", "adock-bb:1", "sh"},
                    docker);
        client_exec(c, 51, 1001, {"docker", "run", "-d", "other:2"}, docker);
        // Each start's names read before the next event (under a sanitizer and load, the
        // resolver can take longer than the decision's 300 ms wall-clock wait).
        docker_start(c, 500, kStartId, shim, runc);
        c.engine->drain_names(5000);
        chmod_in(c, 511, 500);
        docker_start(c, 600, kOtherId, shim, runc);
        c.engine->drain_names(5000);
        chmod_in(c, 611, 600);
        // Benign control: the same image as the first, and nobody's request left for it.
        docker_start(c, 700, kThirdId, shim, runc);
        c.engine->drain_names(5000);
        chmod_in(c, 711, 700);
        c.engine->flush();
        const auto hits = c.of("container_binary_modified");
        REQUIRE(hits.size() == 3);
        std::map<std::string, const Alert*> by_id;
        for (const auto* a : hits) {
            REQUIRE(a->container);
            by_id[a->container->id] = a;
        }
        REQUIRE(by_id.size() == 3);
        const Alert* web = by_id.at(kStartId);
        CHECK(web->container->name == "web");
        REQUIRE(web->initiator);
        CHECK_FALSE(web->initiator->ambiguous);
        CHECK(web->initiator->pid == 50);
        CHECK(web->initiator->auid == 1000U);
        const Alert* other = by_id.at(kOtherId);
        REQUIRE(other->initiator);
        CHECK_FALSE(other->initiator->ambiguous);
        CHECK(other->initiator->pid == 51);
        CHECK_FALSE(by_id.at(kThirdId)->initiator);
        CHECK(c.engine->initiator_stats().matched == 2);
        CHECK(c.engine->initiator_stats().unmatched == 1);
        CHECK(c.engine->initiator_pending() == 0);
    }
    fs::remove_all(dir);
}

TEST_CASE("summary: kept places are filled at their offsets, in order, the names only when asked",
          "[detections][summary]") {
    Alert a;
    // "{container.name}{container.image} | {integrity.change} | {container.name}" rendered
    // while nothing was known, and an aggregation's note appended after it.
    a.summary = " |  | {container.name} (repeated 2 more times)";
    a.summary_holes = {{0, SummaryField::ContainerName},
                       {0, SummaryField::ContainerImage},
                       {3, SummaryField::IntegrityChange},
                       {6, SummaryField::ContainerName}};
    a.container = ContainerRef{};
    a.container->name = "web";
    a.container->image = "adock-bb:1";
    a.integrity = IntegrityRef{};
    a.integrity->change = "content";
    rules::detail::fill_integrity(a);
    CHECK(a.summary == " | content | {container.name} (repeated 2 more times)");
    REQUIRE(a.summary_holes.size() == 3);
    CHECK(a.summary_holes[2].at == 13);  // moved by the text before it
    rules::detail::fill_holes(a, true);
    CHECK(a.summary == "webadock-bb:1 | content | web{container.name} (repeated 2 more times)");
    CHECK(a.summary_holes.empty());
    SECTION("a place whose text never came shows '-'") {
        Alert b;
        b.summary = "name , image ";
        b.summary_holes = {{5, SummaryField::ContainerName}, {13, SummaryField::ContainerImage}};
        rules::detail::fill_holes(b, true);
        CHECK(b.summary == "name -, image -");
    }
}

TEST_CASE(
    "summary: a path or name that reads like a placeholder is shown as it is, never filled in",
    "[detections][summary][hostile]") {
    // A container's file named after the placeholders whose text comes later (the names being
    // read, the integrity verdict): the summary shows the file's name as it is, and fills only the
    // template's own places.
    const std::string hostile = "/usr/bin/{integrity.trust}{container.name}{container.image}";
    SECTION("a replay: no names, no integrity verdict") {
        Catalogue c;
        docker_start(c, 500, kStartId);
        c.engine->on_event(c.file(511, 500, "/bin/busybox", "fchmodat", hostile));
        c.engine->flush();
        const auto hits = c.of("container_binary_modified");
        REQUIRE(hits.size() == 1);
        INFO(hits[0]->summary);
        CHECK(hits[0]->summary.find("(-, image -)") != std::string::npos);
        CHECK(hits[0]->summary.find("of " + hostile + " by /bin/busybox") != std::string::npos);
    }
    SECTION("live: the names are read off the engine thread and filled in when known") {
        const auto runc = host_runc();
        const auto shim = host_file("/usr/bin/containerd-shim-runc-v2");
        if (!runc || !shim) {
            WARN("skipped: needs the host's runc and containerd-shim-runc-v2");
            return;
        }
        namespace fs = std::filesystem;
        const fs::path dir =
            fs::temp_directory_path() / ("adock-holes-" + std::to_string(::getpid()));
        fs::create_directories(dir / "docker" / kStartId);
        fs::create_directories(dir / "proc");
        std::ofstream(dir / "docker" / kStartId / "config.v2.json")
            << R"({"Name":"/web","Config":{"Image":"adock-bb:1"}})";
        {
            Catalogue c((dir / "proc").string());
            c.cfg.docker_containers_dir = (dir / "docker").string();
            c.engine = std::make_unique<rules::Engine>(
                c.cfg,
                rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"),
                c.out,
                c.clock);
            docker_start(c, 500, kStartId, shim, runc);
            // No wait for the names: the alert may be held until they are read.
            c.engine->on_event(c.file(511, 500, "/bin/busybox", "fchmodat", hostile));
            c.engine->drain_names(5000);
            c.engine->flush();
            const auto hits = c.of("container_binary_modified");
            REQUIRE(hits.size() == 1);
            INFO(hits[0]->summary);
            INFO("held for the names: " << c.engine->stats().names_waited);
            CHECK(hits[0]->summary.find("(web, image adock-bb:1)") != std::string::npos);
            CHECK(hits[0]->summary.find("of " + hostile + " by /bin/busybox") != std::string::npos);
        }
        fs::remove_all(dir);
    }
}
