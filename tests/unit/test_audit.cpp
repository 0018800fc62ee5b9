// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "audit/event.hpp"
#include "audit/framer.hpp"
#include "audit/parser.hpp"
#include "audit/pipeline.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

using namespace adock::audit;
using namespace std::chrono_literals;

namespace {

/// The production pipeline, collecting its events.
struct Collected {
    std::vector<Event> events;
    adock::audit::Pipeline run{2000ms, 4096, [this](Event&& e) { events.push_back(std::move(e)); }};

    void feed(const std::string& text, Framer::Clock::time_point now = Framer::Clock::now()) {
        run.feed(text, now);
    }
};

using adock::test::slurp;

const std::string kCorpus = AUDISP_DOCKER_SHARED_DIR "/testdata/corpus";

}  // namespace

TEST_CASE("decode_value handles quoted, hex and null values", "[audit]") {
    CHECK(decode_value("\"/usr/bin/ls\"") == "/usr/bin/ls");
    CHECK(decode_value("2F746D702F782079") == "/tmp/x y");
    CHECK(decode_value("(null)") == std::nullopt);
    CHECK(decode_value("\"\"") == "");
    CHECK(decode_value("abc") == "abc");    // odd length: not hex
    CHECK(decode_value("zz11") == "zz11");  // not hex digits
    CHECK(split_nul(std::string("a\0b\0c", 5)) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("syscall names are decoded with the record's arch", "[audit]") {
    CHECK(syscall_name(0xc000003eU, 59) == "execve");
    CHECK(syscall_name(0x40000003U, 11) == "execve");
    CHECK(syscall_name(0xc000003eU, 99999) == "unknown(99999)");
    CHECK(syscall_number(0xc000003eU, "mkdir") == 83);
}

TEST_CASE("rfc3339 renders UTC with milliseconds", "[audit]") {
    CHECK(rfc3339(1615114232, 375) == "2021-03-07T10:50:32.375Z");
}

TEST_CASE("headers: node prefix, type, stamp; malformed lines rejected", "[audit]") {
    RecordHeader h;
    REQUIRE(
        parse_header("node=work type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e", h));
    CHECK(h.node == "work");
    CHECK(h.type == 1300);
    CHECK(h.sec == 1615114232);
    CHECK(h.milli == 375);
    CHECK(h.serial == 15558);
    REQUIRE(parse_header("type=UNKNOWN[1337] msg=audit(1.002:3): x", h));
    CHECK(h.type == 1337);
    CHECK_FALSE(parse_header("garbage", h));
    CHECK_FALSE(parse_header("type=SYSCALL msg=audit(abc:1): ", h));
    CHECK_FALSE(parse_header("type=SYSCALL msg=audit(1.2:3", h));
    CHECK_FALSE(parse_header("type=SYSCALL", h));
}

TEST_CASE("an enriched exec event decodes exactly (laurel corpus)", "[audit][corpus]") {
    Collected p;
    p.feed(slurp(kCorpus + "/laurel/record-execve.txt"));
    p.run.flush();
    REQUIRE(p.events.size() == 1);
    const Event& e = p.events[0];
    CHECK(e.node == "work");
    CHECK(e.serial == 15558);
    CHECK(e.is_exec());
    CHECK(e.success == true);
    CHECK(e.pid == 10884);
    CHECK(e.ppid == 10883);
    CHECK(e.auid == 1000U);
    CHECK(e.uid == 0U);
    CHECK(e.comm == "whoami");
    CHECK(e.exe == "/usr/bin/whoami");
    CHECK_FALSE(e.key.has_value());
    CHECK(e.argv == std::vector<std::string>{"whoami"});
    CHECK(e.cwd == "/home/user/tmp");
    REQUIRE(e.paths.size() == 2);
    CHECK(e.paths[0].name == "/usr/bin/whoami");
    CHECK(e.paths[0].inode == 261214);
    CHECK(e.paths[0].dev == "ca:03");
    CHECK(e.paths[0].mode == 0100755);
    // The EXECVE records carry the whole argv: the framer does not hand libauparse the title.
    CHECK(e.proctitle.empty());
    CHECK(std::count(e.record_types.begin(), e.record_types.end(), 1327) == 0);
}

TEST_CASE("long arguments split as aN_len / aN[i] are joined", "[audit][corpus]") {
    Collected p;
    p.feed(slurp(kCorpus + "/laurel/record-execve-long.txt"));
    p.run.flush();
    REQUIRE(p.events.size() == 1);
    const Event& e = p.events[0];
    REQUIRE(e.argv.size() == 2);
    CHECK(e.argv[0] == "/bin/echo");
    // a1_len counts hex digits: 16384 of them are 8192 bytes, in three records whose pieces
    // start with 'b', 'd' and 'f'.
    CHECK(e.argv[1].size() == 8192);
    CHECK(e.argv[1].front() == 'b');
    CHECK(e.argv[1].find_first_not_of('a', 1) == 3731);
    CHECK(e.argv[1].find('d') != std::string::npos);
    CHECK(e.argv[1].find('f') != std::string::npos);
    CHECK_FALSE(e.argv_truncated);
}

TEST_CASE("hex-encoded arguments decode (elastic corpus)", "[audit][corpus]") {
    Collected p;
    p.feed(slurp(kCorpus + "/elastic-beats/filebeat/execve-hex-arg.log"));
    p.run.flush();
    REQUIRE_FALSE(p.events.empty());
    const Event& e = p.events[0];
    REQUIRE(e.argv.size() == 3);
    CHECK(e.argv[0] == "sh");
    CHECK(e.argv[2] == "echo \\\"arg hex encoded\\\"");
}

TEST_CASE("every corpus file goes through without a crash", "[audit][corpus]") {
    namespace fs = std::filesystem;
    std::size_t files = 0;
    std::size_t events = 0;
    for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
        if (!entry.is_regular_file() || entry.path().filename() == "SOURCES.md") {
            continue;
        }
        Collected p;
        p.feed(slurp(entry.path().string()));
        p.run.flush();
        ++files;
        events += p.events.size();
    }
    CHECK(files > 100);
    CHECK(events > 1000);
}

TEST_CASE("framer: interleaved events complete on their own EOE", "[audit][framer]") {
    Collected p;
    p.feed(
        "type=SYSCALL msg=audit(10.000:1): arch=c000003e syscall=59 success=yes exit=0 pid=11 "
        "ppid=1 comm=\"a\" exe=\"/a\" key=(null)\n"
        "type=SYSCALL msg=audit(10.000:2): arch=c000003e syscall=59 success=yes exit=0 pid=22 "
        "ppid=1 comm=\"b\" exe=\"/b\" key=(null)\n"
        "type=EXECVE msg=audit(10.000:2): argc=1 a0=\"b\"\n"
        "type=EXECVE msg=audit(10.000:1): argc=1 a0=\"a\"\n"
        "type=EOE msg=audit(10.000:2): \n");
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].pid == 22);
    CHECK(p.events[0].argv == std::vector<std::string>{"b"});
    p.feed("type=EOE msg=audit(10.000:1): \n");
    REQUIRE(p.events.size() == 2);
    CHECK(p.events[1].pid == 11);
    CHECK(p.run.framer_stats().completed_by_eoe == 2);
}

TEST_CASE("framer: libauparse is not handed ENRICHED translations, nor an exec's title",
          "[audit][framer]") {
    Collected p;
    // An exec (EXECVE present: its PROCTITLE is not needed) and a chmod (its title is its argv).
    p.feed(
        "type=SYSCALL msg=audit(10.000:1): arch=c000003e syscall=59 success=yes exit=0 pid=11 "
        "ppid=1 uid=0 comm=\"a\" exe=\"/a\" key=(null)\x1d"
        "ARCH=x86_64 SYSCALL=execve UID=\"root\"\n"
        "type=EXECVE msg=audit(10.000:1): argc=2 a0=\"a\" a1=\"-x\"\n"
        "type=PROCTITLE msg=audit(10.000:1): proctitle=61002D78\n"
        "type=SYSCALL msg=audit(10.000:2): arch=c000003e syscall=90 success=yes exit=0 pid=12 "
        "ppid=1 uid=0 comm=\"chmod\" exe=\"/bin/chmod\" key=(null)\x1d"
        "ARCH=x86_64 SYSCALL=chmod UID=\"root\"\n"
        "type=PROCTITLE msg=audit(10.000:2): proctitle=63686D6F6400372F74\n");
    REQUIRE(p.events.size() == 2);
    CHECK(p.events[0].argv == std::vector<std::string>{"a", "-x"});
    CHECK(p.events[0].proctitle.empty());
    CHECK(p.events[0].uid == 0U);  // the raw field, not the translation
    CHECK(p.events[1].proctitle == std::vector<std::string>{"chmod", "7/t"});
    const auto& st = p.run.framer_stats();
    CHECK(st.proctitles_skipped == 1);
    CHECK(st.enriched_bytes_cut == std::string_view("\x1d"
                                                    "ARCH=x86_64 SYSCALL=execve UID=\"root\"")
                                           .size() +
                                       std::string_view("\x1d"
                                                        "ARCH=x86_64 SYSCALL=chmod UID=\"root\"")
                                           .size());
}

TEST_CASE("framer: SYSCALL and PATH records reach libauparse with only the fields detections read",
          "[audit][framer]") {
    const std::string syscall =
        "type=SYSCALL msg=audit(10.000:7): arch=c000003e syscall=59 success=yes exit=0 a0=55e1 "
        "a1=55e2 a2=55e3 a3=8 "
        "items=2 ppid=12 pid=13 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
        "tty=pts0 ses=3 "
        "comm=\"true\" exe=\"/usr/bin/true\" subj=unconfined key=\"adock_exec\"";
    const std::string path =
        "type=PATH msg=audit(10.000:7): item=0 name=\"/bin/true\" inode=1234 dev=fe:01 "
        "mode=0100755 ouid=0 ogid=0 "
        "rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0";
    std::vector<std::string> handed;
    Framer framer(1000ms, 64, [&](std::string_view text) { handed.emplace_back(text); });
    const auto now = Framer::Clock::now();
    framer.feed_line(syscall, now);
    framer.feed_line(path, now);
    framer.feed_line("type=EOE msg=audit(10.000:7): ", now);
    REQUIRE(handed.size() == 1);
    const std::string kept_syscall =
        "type=SYSCALL msg=audit(10.000:7): arch=c000003e syscall=59 success=yes exit=0 a0=55e1 "
        "a1=55e2 a2=55e3 a3=8 "
        "ppid=12 pid=13 auid=1000 uid=0 euid=0 comm=\"true\" exe=\"/usr/bin/true\" "
        "key=\"adock_exec\"";
    const std::string kept_path =
        "type=PATH msg=audit(10.000:7): item=0 name=\"/bin/true\" inode=1234 dev=fe:01 "
        "mode=0100755 ouid=0 "
        "rdev=00:00 nametype=NORMAL";
    CHECK(handed[0] == kept_syscall + "\n" + kept_path + "\ntype=EOE msg=audit(10.000:7): \n");
    CHECK(framer.stats().unused_field_bytes_cut ==
          syscall.size() - kept_syscall.size() + path.size() - kept_path.size());
    CHECK(framer.stats().pending_bytes == 0);
    // What the parser makes of it: every field a detection reads is there.
    Collected p;
    p.feed(syscall + "\n" + path + "\ntype=EOE msg=audit(10.000:7): \n");
    REQUIRE(p.events.size() == 1);
    const Event& e = p.events[0];
    CHECK(e.syscall == 59);
    CHECK(e.success == std::optional<bool>(true));
    CHECK(e.args == std::vector<std::uint64_t>{0x55e1, 0x55e2, 0x55e3, 8});
    CHECK(e.pid == 13);
    CHECK(e.ppid == 12);
    CHECK(e.auid == 1000U);
    CHECK(e.uid == 0U);
    CHECK(e.euid == 0U);
    CHECK(e.comm == "true");
    CHECK(e.exe == "/usr/bin/true");
    CHECK(e.key == std::optional<std::string>("adock_exec"));
    REQUIRE(e.paths.size() == 1);
    CHECK(e.paths[0].name == "/bin/true");
    CHECK(e.paths[0].inode == 1234);
    CHECK(e.paths[0].dev == "fe:01");
    CHECK(e.paths[0].mode == 0100755);
    CHECK(e.paths[0].ouid == 0U);
    CHECK(e.paths[0].nametype == "NORMAL");
    CHECK(e.paths[0].rdev.empty());
}

TEST_CASE(
    "framer: the login user's name from auditd's translation (AUID=), and nothing a record could "
    "forge",
    "[audit][framer][hostile]") {
    Collected p;
    const auto syscall = [](int serial, const std::string& comm, const std::string& tail) {
        return "type=SYSCALL msg=audit(10.000:" + std::to_string(serial) +
               "): arch=c000003e syscall=59 success=yes exit=0 pid=11 ppid=1 auid=1000 uid=0 "
               "comm=" +
               comm + " exe=\"/a\" key=(null)" + tail +
               "\ntype=EOE msg=audit(10.000:" + std::to_string(serial) + "): \n";
    };
    p.feed(syscall(1,
                   "\"a\"",
                   "\x1d"
                   "ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\""));
    p.feed(syscall(2,
                   "\"a\"",
                   "\x1d"
                   "ARCH=x86_64 SYSCALL=execve AUID=\"unset\" UID=\"root\""));
    p.feed(syscall(3, "\"a\"", ""));  // not enriched
    p.feed(syscall(4,
                   "\"a\"",
                   "\x1d"
                   "AUID=\"bad name\" UID=\"root\""));  // not a plain user name
    // A comm trying to be the field: the kernel hex-encodes a value with a space.
    p.feed(syscall(5,
                   "61646F636B5F757365723D726F6F74",
                   "\x1d"
                   "AUID=\"bob\""));
    p.feed(syscall(6,
                   "\"a\"",
                   "\x1d"
                   "AUID=\"" +
                       std::string(33, 'x') + "\""));  // over 32 bytes
    REQUIRE(p.events.size() == 6);
    CHECK(p.events[0].auid_name == "alice");
    CHECK(p.events[0].auid == 1000U);
    CHECK(p.events[1].auid_name.empty());
    CHECK(p.events[2].auid_name.empty());
    CHECK(p.events[3].auid_name.empty());
    CHECK(p.events[4].auid_name == "bob");
    CHECK(p.events[4].comm == "adock_user=root");
    CHECK(p.events[5].auid_name.empty());
}

TEST_CASE("framer: a CWD record with two cwd fields is malformed (libauparse leaks on it)",
          "[audit][framer][hostile]") {
    Collected p;
    p.feed(
        "type=SYSCALL msg=audit(10.000:1): arch=c000003e syscall=90 success=yes exit=0 pid=11 "
        "ppid=1 comm=\"a\" exe=\"/a\" key=(null)\n"
        "type=CWD msg=audit(10.000:1): cwd=\"/tmp/a\" cwd=\"/\"\n"
        "type=EOE msg=audit(10.000:1): \n"
        "type=SYSCALL msg=audit(10.000:2): arch=c000003e syscall=90 success=yes exit=0 pid=12 "
        "ppid=1 comm=\"a\" exe=\"/a\" key=(null)\n"
        "type=CWD msg=audit(10.000:2): cwd=\"/srv\"\n"
        "type=EOE msg=audit(10.000:2): \n");
    REQUIRE(p.events.size() == 2);
    CHECK_FALSE(p.events[0].cwd.has_value());
    CHECK(p.events[1].cwd == std::optional<std::string>("/srv"));
    CHECK(p.run.framer_stats().malformed == 1);
}

TEST_CASE("framer: an event without EOE ages out by stream time and by wall clock",
          "[audit][framer]") {
    Collected p;
    const auto t0 = Framer::Clock::now();
    p.feed(
        "type=SYSCALL msg=audit(10.000:1): arch=c000003e syscall=2 success=no exit=-2 pid=5 ppid=1 "
        "comm=\"x\" exe=\"/x\" key=\"k\"\n",
        t0);
    CHECK(p.events.empty());
    // A record 3 s later in event time ages the first event out.
    p.feed(
        "type=SYSCALL msg=audit(13.000:2): arch=c000003e syscall=2 success=no exit=-2 pid=6 ppid=1 "
        "comm=\"y\" exe=\"/y\" key=\"k\"\n",
        t0);
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].key == "k");
    CHECK(p.events[0].exit == -2);
    CHECK(p.run.framer_stats().completed_by_age == 1);
    p.run.age(t0 + 1s);
    CHECK(p.events.size() == 1);
    p.run.age(t0 + 3s);
    CHECK(p.events.size() == 2);
}

TEST_CASE("framer: bounded number of events in progress", "[audit][framer]") {
    std::size_t done = 0;
    EventParser parser([&](Event&&) { ++done; });
    Framer framer(2000ms, 16, [&](std::string_view t) { parser.parse(t); });
    const auto now = Framer::Clock::now();
    for (int i = 1; i <= 100; ++i) {
        framer.feed_line("type=SYSCALL msg=audit(10.000:" + std::to_string(i) +
                             "): arch=c000003e syscall=2 success=yes exit=3 pid=5 ppid=1 "
                             "comm=\"x\" exe=\"/x\" key=(null)",
                         now);
    }
    CHECK(framer.stats().pending <= 16);
    CHECK(framer.stats().completed_by_pressure >= 84);
    framer.flush();
    CHECK(done == 100);
}

TEST_CASE("framer: malformed lines and NUL bytes are counted, not fatal", "[audit][framer]") {
    Collected p;
    std::string text = "not an audit line\n\n";
    text += std::string("type=EXECVE msg=audit(10.000:7): argc=1 a0=\"x\0y\"\n", 49);
    text += "type=PROCTITLE msg=audit(10.000:7): proctitle=\"x\"\n";
    p.feed(text);
    CHECK(p.run.framer_stats().malformed == 1);
    CHECK(p.run.framer_stats().nul_bytes == 1);
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].argv == std::vector<std::string>{"xy"});
}

TEST_CASE(
    "framer: a lone SECCOMP record (a kill: no SYSCALL, no EOE follows) is handed out at once",
    "[audit][framer]") {
    Collected p;
    p.feed(
        "type=SECCOMP msg=audit(1795358499.682:15470): auid=4294967295 uid=0 gid=0 ses=4294967295 "
        "pid=27680 "
        "comm=\"mkdir\" exe=\"/bin/busybox\" sig=31 arch=c000003e syscall=83 compat=0 ip=0x47b567 "
        "code=0x80000000\n");
    REQUIRE(p.events.size() == 1);
    REQUIRE(p.events[0].seccomp);
    CHECK(p.events[0].seccomp->syscall == 83);
    CHECK(p.events[0].seccomp->code == 0x80000000U);
    CHECK(p.events[0].pid == 27680);
    CHECK(p.events[0].exe == "/bin/busybox");
}

namespace {

const std::string kHostile = AUDISP_DOCKER_SHARED_DIR "/testdata/hostile";

}  // namespace

TEST_CASE(
    "framer: one node's clock ahead does not complete another node's events by age (issue 11 M4)",
    "[audit][framer][hostile]") {
    for (const char* log : {"framer_node_clock_skew.log", "framer_node_clock_skew_control.log"}) {
        Collected p;
        p.feed(slurp(kHostile + "/" + log));
        p.run.flush();
        CAPTURE(log);
        CHECK(p.run.framer_stats().completed_by_age == 0);
        // web1's chmod of runc arrives whole: its PATH record is in the event.
        const Event* chmod = nullptr;
        for (const auto& e : p.events) {
            if (e.node == "web1" && e.syscall == 90) {
                chmod = &e;
            }
        }
        REQUIRE(chmod != nullptr);
        REQUIRE(chmod->paths.size() == 1);
        CHECK(chmod->paths[0].name == "/usr/sbin/runc");
    }
}

TEST_CASE("framer: a stream clock ahead of the real time ages nothing beyond it",
          "[audit][framer][hostile]") {
    std::vector<std::string> done;
    const std::int64_t wall = 1'800'000'000;
    Framer framer(
        2000ms, 4096, [&](std::string_view t) { done.emplace_back(t); }, [&] { return wall; });
    const auto now = Framer::Clock::now();
    framer.feed_line(
        "type=SYSCALL msg=audit(1800000000.000:1): arch=c000003e syscall=90 success=yes exit=0",
        now);
    // The same node, one hour ahead of the real time (a clock stepped forward, or crafted).
    framer.feed_line(
        "type=SYSCALL msg=audit(1800003600.000:2): arch=c000003e syscall=90 success=yes exit=0",
        now);
    CHECK(done.empty());
    CHECK(framer.stats().completed_by_age == 0);
    framer.age(now + 3s);  // the wall clock still ages both
    CHECK(done.size() == 2);
}

TEST_CASE(
    "framer: seconds outside any real range are malformed, later events unaffected (issue 11 L2)",
    "[audit][framer][hostile]") {
    Collected p;
    // Aging arithmetic overflowed on INT64_MAX (UBSan), the calendar year on the other one.
    p.feed(slurp(kHostile + "/ubsan_framer_sec.log"));
    p.feed(
        "type=SYSCALL msg=audit(67767976233532800.001:6): arch=c000003e syscall=90 success=yes "
        "exit=0\n");
    p.feed("type=SYSCALL msg=audit(-5.001:7): arch=c000003e syscall=90 success=yes exit=0\n");
    p.feed(
        "type=SYSCALL msg=audit(1795356300.001:8): arch=c000003e syscall=90 success=yes exit=0 "
        "pid=3\n"
        "type=EOE msg=audit(1795356300.001:8): \n");
    p.run.flush();
    CHECK(p.run.framer_stats().malformed == 4);
    REQUIRE(p.events.size() == 1);
    CHECK(p.events[0].pid == 3);
    CHECK(p.run.framer_stats().completed_by_age == 0);
}

TEST_CASE("framer: one event's kept bytes are capped; its other records still count (issue 11 L4b)",
          "[audit][framer][hostile]") {
    std::vector<std::string> done;
    Framer framer(2000ms, 4096, [&](std::string_view t) { done.emplace_back(t); });
    const auto now = Framer::Clock::now();
    const std::string st = "msg=audit(1795356300.001:77):";
    framer.feed_line(
        "type=SYSCALL " + st + " arch=c000003e syscall=90 success=yes exit=0 items=40 pid=5", now);
    // framer_pending_bytes_gen.py at a tenth of its size: 20 PATH records of 900 KB, no EOE.
    for (int i = 0; i < 20; ++i) {
        framer.feed_line("type=PATH " + st + " item=" + std::to_string(i) + " name=\"/" +
                             std::string(900'000, 'P') +
                             "\" inode=1 dev=fe:00 mode=0100755 nametype=NORMAL",
                         now);
    }
    // A long argv does not push out the records after it.
    for (int i = 0; i < 400; ++i) {
        framer.feed_line("type=EXECVE " + st + " argc=400 a" + std::to_string(i) + "=\"" +
                             std::string(8000, 'A') + "\"",
                         now);
    }
    framer.feed_line("type=CWD " + st + " cwd=\"/\"", now);
    CHECK(framer.stats().pending_bytes <= 2 * Framer::kMaxEventBytes);
    framer.flush();
    REQUIRE(done.size() == 1);
    CHECK(done[0].size() <= 2 * Framer::kMaxEventBytes + 128);
    CHECK(done[0].find("type=CWD") != std::string::npos);  // small records still fit the budget
    CHECK(framer.stats().oversize_records > 0);
    CHECK(framer.stats().pending_bytes == 0);
}
