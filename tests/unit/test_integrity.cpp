// SPDX-License-Identifier: Apache-2.0
// The integrity monitor: hashing, dpkg records, the baseline file, and content checks on fake
// runtime binaries with a fake /proc.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config/config.hpp"
#include "integrity/baseline.hpp"
#include "integrity/digest.hpp"
#include "integrity/dpkg.hpp"
#include "integrity/monitor.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/engine.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/audit_dev.hpp"
#include "util/digest.hpp"

using namespace adock;
using namespace adock::integrity;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;

    TempDir() {
        path = fs::temp_directory_path() / ("adock-integrity-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(counter()++));
        fs::create_directories(path);
    }

    ~TempDir() { fs::remove_all(path); }

    static int& counter() {
        static int n = 0;
        return n;
    }

    std::string write(const std::string& rel, const std::string& content) const {
        const fs::path p = path / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    }
};

/// A fake /proc/PID/exe (a symlink, as the kernel's magic link reads) under `proc`: the monitor
/// reads programs only from there.
void proc_exe(const fs::path& proc, int pid, const std::string& exe) {
    fs::create_directories(proc / std::to_string(pid));
    fs::remove(proc / std::to_string(pid) / "exe");
    fs::create_symlink(exe, proc / std::to_string(pid) / "exe");
}

/// The file's identity as a PATH record gives it ("fe:00", inode).
std::pair<std::string, std::uint64_t> id_of(const std::string& path) {
    struct stat st {};

    REQUIRE(::stat(path.c_str(), &st) == 0);
    return {util::audit_dev(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

IntegrityMonitor::Request request(audit::Event e,
                                  std::uint32_t checks,
                                  std::pair<std::string, std::uint64_t> image = {}) {
    IntegrityMonitor::Request r(std::move(e), "r", checks);
    r.image = std::move(image);
    return r;
}

audit::Event exec_of(const std::string& exe, int pid) {
    audit::Event e;
    e.has_syscall = true;
    e.has_execve = true;
    e.pid = pid;
    e.ppid = 1;
    e.exe = exe;
    e.argv = {exe};
    return e;
}

}  // namespace

TEST_CASE("digests: sha256 and md5 of a file, and refusal of what is not a regular file",
          "[integrity]") {
    TempDir t;
    const auto f = t.write("abc", "abc");
    std::string error;
    auto facts = examine_path(f, 1024, error);
    REQUIRE(facts);
    CHECK(facts->sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(facts->md5 == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(facts->size == 3);
    CHECK_FALSE(examine_path(t.path.string(), 1024, error));
    CHECK(error == "not a regular file");
    CHECK_FALSE(examine_path(t.write("big", std::string(2048, 'x')), 1024, error));
    CHECK(error.find("hashing limit") != std::string::npos);
}

TEST_CASE("dpkg records: md5sums read for wanted paths, /usr-merge spellings", "[integrity]") {
    TempDir t;
    t.write("info/runc.md5sums",
            "e872f70025b7c779aeaa512ca9dee2b1  usr/sbin/runc\n"
            "aa3afefb678edae3b318286fa62aca9e  usr/share/doc/runc/NOTICE\n");
    t.write("info/coreutils:amd64.md5sums",
            "0123456789abcdef0123456789abcdef  bin/true\nbroken line\n");
    DpkgRecords d;
    CHECK(d.load((t.path / "info").string(), {"/usr/sbin/runc", "/usr/bin/true"}) == 2);
    auto r = d.find("/usr/sbin/runc");
    REQUIRE(r);
    CHECK(r->package == "runc");
    CHECK(r->md5 == "e872f70025b7c779aeaa512ca9dee2b1");
    auto tr = d.find("/usr/bin/true");
    REQUIRE(tr);
    CHECK(tr->package == "coreutils");
    CHECK_FALSE(d.find("/usr/share/doc/runc/NOTICE"));  // not wanted
    CHECK(usrmerge_alias("/bin/x") == "/usr/bin/x");
    CHECK(usrmerge_alias("/usr/sbin/x") == "/sbin/x");
    CHECK(usrmerge_alias("/opt/x").empty());
}

TEST_CASE("baseline: written atomically with mode 0600, read back, corrupt files rejected",
          "[integrity]") {
    TempDir t;
    const std::string file = (t.path / "state" / "baseline.json").string();
    Baseline b;
    std::string error;
    REQUIRE(b.load(file, error));  // missing: empty, fine
    CHECK(b.entries().empty());
    auto facts = examine_path(t.write("runc", "runtime"), 1024, error);
    REQUIRE(facts);
    b.set("/usr/sbin/runc", BaselineEntry{*facts, "package:runc"});
    REQUIRE(b.save(file, error));

    struct stat st {};

    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777U) == 0600U);
    CHECK_FALSE(fs::exists(file + ".tmp"));
    Baseline back;
    REQUIRE(back.load(file, error));
    REQUIRE(back.find("/usr/sbin/runc"));
    CHECK(back.find("/usr/sbin/runc")->facts.sha256 == facts->sha256);
    CHECK(back.find("/usr/sbin/runc")->trusted_by == "package:runc");

    std::ofstream(file) << "{\"version\": 1, \"files\": [{\"path\": \"/x\", \"sha256\": \"zz\"";
    Baseline bad;
    CHECK_FALSE(bad.load(file, error));
    CHECK(error.find("corrupt") != std::string::npos);
    CHECK(bad.entries().empty());
}

TEST_CASE("an ordinary exec's waiting check is small: the byte bound holds thousands",
          "[integrity][memory]") {
    TempDir t;
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    IntegrityMonitor m(cfg, (t.path / "proc").string());
    const auto bit = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy);
    std::size_t taken = 0;
    for (int i = 0; i < 4000; ++i) {  // the worker is not started: nothing leaves the queue
        taken += m.submit({exec_of("/tmp/x/runc", 1000 + i), "r", bit}) ? 1 : 0;
    }
    // A check is its event and what it names, not room for a re-examined alert it does not
    // carry (1.8 KB of members each, when that was held inline: under 900 fitted).
    CHECK(taken >= 2000);
    CHECK(m.queued_bytes() <= IntegrityMonitor::kQueueBytes);
    CHECK(m.stats().dropped == 4000 - taken);
}

TEST_CASE("content checks waiting for the worker are bounded in bytes, not only in number",
          "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    IntegrityMonitor m(cfg, (t.path / "proc").string());
    const auto bit = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy);
    // Events of 64 KiB (a long cwd and paths): far fewer than queue_size (4096) fit the bytes.
    const auto big = [&](int pid) {
        audit::Event e = exec_of("/tmp/x/runc", pid);
        e.cwd = std::string(32 * 1024, 'c');
        e.paths.push_back(audit::PathItem{0, std::string(32 * 1024, 'p'), "NORMAL", 1, "fe:00"});
        return e;
    };
    std::size_t taken = 0;
    std::size_t refused = 0;
    for (int i = 0; i < 200; ++i) {  // the worker is not started: nothing leaves the queue
        (m.submit({big(1000 + i), "r", bit}) ? taken : refused)++;
    }
    // kQueueBytes of 64 KiB checks (and their members)
    CHECK(taken >= IntegrityMonitor::kQueueBytes / (80 * 1024));
    CHECK(taken < IntegrityMonitor::kQueueBytes / (64 * 1024));
    CHECK(refused == 200 - taken);
    CHECK(m.stats().dropped == refused);
    CHECK(m.queued_bytes() <= IntegrityMonitor::kQueueBytes);
    CHECK(m.queued_bytes() > IntegrityMonitor::kQueueBytes - 70 * 1024);
    // A small check still fits where a big one does not ...
    CHECK_FALSE(m.submit({big(2000), "r", bit}));
    CHECK(m.submit({exec_of("/tmp/y/runc", 3000), "r", bit}));
    // ... and once the worker has taken them, the bytes are free again.
    m.start({runc}, {"runc"});
    m.drain();
    CHECK(m.queued_bytes() == 0);
    CHECK(m.stats().checked == taken + 1);
    CHECK(m.submit({big(2001), "r", bit}));
    m.drain();
    CHECK(m.queued_bytes() == 0);
}

TEST_CASE("a waiting check counts each string of an argv as its text and a std::string",
          "[integrity]") {
    TempDir t;
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    IntegrityMonitor m(cfg, (t.path / "proc").string());  // not started: nothing leaves
    const auto bit = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy);
    audit::Event e = exec_of("/tmp/x/runc", 1000);
    e.argv.clear();
    REQUIRE(m.submit({e, "r", bit}));
    const std::size_t bare = m.queued_bytes();
    e.argv = {"runc", "--version"};
    e.proctitle = {"", "abc"};
    REQUIRE(m.submit({e, "r", bit}));
    CHECK(m.queued_bytes() == 2 * bare + 4 * sizeof(std::string) + 4 + 9 + 3);
    // A re-examined alert's argv and its ancestors' likewise.
    REQUIRE(m.examine(Alert{}, 0));
    const std::size_t alert_bare = m.queued_bytes() - (2 * bare + 4 * sizeof(std::string) + 16);
    Alert a;
    a.process.argv = {"sh", "-c", "id"};
    ProcessRef parent;
    parent.argv = {"bash"};
    a.ancestry.push_back(parent);
    const std::size_t before = m.queued_bytes();
    REQUIRE(m.examine(std::move(a), 0));
    CHECK(m.queued_bytes() - before ==
          alert_bare + 3 * sizeof(std::string) + 6 + sizeof(ProcessRef) + sizeof(std::string) + 4);
}

TEST_CASE("content checks: a renamed copy is recognised, an untrusted runc is not", "[integrity]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    const std::string copy = t.write("tmp/.x/kworker", "#!runtime v1\n");
    const std::string other = t.write("home/u/bin/runc", "#!impostor!!\n");  // same size
    const std::string same_size = t.write("usr/bin/tool", "#!something\n\n");
    IntegrityConfig cfg;
    cfg.files.clear();  // not the host's docker/containerd files
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    const fs::path proc = t.path / "proc";
    IntegrityMonitor m(cfg, proc.string());
    proc_exe(proc, 10, copy);
    proc_exe(proc, 11, other);
    proc_exe(proc, 12, runc);
    proc_exe(proc, 13, same_size);
    m.start({runc}, {"runc"});
    const std::uint32_t both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                               static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);
    CHECK(m.submit({exec_of(copy, 10), "r", both}));
    CHECK(m.submit({exec_of(other, 11), "r", both}));
    CHECK(m.submit({exec_of(runc, 12), "r", both}));
    CHECK(m.submit({exec_of(same_size, 13), "r", both}));
    m.drain();
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 2);
    CHECK(v[0].event.exe == copy);
    CHECK(v[0].integrity.recognized_as == runc);
    CHECK(v[0].integrity.trusted);
    CHECK(v[0].note.find("its content is " + runc) != std::string::npos);
    CHECK(v[1].event.exe == other);
    CHECK_FALSE(v[1].integrity.trusted);
    CHECK(v[1].note.find("matches no runtime binary") != std::string::npos);
    const auto s = m.stats();
    CHECK(s.baseline_files == 1);
    CHECK(s.checked == 4);
    CHECK(s.hashed == 4);  // the copy, the impostor, the same-size tool, runc itself (named runc)
    m.stop();
    // The baseline survives: trust on first use is kept by the next start.
    Baseline b;
    std::string error;
    REQUIRE(b.load(cfg.state_file, error));
    REQUIRE(b.find(runc));
    CHECK(b.find(runc)->trusted_by == "baseline");
}

TEST_CASE("content checks never open a path the record names: a gone program is unverifiable",
          "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    // another file, same content
    const std::string elsewhere = t.write("other/runc", "#!runtime v1\n");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    IntegrityMonitor m(cfg, (t.path / "proc").string());  // the programs are gone from /proc
    m.start({runc}, {"runc"});
    m.drain();
    const auto both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                      static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);
    // (a) A container's own /usr/sbin/runc (its overlay inode): the host's file of that name is
    // not what it ran, so it is not read in its place.
    CHECK(m.submit(request(exec_of(runc, 30), both, id_of(elsewhere))));
    // (b) A host path swapped for a FIFO after the exec: never opened (a blocking open).
    const fs::path fifo = t.path / "tmp" / "runc";
    fs::create_directories(fifo.parent_path());
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(m.submit(request(exec_of(fifo.string(), 31), both)));
    m.drain();
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 2);
    for (const auto& x : v) {
        CHECK_FALSE(x.integrity.trusted);
        CHECK(x.note.find("unverifiable") != std::string::npos);
    }
    CHECK(m.stats().unverifiable == 2);
    CHECK(m.stats().hashed == 0);  // nothing read for either
    m.stop();
}

TEST_CASE(
    "content checks: a host program gone at once is read at its path only if it is the file it ran",
    "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    // `kworker --version`
    const std::string copy = t.write("tmp/.x/kworker", "#!runtime v1\n");
    // replaced since the exec
    const std::string swapped = t.write("tmp/.y/kworker", "#!runtime v1\n");
    // a container's process
    const std::string theirs = t.write("ctr/tmp/kworker", "#!runtime v1\n");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    IntegrityMonitor m(cfg, (t.path / "proc").string());  // every program is gone from /proc
    m.start({runc}, {"runc"});
    m.drain();
    const auto copy_check = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy);
    auto host = [&](const std::string& exe,
                    int pid,
                    std::pair<std::string, std::uint64_t> image,
                    bool host_process) {
        auto r = request(exec_of(exe, pid), copy_check, std::move(image));
        r.host_process = host_process;
        return r;
    };
    CHECK(m.submit(host(copy, 40, id_of(copy), true)));
    CHECK(m.submit(host(swapped, 41, id_of(runc), true)));    // the path holds another inode now
    CHECK(m.submit(host(theirs, 42, id_of(theirs), false)));  // not the host's path space
    fs::create_directory_symlink(t.path / "tmp" / ".x", t.path / "via");
    // a symlink now on the way
    CHECK(m.submit(host((t.path / "via" / "kworker").string(), 43, id_of(copy), true)));
    m.drain();
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].event.exe == copy);
    CHECK(v[0].integrity.recognized_as == runc);
    CHECK(m.stats().hashed == 1);
    m.stop();
}

TEST_CASE("content checks: a package update is verified against dpkg and the baseline follows it",
          "[integrity]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "runtime v1\n");
    IntegrityConfig cfg;
    cfg.files.clear();  // not the host's docker/containerd files
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "dpkg").string();
    fs::create_directories(cfg.dpkg_info_dir);
    IntegrityMonitor m(cfg, (t.path / "noproc").string());
    m.start({runc}, {"runc"});
    m.drain();
    // The package manager installs v2 and records its md5.
    t.write("usr/sbin/runc", "runtime v2\n");
    std::string error;
    const auto v2 = examine_path(runc, 1024, error);
    REQUIRE(v2);
    t.write("dpkg/runc.md5sums", v2->md5 + "  " + runc.substr(1) + "\n");
    const auto untrusted = static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);
    // runc is gone from /proc by now (it lives for milliseconds): the host's file of that name
    // is read because it is the very file the exec ran (same device and inode).
    CHECK(m.submit(request(exec_of(runc, 20), untrusted, id_of(runc))));
    m.drain();
    CHECK(m.take_verdicts().empty());
    // Someone else replaces it: no package vouches for v3.
    t.write("usr/sbin/runc", "runtime v3\n");
    CHECK(m.submit(request(exec_of(runc, 21), untrusted, id_of(runc))));
    m.drain();
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK_FALSE(v[0].integrity.trusted);
    m.stop();
    Baseline b;
    REQUIRE(b.load(cfg.state_file, error));
    REQUIRE(b.find(runc));
    CHECK(b.find(runc)->facts.sha256 == v2->sha256);
    CHECK(b.find(runc)->trusted_by == "package:runc");
}

TEST_CASE("integrity settings: defaults, and a bad allowlist entry points at its line",
          "[integrity][config]") {
    const auto c = config::load_config_string("outputs: []\n", "c.yaml");
    CHECK(c.integrity.enabled);
    CHECK(c.integrity.state_file == "/var/lib/audisp-docker/baseline.json");
    try {
        (void)config::load_config_string("integrity:\n  allowlist: [abc]\n", "c.yaml");
        FAIL("accepted a bad sha256");
    } catch (const config::ConfigError& e) {
        CHECK(e.format() == "c.yaml:2:14: allowlist: 'abc' is not a sha256 (64 hex digits)");
    }
    const auto u = config::load_config_string(
        "integrity:\n  allowlist: "
        "[BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD]\n",
        "c.yaml");
    CHECK(u.integrity.allowlist.at(0) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("scans: content, mode, owner, missing and new files against the baseline, as alerts",
          "[integrity][scan]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "runtime v1\n");
    const std::string conf = t.write("etc/containerd/config.toml", "version = 2\n");
    const std::string gone = t.write("etc/default/docker", "DOCKER_OPTS=\n");
    t.write("bin/a", "a\n");
    IntegrityConfig cfg;
    cfg.files.clear();  // not the host's docker/containerd files
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "dpkg").string();
    cfg.files = {conf, gone};
    cfg.dirs = {(t.path / "bin").string()};
    fs::create_directories(cfg.dpkg_info_dir);

    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    std::vector<std::unique_ptr<outputs::Sink>> sinks;
    sinks.push_back(std::make_unique<test::CollectSink>(alerts));
    (void)out.replace(std::move(sinks));
    config::Config c;
    c.processes.use_proc = false;
    auto rules = rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules");
    {
        IntegrityMonitor first(cfg, "/nonexistent");
        first.scan_once({runc}, {"runc"});  // the first baseline: nothing to report
        CHECK(first.take_findings().empty());
        CHECK(first.stats().baseline_files == 4);
    }
    // While "the plugin was stopped": config edited, a file removed, runc chmod'ed, one new file.
    t.write("etc/containerd/config.toml", "version = 2\ndisabled_plugins = [\"cri\"]\n");
    fs::remove(gone);
    fs::permissions(runc, fs::perms::set_uid, fs::perm_options::add);
    t.write("bin/b", "b\n");
    IntegrityMonitor m(cfg, "/nonexistent");
    rules::Engine engine(c, rules, out);
    engine.set_integrity(&m);
    m.scan_once({runc}, {"runc"});
    engine.collect_verdicts();
    auto drift = test::alerts_of(alerts, "integrity_drift");
    REQUIRE(drift.size() == 4);
    std::map<std::string, const Alert*> by_path;
    for (const Alert* a : drift) {
        REQUIRE(a->file);
        REQUIRE(a->integrity);
        by_path[a->file->path] = a;
    }
    const Alert* cf = by_path.at(conf);
    CHECK(cf->integrity->change == "content");
    CHECK(cf->file->operation == "write");
    CHECK(cf->severity == Severity::High);
    REQUIRE(cf->integrity->before);
    REQUIRE(cf->integrity->after);
    CHECK(cf->integrity->before->sha256 != cf->integrity->after->sha256);
    CHECK(by_path.at(gone)->integrity->change == "missing");
    CHECK(by_path.at(gone)->file->operation == "unlink");
    CHECK(by_path.at(runc)->integrity->change == "mode");
    // never vouched for, even if the content is
    CHECK(by_path.at(runc)->severity == Severity::High);
    CHECK(by_path.at((t.path / "bin" / "b").string())->integrity->change == "new");
    CHECK(m.stats().drift == 4);
    // Reported once: the baseline now holds the new state.
    m.scan_once({runc}, {"runc"});
    CHECK(m.take_findings().empty());
    // A package update: dpkg's record vouches for the new content, so it is info, not a page.
    t.write("etc/containerd/config.toml", "version = 3\n");
    std::string error;
    const auto v3 = examine_path(conf, 1024, error);
    REQUIRE(v3);
    t.write("dpkg/containerd.md5sums", v3->md5 + "  " + conf.substr(1) + "\n");
    alerts.clear();
    m.scan_once({runc}, {"runc"});
    engine.collect_verdicts();
    drift = test::alerts_of(alerts, "integrity_drift");
    REQUIRE(drift.size() == 1);
    CHECK(drift[0]->severity == Severity::Info);
    CHECK(drift[0]->integrity->trusted_by == "package:containerd");
    CHECK(std::find(drift[0]->tags.begin(), drift[0]->tags.end(), "authorized_update") !=
          drift[0]->tags.end());
}

TEST_CASE("real time: a tamper alert on a monitored file comes back with before and after",
          "[integrity]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "runtime v1\n");
    IntegrityConfig cfg;
    cfg.files.clear();  // not the host's docker/containerd files
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "dpkg").string();
    IntegrityMonitor m(cfg, "/nonexistent");
    m.start({runc}, {"runc"});
    m.drain();
    std::string error;
    const auto v1 = examine_path(runc, 1024, error);
    REQUIRE(v1);
    CHECK(m.monitors(runc, 0));
    CHECK(m.monitors("/hostsbin/runc", v1->inode));  // a bind mount's name, the same inode
    CHECK_FALSE(m.monitors("/tmp/other", 0));
    t.write("usr/sbin/runc", "runtime v1 + payload\n");  // appended in place: same inode
    Alert a;
    a.rule_id = "runtime_binary_tampered";
    a.summary = "runtime binary written";
    a.file = FileRef{"/hostsbin/runc", "write"};
    REQUIRE(m.examine(std::move(a), v1->inode));
    m.drain();
    auto ready = m.take_ready();
    REQUIRE(ready.size() == 1);
    REQUIRE(ready[0].integrity);
    const IntegrityRef& ir = *ready[0].integrity;
    CHECK(ir.change == "content");
    REQUIRE(ir.before);
    REQUIRE(ir.after);
    CHECK(ir.before->sha256 == v1->sha256);
    CHECK(ir.after->sha256 != v1->sha256);
    CHECK_FALSE(ir.trusted);
    CHECK(ready[0].summary.find("nothing vouches for it") != std::string::npos);
    // The baseline took the new state: a scan does not report it again.
    m.stop();
    IntegrityMonitor again(cfg, "/nonexistent");
    again.scan_once({runc}, {"runc"});
    CHECK(again.take_findings().empty());
}

TEST_CASE("real time: a change to a monitored file no other rule covers is integrity_drift",
          "[integrity]") {
    TempDir t;
    const std::string tool = t.write("opt/bin/tool", "tool v1\n");
    IntegrityConfig cfg;
    cfg.files = {tool};
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "dpkg").string();
    IntegrityMonitor m(cfg, "/nonexistent");
    m.start({}, {});
    m.drain();
    std::vector<Alert> alerts;
    outputs::Dispatcher out;
    std::vector<std::unique_ptr<outputs::Sink>> sinks;
    sinks.push_back(std::make_unique<test::CollectSink>(alerts));
    (void)out.replace(std::move(sinks));
    config::Config c;
    c.processes.use_proc = false;
    rules::Engine engine(c, rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules"), out);
    engine.set_integrity(&m);
    fs::permissions(tool, fs::perms::set_uid, fs::perm_options::add);
    audit::Event e;
    e.serial = 7;
    e.has_syscall = true;
    e.arch = 0xc000003e;
    e.syscall = audit::syscall_number(e.arch, "fchmodat").value();
    e.success = true;
    e.pid = 4242;
    e.ppid = 1;
    e.exe = "/usr/bin/chmod";
    e.cwd = "/";
    audit::PathItem p;
    p.item = 0;
    p.name = tool;
    p.nametype = "NORMAL";
    e.paths.push_back(p);
    e.record_types = {1300, 1302};
    engine.on_event(e);
    m.drain();
    engine.collect_verdicts();
    const auto drift = test::alerts_of(alerts, "integrity_drift");
    REQUIRE(drift.size() == 1);
    REQUIRE(drift[0]->integrity);
    CHECK(drift[0]->integrity->change == "mode");
    CHECK(drift[0]->file->operation == "chmod");
    CHECK(drift[0]->process.exe == "/usr/bin/chmod");
    CHECK(drift[0]->severity == Severity::High);
    INFO(drift[0]->summary);
    CHECK(drift[0]->summary.starts_with(
        tool + ": mode differs from the baseline (nothing vouches for it)"));
    CHECK(alerts.size() == 1);
}

TEST_CASE("package copies: a program dpkg installed, run from elsewhere, is known by its md5",
          "[integrity]") {
    if (!fs::exists("/usr/bin/true") || fs::is_symlink("/usr/bin/true")) {
        WARN("skipped: needs /usr/bin/true");
        return;
    }
    TempDir t;
    std::string error;
    const auto real = examine_path("/usr/bin/true", 64 * 1024 * 1024, error);
    REQUIRE(real);
    // dpkg's record, as coreutils' md5sums lists it (relative to /), and one for a file this
    // host does not have (left out of the index).
    t.write("dpkg/coreutils.md5sums",
            real->md5 + "  usr/bin/true\n" + real->md5 + "  usr/share/doc/x\n");
    t.write("dpkg/ghost.md5sums", "0123456789abcdef0123456789abcdef  usr/bin/not-on-this-host\n");
    const std::string copy = (t.path / "tmp" / "crond").string();
    fs::create_directories(t.path / "tmp");
    fs::copy_file("/usr/bin/true", copy);
    std::string other(real->size, 'x');  // the same size, other content
    const std::string same_size = t.write("tmp/other", other);
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "dpkg").string();
    const fs::path proc = t.path / "proc";
    IntegrityMonitor m(cfg, proc.string());
    proc_exe(proc, 20, copy);
    proc_exe(proc, 21, "/usr/bin/true");
    proc_exe(proc, 22, same_size);
    CHECK_FALSE(m.package_copy_candidate(copy));  // before the index is read: nothing
    m.start({}, {});
    m.drain();
    CHECK(m.package_copy_candidate(copy));
    CHECK_FALSE(m.package_copy_candidate("/usr/bin/true"));
    CHECK_FALSE(m.package_copy_candidate("/bin/true"));  // the other spelling on a /usr-merged host
    const auto bit = static_cast<std::uint32_t>(ContentCheck::PackageCopy);
    CHECK(m.submit({exec_of(copy, 20), "r", bit}));
    CHECK(m.submit({exec_of("/usr/bin/true", 21), "r", bit}));
    CHECK(m.submit({exec_of(same_size, 22), "r", bit}));
    m.drain();
    auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].event.exe == copy);
    CHECK(v[0].integrity.recognized_as == "/usr/bin/true");
    CHECK(v[0].integrity.trusted_by == "package:coreutils");
    CHECK(v[0].note.find("of package coreutils") != std::string::npos);
    m.stop();
}

TEST_CASE("package index: only executable programs of the binary directories, bounded",
          "[integrity]") {
    TempDir t;
    std::string error;
    const auto real = examine_path("/usr/bin/true", 64 * 1024 * 1024, error);
    if (!real) {
        WARN("skipped: needs /usr/bin/true");
        return;
    }
    t.write("dpkg/a.md5sums",
            real->md5 + "  usr/bin/true\n" + "ffffffffffffffffffffffffffffffff  etc/passwd\n" +
                "short line\n" + "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee  usr/bin/../../etc/shadow\n");
    // Another package installing the same content elsewhere (git's /usr/lib/git-core/git).
    t.write("dpkg/b.md5sums", real->md5 + "  usr/lib/b/true-again\n");
    PackageBinaries p;
    CHECK(p.load((t.path / "dpkg").string(), {}) == 1);
    CHECK(p.is_package_path("/usr/bin/true"));
    CHECK(p.is_package_path("/usr/lib/b/true-again"));
    CHECK_FALSE(p.is_package_path("/etc/passwd"));
    CHECK(p.has_size(real->size));
    REQUIRE(p.find(real->md5));
    CHECK(p.find(real->md5)->package == "a");
    PackageBinaries skipped;
    CHECK(skipped.load((t.path / "dpkg").string(), {"/usr/bin/true"}) == 0);
}

TEST_CASE("content checks: a process that exec'd again since is not judged by its new program",
          "[integrity][hostile]") {
    // `bash -c '/tmp/x/runc --version'`: bash becomes the copy under the same pid; bash's exec
    // event, read after that, must not see the copy's content as bash's.
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    const std::string copy = t.write("tmp/x/runc", "#!runtime v1\n");  // named runc, elsewhere
    const std::string shell = t.write("usr/bin/shell", "#!a shell\n....");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    const fs::path proc = t.path / "proc";
    IntegrityMonitor m(cfg, proc.string());
    proc_exe(proc, 30, copy);  // pid 30 runs the copy now
    m.start({runc}, {"runc"});
    const std::uint32_t both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                               static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);
    auto with_item = [](audit::Event e, const std::string& file) {
        audit::PathItem p;
        p.item = 0;
        p.nametype = "NORMAL";
        const auto id = id_of(file);
        p.dev = id.first;
        p.inode = id.second;
        e.paths.push_back(p);
        return e;
    };
    CHECK(m.submit({with_item(exec_of(shell, 30), shell), "r", both}));  // the shell's exec
    CHECK(m.submit({with_item(exec_of(copy, 30), copy), "r", both}));    // then the copy's
    m.drain();
    auto v = m.take_verdicts();
    // Only the copy: a runtime binary's content at another path, even under the runtime's name.
    REQUIRE(v.size() == 1);
    CHECK(v[0].event.exe == copy);
    CHECK(v[0].integrity.recognized_as == runc);
    m.stop();
}

TEST_CASE("stop: a first baseline being hashed at the scan rate is cut short, and not saved",
          "[integrity]") {
    TempDir t;
    // 6 MiB at 1 MiB/s: the start-up scan alone would take about 6 s.
    const std::string runc = t.write("usr/sbin/runc", std::string(6 * 1024 * 1024, 'r'));
    const std::string dockerd = t.write("usr/sbin/dockerd", std::string(6 * 1024 * 1024, 'd'));
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    cfg.scan_rate_mb_s = 1;
    IntegrityMonitor m(cfg, (t.path / "proc").string());
    m.start({runc, dockerd}, {"runc", "dockerd"});
    const auto t0 = std::chrono::steady_clock::now();
    m.stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    // Hashing the first file and the start of the rate wait may pass; the second file is not
    // reached. (Bound far from both: the whole scan is about 12 s.)
    CHECK(took < std::chrono::seconds(4));
    // a cut first baseline would report "new" files next time
    CHECK_FALSE(fs::exists(cfg.state_file));

    // Positive control: the same scan left to finish saves both files.
    IntegrityConfig fast = cfg;
    fast.scan_rate_mb_s = 1000;
    IntegrityMonitor m2(fast, (t.path / "proc").string());
    m2.start({runc, dockerd}, {"runc", "dockerd"});
    m2.drain();
    m2.stop();
    Baseline b;
    std::string error;
    REQUIRE(b.load(fast.state_file, error));
    CHECK(b.find(runc) != nullptr);
    CHECK(b.find(dockerd) != nullptr);
}

namespace {

audit::Event exec_with_item(const std::string& exe, int pid, const std::string& file) {
    audit::Event e = exec_of(exe, pid);
    e.serial = static_cast<std::uint64_t>(pid);
    audit::PathItem p;
    p.item = 0;
    p.nametype = "NORMAL";
    const auto id = id_of(file);
    p.dev = id.first;
    p.inode = id.second;
    e.paths.push_back(p);
    return e;
}

/// What the engine does with one exec: precheck, then a request for what it did not decide.
bool engine_check(IntegrityMonitor& m,
                  const audit::Event& e,
                  std::uint32_t checks,
                  const std::pair<std::string, std::uint64_t>& image,
                  bool host_process) {
    auto pre = m.precheck(e, e.exe, checks, image, host_process);
    if (pre.decided) {
        return true;
    }
    auto r = request(e, checks, image);
    r.host_process = host_process;
    r.exe = std::move(pre.exe);
    CHECK(m.submit(std::move(r)));
    return false;
}

}  // namespace

TEST_CASE(
    "precheck: execs ruled out by size on the engine thread, the same verdicts as the worker's",
    "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    // runc's content elsewhere
    const std::string copy = t.write("tmp/.x/kworker", "#!runtime v1\n");
    // named runc, other size
    const std::string impostor = t.write("home/u/bin/runc", "#!imposter, longer\n");
    // runc's size, other content
    const std::string same_size = t.write("usr/bin/tool", "#!something\n\n");
    const std::string other = t.write("usr/bin/true", "#!true, a program of its own size\n");
    // exits at once, host's
    const std::string gone_copy = t.write("tmp/.y/kworker", "#!runtime v1\n");
    // a container's, gone
    const std::string theirs = t.write("ctr/tmp/kworker", "#!runtime v1\n");
    // became the copy since
    const std::string shell = t.write("usr/bin/shell", "#!a shell\n....");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    const fs::path proc = t.path / "proc";
    proc_exe(proc, 10, copy);
    proc_exe(proc, 11, impostor);
    proc_exe(proc, 12, runc);
    proc_exe(proc, 13, same_size);
    proc_exe(proc, 14, other);
    proc_exe(proc, 17, copy);  // pid 17 exec'd the shell, then the copy
    const std::uint32_t both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                               static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);

    struct Exec {
        audit::Event ev;
        std::pair<std::string, std::uint64_t> image;
        bool host;
    };

    const std::vector<Exec> execs = {
        {exec_with_item(copy, 10, copy), id_of(copy), true},
        {exec_with_item(impostor, 11, impostor), id_of(impostor), true},
        {exec_with_item(runc, 12, runc), id_of(runc), true},
        {exec_with_item(same_size, 13, same_size), id_of(same_size), true},
        {exec_with_item(other, 14, other), id_of(other), true},
        {exec_with_item(gone_copy, 15, gone_copy), id_of(gone_copy), true},
        {exec_with_item(theirs, 16, theirs), id_of(theirs), false},
        {exec_with_item(shell, 17, shell), id_of(shell), true},
    };
    auto run = [&](bool with_precheck, IntegrityStats& stats) {
        IntegrityConfig c = cfg;
        c.state_file = (t.path / (with_precheck ? "pre.json" : "worker.json")).string();
        IntegrityMonitor m(c, proc.string());
        // Before the first baseline, nothing is decided on the engine thread.
        CHECK_FALSE(m.precheck(execs[4].ev, other, both, execs[4].image, true).decided);
        m.start({runc}, {"runc"});
        m.drain();
        std::size_t decided = 0;
        for (const auto& x : execs) {
            if (with_precheck) {
                decided += engine_check(m, x.ev, both, x.image, x.host) ? 1 : 0;
            } else {
                auto r = request(x.ev, both, x.image);
                r.host_process = x.host;
                CHECK(m.submit(std::move(r)));
            }
        }
        m.drain();
        std::vector<std::string> out;
        for (const auto& v : m.take_verdicts()) {
            out.push_back(v.event.exe + " " + v.integrity.recognized_as.value_or("-") + " " +
                          (v.integrity.trusted ? "trusted" : "untrusted"));
        }
        stats = m.stats();
        m.stop();
        return std::make_pair(out, decided);
    };
    IntegrityStats worker_stats;
    IntegrityStats pre_stats;
    const auto [worker, none] = run(false, worker_stats);
    const auto [pre, decided] = run(true, pre_stats);
    CHECK(none == 0);
    // The copy, the gone host copy (read at its path: it is the file it ran) and the impostor.
    CHECK(worker == std::vector<std::string>{copy + " " + runc + " trusted",
                                             impostor + " - untrusted",
                                             gone_copy + " " + runc + " trusted"});
    CHECK(pre == worker);
    // Ruled out here: `other` (its size); the container's gone program (unverifiable: its path
    // is not the host's); the shell (its pid runs the copy now, so the shell is read at its
    // path, the very file it ran, and its size is not runc's).
    CHECK(decided == 3);
    CHECK(pre_stats.prechecked == 3);
    CHECK(pre_stats.checked == worker_stats.checked);
    CHECK(pre_stats.unverifiable == worker_stats.unverifiable);
    CHECK(pre_stats.hashed <= worker_stats.hashed);
}

TEST_CASE("precheck: the host's file answers only as the exec's own file, unchanged since it",
          "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    const std::string tool = t.write("usr/bin/tool", "#!a tool of its own size\n");
    const std::string copy = t.write("tmp/a/kworker", "#!runtime v1\n");  // runc's content
    (void)t.write("tmp/b/kworker", "#!benign, of another size\n");
    fs::create_directory_symlink(t.path / "tmp/b", t.path / "tmp/d");
    fs::create_directory_symlink(t.path / "usr/bin", t.path / "tmp/binlink");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    const fs::path proc = t.path / "proc";
    proc_exe(proc, 42, copy);  // the copy's process still runs; the others are gone
    IntegrityMonitor m(cfg, proc.string());
    m.start({runc}, {"runc"});
    m.drain();
    const std::uint32_t both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                               static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);
    // The record's time: after every file's last change (ctime), or before it.
    auto at = [](audit::Event e, std::int64_t sec) {
        e.sec = sec;
        return e;
    };
    const std::int64_t later = ::time(nullptr) + 60;
    // Positive control: the tool, gone, ruled out by its size from the host's file.
    CHECK(engine_check(m, at(exec_with_item(tool, 40, tool), later), both, id_of(tool), true));
    CHECK(m.stats().precheck_by_host_file == 1);
    // Through a symlinked directory: the same file (device and inode), so it answers too.
    const std::string via_link = (t.path / "tmp/binlink/tool").string();
    CHECK(engine_check(m, at(exec_with_item(via_link, 41, tool), later), both, id_of(tool), true));
    CHECK(m.stats().precheck_by_host_file == 2);
    // Changed since the exec (its ctime is newer than the record): not by the host's file.
    (void)engine_check(m, at(exec_with_item(tool, 43, tool), 1000), both, id_of(tool), true);
    CHECK(m.stats().precheck_by_host_file == 2);
    // The copy ran from tmp/d/kworker; that path now leads to another file (tmp/d -> tmp/b,
    // a benign program of another size): no answer from it. The copy is read as it runs.
    const std::string swapped = (t.path / "tmp/d/kworker").string();
    CHECK_FALSE(
        engine_check(m, at(exec_with_item(swapped, 42, copy), later), both, id_of(copy), true));
    CHECK(m.stats().precheck_by_host_file == 2);
    m.drain();
    std::vector<std::string> out;
    for (const auto& v : m.take_verdicts()) {
        out.push_back(v.event.exe + " " + v.integrity.recognized_as.value_or("-"));
    }
    CHECK(out == std::vector<std::string>{swapped + " " + runc});
    m.stop();
}

TEST_CASE(
    "precheck: a program exec'd again in the same batch is not statted again; the next batch looks "
    "anew",
    "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    const std::string tool = t.write("usr/bin/tool", "#!a tool of its own size\n");
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    const fs::path proc = t.path / "proc";
    proc_exe(proc, 20, tool);
    proc_exe(proc, 21, tool);
    IntegrityMonitor m(cfg, proc.string());
    m.start({runc}, {"runc"});
    m.drain();
    const std::uint32_t both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                               static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);
    const auto id = id_of(tool);
    CHECK(engine_check(m, exec_with_item(tool, 20, tool), both, id, true));
    CHECK(engine_check(m, exec_with_item(tool, 21, tool), both, id, true));
    CHECK(m.stats().prechecked == 2);
    CHECK(m.stats().precheck_batch_hits == 1);
    // Another name for the same file is not the same question (the checks depend on the name).
    CHECK(
        engine_check(m, exec_with_item(t.path.string() + "/other-name", 21, tool), both, id, true));
    CHECK(m.stats().precheck_batch_hits == 1);
    // The batch ends; the file now has runc's content (same inode, rewritten in place): the
    // next batch's exec is statted again and goes to the worker, which finds the copy.
    m.flush_submissions();
    { std::ofstream(tool, std::ios::binary | std::ios::trunc) << "#!runtime v1\n"; }
    REQUIRE(id_of(tool) == id);
    CHECK_FALSE(engine_check(m, exec_with_item(tool, 20, tool), both, id, true));
    m.drain();
    const auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].integrity.recognized_as == runc);
    CHECK(m.stats().precheck_batch_hits == 1);
    m.stop();
}

TEST_CASE(
    "precheck: a host program unchanged since its exec is ruled out by its file, without /proc; "
    "one changed since is not",
    "[integrity][hostile]") {
    TempDir t;
    const std::string runc = t.write("usr/sbin/runc", "#!runtime v1\n");
    const std::string tool = t.write("usr/bin/tool", "#!a tool of its own size\n");
    const std::string copy = t.write("usr/bin/kworker", "#!runtime v1\n");  // runc's size
    IntegrityConfig cfg;
    cfg.files.clear();
    cfg.state_file = (t.path / "baseline.json").string();
    cfg.dpkg_info_dir = (t.path / "nodpkg").string();
    const fs::path proc = t.path / "proc";  // empty: every process is gone
    fs::create_directories(proc);
    IntegrityMonitor m(cfg, proc.string());
    m.start({runc}, {"runc"});
    m.drain();
    const std::uint32_t both = static_cast<std::uint32_t>(ContentCheck::RuntimeCopy) |
                               static_cast<std::uint32_t>(ContentCheck::UntrustedRuntime);

    struct stat st {};

    REQUIRE(::stat(tool.c_str(), &st) == 0);
    auto at = [&](const std::string& exe, int pid, std::int64_t sec) {
        audit::Event e = exec_with_item(exe, pid, exe);
        e.sec = sec;
        e.milli = 0;
        return e;
    };
    // Exec'd a while after the file's last change: ruled out by the host's file.
    CHECK(engine_check(m, at(tool, 50, st.st_ctim.tv_sec + 5), both, id_of(tool), true));
    CHECK(m.stats().precheck_by_host_file == 1);
    m.flush_submissions();  // a new batch: nothing remembered from the last one
    // The file changed after the exec (its ctime is newer than the record): not taken from
    // the host's file (decided the /proc way: gone, read at its path, not runc's size).
    CHECK(engine_check(m, at(tool, 51, st.st_ctim.tv_sec - 5), both, id_of(tool), true));
    CHECK(m.stats().precheck_by_host_file == 1);
    CHECK(m.stats().prechecked == 2);
    m.flush_submissions();
    // Unchanged since, but of a runtime binary's size: the worker reads it and finds the copy.
    CHECK_FALSE(engine_check(m, at(copy, 52, st.st_ctim.tv_sec + 5), both, id_of(copy), true));
    // A container's process, gone: never the host's file (its path is the container's).
    const auto unverifiable = m.stats().unverifiable;
    CHECK(engine_check(m, at(tool, 53, st.st_ctim.tv_sec + 5), both, id_of(tool), false));
    CHECK(m.stats().unverifiable == unverifiable + 1);
    CHECK(m.stats().precheck_by_host_file == 1);
    m.drain();
    const auto v = m.take_verdicts();
    REQUIRE(v.size() == 1);
    CHECK(v[0].event.exe == copy);
    CHECK(v[0].integrity.recognized_as == runc);
    m.stop();
}

TEST_CASE("util::Digest: sha256 and md5 in hex, in one piece or streamed", "[util][integrity]") {
    using adock::util::Digest;
    CHECK(adock::util::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(adock::util::sha256_hex("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    Digest sha(Digest::Kind::Sha256);
    Digest md5(Digest::Kind::Md5);
    REQUIRE(sha.ok());
    REQUIRE(md5.ok());
    for (const std::string_view part : {"a", "", "bc"}) {
        CHECK(sha.update(part));
        CHECK(md5.update(part));
    }
    CHECK(sha.finish_hex() == adock::util::sha256_hex("abc"));
    CHECK(md5.finish_hex() == "900150983cd24fb0d6963f7d28e17f72");
    // A NUL is a byte like any other (argv_sha256 separates arguments with one).
    CHECK(adock::util::sha256_hex(std::string_view("a\0b", 3)) != adock::util::sha256_hex("ab"));
    const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    CHECK(adock::util::hex(bytes, sizeof bytes) == "000fa5ff");
}
