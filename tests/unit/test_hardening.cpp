// SPDX-License-Identifier: Apache-2.0
// What a hostile container or local user can plant where the plugin writes: crafted spool
// records, a full file system, symlinks and hard links, stale .tmp files.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "outputs/file_sink.hpp"
#include "outputs/spool.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"
#include "util/dir_stream.hpp"
#include "util/errno_text.hpp"
#include "util/safe_file.hpp"
#include "util/safe_read.hpp"
#include "util/unique_fd.hpp"

namespace {

namespace fs = std::filesystem;
using adock::outputs::AlertMessage;
using adock::outputs::Spool;
using adock::test::TempDir;
using namespace std::chrono_literals;

AlertMessage message(const std::string& json) {
    auto alert = std::make_shared<adock::Alert>();
    alert->severity = adock::Severity::High;
    return AlertMessage{alert, std::make_shared<const std::string>(json)};
}

adock::config::OutputConfig file_config(const std::string& path) {
    adock::config::OutputConfig cfg;
    cfg.name = "file-test";
    cfg.type = adock::config::OutputType::File;
    cfg.path = path;
    return cfg;
}

void write_file(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

}  // namespace

TEST_CASE("spool: a crafted record length cannot wrap the offset; the record is cut off",
          "[outputs][spool][hostile]") {
    TempDir tmp;
    const std::string dir = tmp / "s";
    {
        Spool s(dir, 1 << 20);
        REQUIRE(s.append("first") == Spool::Append::Ok);
    }
    std::string seg;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".seg") {
            seg = e.path().string();
        }
    }
    REQUIRE_FALSE(seg.empty());
    {
        // 2^64 - 22: offset + header + length + 1 wraps back onto the record itself.
        std::ofstream out(seg, std::ios::app | std::ios::binary);
        out << "18446744073709551594\n{\"x\":1}\n";
    }
    const auto started = std::chrono::steady_clock::now();
    Spool s(dir, 1 << 20);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(s.pending() == 1);
    CHECK(s.lost() == 1);
    REQUIRE(s.front() == std::optional<std::string>("first"));
    s.pop();
    CHECK(s.empty());
    REQUIRE(s.append("next") == Spool::Append::Ok);
    CHECK(s.front() == std::optional<std::string>("next"));
}

TEST_CASE("spool: its directory is reached without symlinks", "[outputs][spool][hostile]") {
    TempDir tmp;
    fs::create_directories(tmp / "real");
    REQUIRE(::symlink((tmp / "real").c_str(), (tmp / "link").c_str()) == 0);
    CHECK_THROWS(Spool(tmp / "link/out.webhook", 1 << 20));
    CHECK_FALSE(fs::exists(tmp / "real/out.webhook"));
}

TEST_CASE("safe_file: no symlink in any component, no hard link, only our files",
          "[util][hostile]") {
    TempDir tmp;
    fs::create_directories(tmp / "d");
    REQUIRE(::symlink((tmp / "d").c_str(), (tmp / "ln").c_str()) == 0);
    // What open_dir_nofollow says of the symlinked component, to every helper that walks through it
    // (openat's errno: O_DIRECTORY refuses the symlink that O_NOFOLLOW keeps it from following).
    const adock::util::Error via_link{ENOTDIR, tmp / "ln" + ": a symbolic link, not followed"};

    SECTION("a symlinked directory component") {
        const auto appended = adock::util::open_append_nofollow(tmp / "ln/a.jsonl", 0600, true);
        REQUIRE_FALSE(appended);
        CHECK(appended.error() == via_link);
        CHECK_FALSE(fs::exists(tmp / "d/a.jsonl"));
        const auto replaced =
            adock::util::write_file_atomic(tmp / "ln/state.json", "{}", 0600, true, false);
        REQUIRE_FALSE(replaced);
        CHECK(replaced.error() == via_link);
        CHECK_FALSE(fs::exists(tmp / "d/state.json"));
        // Control: the same names through the real directory.
        CHECK(adock::util::open_append_nofollow(tmp / "d/a.jsonl", 0600, true));
        CHECK(adock::util::write_file_atomic(tmp / "d/state.json", "{}", 0600, true, false));
        CHECK(adock::test::slurp(tmp / "d/state.json") == "{}");
    }
    SECTION("open_dir_nofollow: the component at fault and why") {
        write_file(tmp / "file", "");
        CHECK(adock::util::open_dir_nofollow(tmp / "d", false));  // control
        const auto linked = adock::util::open_dir_nofollow(tmp / "ln/x", true);
        REQUIRE_FALSE(linked);
        CHECK(linked.error() == via_link);
        const auto missing = adock::util::open_dir_nofollow(tmp / "none/x", false);
        REQUIRE_FALSE(missing);
        CHECK(missing.error() ==
              adock::util::Error{ENOENT, tmp / "none" + ": No such file or directory"});
        const auto file = adock::util::open_dir_nofollow(tmp / "file/x", true);
        REQUIRE_FALSE(file);
        CHECK(file.error() == adock::util::Error{ENOTDIR, tmp / "file" + ": not a directory"});
        const auto made = adock::util::open_dir_nofollow(tmp / "none/x", true);  // control: made
        REQUIRE(made);
        CHECK(made->valid());
        CHECK(fs::is_directory(tmp / "none/x"));
    }
    SECTION("open_parent_nofollow: the directory and the last component, or why not") {
        const auto where = adock::util::open_parent_nofollow(tmp / "d/a.jsonl", false);
        REQUIRE(where);
        CHECK(where->dir.valid());
        CHECK(where->name == "a.jsonl");
        for (const std::string& bad : {tmp / "d/", tmp / "d/.", tmp / "d/.."}) {
            const auto none = adock::util::open_parent_nofollow(bad, false);
            REQUIRE_FALSE(none);
            CHECK(none.error() == adock::util::Error{0, bad + ": not a file name"});
        }
        const auto linked = adock::util::open_parent_nofollow(tmp / "ln/a.jsonl", false);
        REQUIRE_FALSE(linked);
        CHECK(linked.error() == via_link);
    }
    SECTION("missing directories are made, 0700") {
        std::uint64_t size = 1;
        auto fd = adock::util::open_append_nofollow(tmp / "x/y/a.jsonl", 0600, true, &size);
        REQUIRE(fd);
        CHECK(fd->valid());
        CHECK(size == 0);
        CHECK((fs::status(tmp / "x/y").permissions() & fs::perms::all) == fs::perms::owner_all);
        // not made
        const auto absent = adock::util::open_append_nofollow(tmp / "z/a.jsonl", 0600, false);
        REQUIRE_FALSE(absent);
        CHECK(absent.error() ==
              adock::util::Error{ENOENT, tmp / "z" + ": No such file or directory"});
    }
    SECTION("a hard link is refused") {
        write_file(tmp / "victim", "");
        write_file(tmp / "d/mine.jsonl", "");
        const adock::util::UniqueFd mine(
            ::open((tmp / "d/mine.jsonl").c_str(), O_RDONLY | O_CLOEXEC));
        CHECK(adock::util::check_private_regular(mine.get()));  // control: one link, ours
        REQUIRE(::link((tmp / "victim").c_str(), (tmp / "d/a.jsonl").c_str()) == 0);
        const auto linked = adock::util::open_append_nofollow(tmp / "d/a.jsonl", 0600, true);
        REQUIRE_FALSE(linked);
        CHECK(linked.error() ==
              adock::util::Error{
                  0, tmp / "d/a.jsonl" + ": has 2 hard links, refusing to write to it"});
        const adock::util::UniqueFd dir(
            ::open((tmp / "d").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        const auto not_file = adock::util::check_private_regular(dir.get());
        REQUIRE_FALSE(not_file);
        CHECK(not_file.error() == adock::util::Error{0, "not a regular file"});
        const auto closed = adock::util::check_private_regular(-1);
        REQUIRE_FALSE(closed);
        CHECK(closed.error() == adock::util::Error{EBADF, adock::util::errno_text(EBADF)});
    }
    SECTION("a file owned by someone else is refused") {
        write_file(tmp / "d/a.jsonl", "");
        if (::geteuid() == 0) {
            REQUIRE(::chown((tmp / "d/a.jsonl").c_str(), 4242, 4242) == 0);
            const auto theirs = adock::util::open_append_nofollow(tmp / "d/a.jsonl", 0600, true);
            REQUIRE_FALSE(theirs);
            const std::string why = ": owned by uid 4242, not by us (0), refusing to write to it";
            CHECK(theirs.error() == adock::util::Error{0, tmp / "d/a.jsonl" + why});
        }
    }
    SECTION("a FIFO does not hang the open") {
        REQUIRE(::mkfifo((tmp / "d/a.jsonl").c_str(), 0600) == 0);
        const auto fifo = adock::util::open_append_nofollow(tmp / "d/a.jsonl", 0600, true);
        REQUIRE_FALSE(fifo);
        CHECK(fifo.error() ==
              adock::util::Error{ENXIO, tmp / "d/a.jsonl" + ": " + adock::util::errno_text(ENXIO)});
    }
    SECTION("a symlink as the file itself is refused, not followed") {
        write_file(tmp / "victim", "keep");
        REQUIRE(::symlink((tmp / "victim").c_str(), (tmp / "d/a.jsonl").c_str()) == 0);
        const auto appended = adock::util::open_append_nofollow(tmp / "d/a.jsonl", 0600, true);
        REQUIRE_FALSE(appended);
        CHECK(appended.error() ==
              adock::util::Error{ELOOP, tmp / "d/a.jsonl" + ": a symbolic link, not followed"});
        const auto read = adock::util::read_file_nofollow(tmp / "d/a.jsonl", 10);
        REQUIRE_FALSE(read);
        CHECK(read.error() ==
              adock::util::Error{ELOOP, tmp / "d/a.jsonl" + ": a symbolic link, not followed"});
        CHECK(adock::test::slurp(tmp / "victim") == "keep");
    }
    SECTION("a planted .tmp (a symlink to a victim) is removed, not followed") {
        write_file(tmp / "victim", "keep");
        REQUIRE(::symlink((tmp / "victim").c_str(), (tmp / "d/state.json.tmp").c_str()) == 0);
        REQUIRE(
            adock::util::write_file_atomic(tmp / "d/state.json", "{\"ok\":1}", 0600, false, true));
        CHECK(adock::test::slurp(tmp / "victim") == "keep");
        CHECK(adock::test::slurp(tmp / "d/state.json") == "{\"ok\":1}");
        CHECK_FALSE(fs::exists(fs::symlink_status(tmp / "d/state.json.tmp")));
    }
    SECTION("write_file_atomic: a failure names the path, the old file stays, no .tmp is left") {
        write_file(tmp / "d/state.json", "old");
        // a .tmp that unlinkat cannot remove
        fs::create_directories(tmp / "d/state.json.tmp/full");
        const auto stuck =
            adock::util::write_file_atomic(tmp / "d/state.json", "new", 0600, false, false);
        REQUIRE_FALSE(stuck);
        CHECK(stuck.error() ==
              adock::util::Error{EISDIR,
                                 tmp / "d/state.json.tmp: cannot remove a stale one: " +
                                     adock::util::errno_text(EISDIR)});
        CHECK(adock::test::slurp(tmp / "d/state.json") == "old");
        fs::remove_all(tmp / "d/state.json.tmp");
        // rename(2) cannot replace a non-empty directory
        fs::create_directories(tmp / "d/dir.json/sub");
        const auto over_dir =
            adock::util::write_file_atomic(tmp / "d/dir.json", "new", 0600, false, false);
        REQUIRE_FALSE(over_dir);
        CHECK(over_dir.error() ==
              adock::util::Error{EISDIR, tmp / "d/dir.json: " + adock::util::errno_text(EISDIR)});
        CHECK_FALSE(fs::exists(fs::symlink_status(tmp / "d/dir.json.tmp")));
        // control
        REQUIRE(adock::util::write_file_atomic(tmp / "d/state.json", "new", 0600, false, false));
        CHECK(adock::test::slurp(tmp / "d/state.json") == "new");
    }
    SECTION("reading: a symlink is not followed, a missing file is ENOENT, each refusal says why") {
        write_file(tmp / "d/b.json", "x");
        const auto ok = adock::util::read_file_nofollow(tmp / "d/b.json", 10);
        REQUIRE(ok);
        CHECK(*ok == "x");
        const auto linked = adock::util::read_file_nofollow(tmp / "ln/b.json", 10);
        REQUIRE_FALSE(linked);
        CHECK(linked.error() == via_link);
        const auto missing = adock::util::read_file_nofollow(tmp / "d/none", 10);
        REQUIRE_FALSE(missing);
        CHECK(missing.error() ==
              adock::util::Error{ENOENT, tmp / "d/none" + ": No such file or directory"});
        const auto no_dir = adock::util::read_file_nofollow(tmp / "nodir/b.json", 10);
        REQUIRE_FALSE(no_dir);
        CHECK(no_dir.error().errnum == ENOENT);  // the file is missing too
        const auto large = adock::util::read_file_nofollow(tmp / "d/b.json", 0);
        REQUIRE_FALSE(large);
        CHECK(large.error() == adock::util::Error{0, tmp / "d/b.json" + ": larger than 0 bytes"});
        const auto link_itself = adock::util::read_file_nofollow(tmp / "ln", 10);
        REQUIRE_FALSE(link_itself);
        CHECK(link_itself.error() ==
              adock::util::Error{ELOOP, tmp / "ln" + ": a symbolic link, not followed"});
        const auto not_regular = adock::util::read_file_nofollow(tmp / "d", 10);
        REQUIRE_FALSE(not_regular);
        CHECK(not_regular.error() == adock::util::Error{0, tmp / "d" + ": not a regular file"});
        // not taken for missing
        const auto no_name = adock::util::read_file_nofollow(tmp / "d/", 10);
        REQUIRE_FALSE(no_name);
        CHECK(no_name.error() == adock::util::Error{0, tmp / "d/" + ": not a file name"});
    }
}

TEST_CASE("for_each_line_nofollow: every line across 64 KiB pieces, long lines skipped, bounded",
          "[util][hostile]") {
    TempDir tmp;
    fs::create_directories(tmp / "d");
    // Lines of every length up to 300 bytes (some cut by a piece boundary), one of 70,000 bytes
    // (longer than a piece and than max_line), an empty line, and a last line without '\n'.
    std::vector<std::string> want;
    std::string text;
    for (std::size_t i = 0; text.size() < 200 * 1024; ++i) {
        want.push_back(std::to_string(i) + ":" +
                       std::string(i % 300, 'a' + static_cast<char>(i % 26)));
        text += want.back() + "\n";
        if (i == 500) {
            text += std::string(70000, 'L') + "\n";  // skipped
            text += "\n";
            want.emplace_back();
        }
    }
    text += "last";
    want.emplace_back("last");
    write_file(tmp / "d/f", text);
    std::vector<std::string> got;
    const auto all =
        adock::util::for_each_line_nofollow(tmp / "d/f", 1 << 20, 4096, [&](std::string_view line) {
            got.emplace_back(line);
            return true;
        });
    REQUIRE(all);
    CHECK(got.size() == want.size());
    CHECK(got == want);
    // fn returning false stops it.
    got.clear();
    REQUIRE(
        adock::util::for_each_line_nofollow(tmp / "d/f", 1 << 20, 4096, [&](std::string_view l) {
            got.emplace_back(l);
            return got.size() < 3;
        }));
    CHECK(got == std::vector<std::string>(want.begin(), want.begin() + 3));
    // As read_file_nofollow: larger than max_bytes, a symlink, not a regular file.
    const auto large = adock::util::for_each_line_nofollow(
        tmp / "d/f", 1000, 4096, [](std::string_view) { return true; });
    REQUIRE_FALSE(large);
    CHECK(large.error() == adock::util::Error{0, tmp / "d/f" + ": larger than 1000 bytes"});
    REQUIRE(::symlink((tmp / "d/f").c_str(), (tmp / "d/ln").c_str()) == 0);
    bool called = false;
    const auto linked = adock::util::for_each_line_nofollow(
        tmp / "d/ln", 1 << 20, 4096, [&](std::string_view) { return called = true; });
    REQUIRE_FALSE(linked);
    CHECK(linked.error() ==
          adock::util::Error{ELOOP, tmp / "d/ln" + ": a symbolic link, not followed"});
    CHECK_FALSE(called);
    const auto dir = adock::util::for_each_line_nofollow(
        tmp / "d", 1 << 20, 4096, [](std::string_view) { return true; });
    REQUIRE_FALSE(dir);
    CHECK(dir.error() == adock::util::Error{0, tmp / "d" + ": not a regular file"});

    // The same by a name in a directory opened once: the lines, and the same refusals, which
    // name the file as the caller shows it.
    auto opened = adock::util::open_dir_nofollow(tmp / "d", false);
    REQUIRE(opened);
    got.clear();
    REQUIRE(adock::util::for_each_line_nofollow_at(
        opened->get(), "f", "shown/f", 1 << 20, 4096, [&](std::string_view line) {
            got.emplace_back(line);
            return true;
        }));
    CHECK(got == want);
    const auto at_large = adock::util::for_each_line_nofollow_at(
        opened->get(), "f", "shown/f", 1000, 4096, [](std::string_view) { return true; });
    REQUIRE_FALSE(at_large);
    CHECK(at_large.error() == adock::util::Error{0, "shown/f: larger than 1000 bytes"});
    const auto at_linked = adock::util::for_each_line_nofollow_at(
        opened->get(), "ln", "shown/ln", 1 << 20, 4096, [&](std::string_view) {
            return called = true;
        });
    REQUIRE_FALSE(at_linked);
    CHECK(at_linked.error() ==
          adock::util::Error{ELOOP, "shown/ln: a symbolic link, not followed"});
    CHECK_FALSE(called);
    const auto at_missing = adock::util::for_each_line_nofollow_at(
        opened->get(), "none", "shown/none", 1 << 20, 4096, [](std::string_view) { return true; });
    REQUIRE_FALSE(at_missing);
    CHECK(at_missing.error().errnum == ENOENT);
}

TEST_CASE(
    "read_beneath: a regular file beneath the directory within its budget; each refusal says why",
    "[util][hostile]") {
    TempDir tmp;
    fs::create_directories(tmp / "d/sub");
    write_file(tmp / "d/a", "hello");
    write_file(tmp / "outside", "secret");
    REQUIRE(::symlink((tmp / "d/a").c_str(), (tmp / "d/ln").c_str()) == 0);
    REQUIRE(::mkfifo((tmp / "d/fifo").c_str(), 0600) == 0);
    const std::string dir = tmp / "d";
    auto refused =
        [](const adock::util::Result<std::string>& r, int errnum, const std::string& message) {
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().errnum == errnum);
            CHECK(r.error().message == message);
        };

    const auto ok = adock::util::read_beneath(dir, "a", 5);  // control: exactly its budget
    REQUIRE(ok.has_value());
    CHECK(*ok == "hello");
    CHECK(adock::util::read_beneath(dir, "sub/../a", 5).value_or("") == "hello");
    refused(adock::util::read_beneath(dir, "a", 4), 0, "larger than its budget");
    refused(adock::util::read_beneath(dir, "/etc/passwd", 5), 0, "not a relative path");
    refused(adock::util::read_beneath(dir, "", 5), 0, "not a relative path");
    refused(adock::util::read_beneath(tmp / "none", "a", 5), ENOENT, "no such directory");
    refused(adock::util::read_beneath(dir, "none", 5), ENOENT, "no such file");
    const std::string refusal = "refused (outside the directory, a symlink or not readable)";
    refused(adock::util::read_beneath(dir, "ln", 5), ELOOP, refusal);
    refused(adock::util::read_beneath(dir, "../outside", 100), EXDEV, refusal);
    refused(adock::util::read_beneath(dir, "sub", 100), 0, "not a regular file");
    // and did not hang
    refused(adock::util::read_beneath(dir, "fifo", 100), 0, "not a regular file");
    const std::string top = fs::path(dir).parent_path().string();
    // control: from above
    CHECK(adock::util::read_beneath(top, "outside", 100).value_or("") == "secret");
}

TEST_CASE("write_all: through a full pipe and a full device, what was written is told", "[util]") {
    std::array<int, 2> p{};
    REQUIRE(::pipe2(p.data(), O_NONBLOCK | O_CLOEXEC) == 0);
    const int cap = ::fcntl(p[1], F_GETPIPE_SZ);
    REQUIRE(cap > 0);
    const std::string big(static_cast<std::size_t>(cap) + 100, 'x');
    std::size_t written = 0;
    const auto full_pipe = adock::util::write_all(p[1], big, &written);
    REQUIRE_FALSE(full_pipe);
    CHECK(full_pipe.error() == adock::util::Error{EAGAIN, adock::util::errno_text(EAGAIN)});
    CHECK(written == static_cast<std::size_t>(cap));  // as much as fits
    std::string got(static_cast<std::size_t>(cap), '\0');
    CHECK(::read(p[0], got.data(), got.size()) == cap);
    CHECK(adock::util::write_all(p[1], "tail", &written));  // control: room again, all of it
    CHECK(written == 4);
    CHECK(adock::util::write_all(p[1], std::string_view{}));
    ::close(p[0]);
    ::close(p[1]);
    const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (full >= 0) {
        CHECK_FALSE(adock::util::write_all(full, "x"));
        written = 1;
        const auto no_space = adock::util::write_all(full, "x", &written);
        REQUIRE_FALSE(no_space);
        CHECK(no_space.error() == adock::util::Error{ENOSPC, "No space left on device"});
        CHECK(written == 0);
        ::close(full);
    }
}

TEST_CASE("retry_on_eintr: an interrupted call is made again, another failure is returned",
          "[util]") {
    int calls = 0;
    const auto interrupted_twice = [&calls] {
        ++calls;
        if (calls < 3) {
            errno = EINTR;
            return -1;
        }
        return 7;
    };
    CHECK(adock::util::retry_on_eintr(interrupted_twice) == 7);
    CHECK(calls == 3);
    calls = 0;
    const int again = adock::util::retry_on_eintr([&calls] {
        ++calls;
        errno = EAGAIN;
        return -1;
    });
    const int err = errno;
    CHECK(again == -1);
    CHECK(err == EAGAIN);  // as the call left it
    CHECK(calls == 1);
    std::array<int, 2> p{};
    REQUIRE(::pipe2(p.data(), O_NONBLOCK | O_CLOEXEC) == 0);
    std::array<char, 8> buf{};
    const ssize_t empty = adock::util::read_retrying(p[0], buf.data(), buf.size());
    const int empty_err = errno;
    CHECK(empty == -1);
    CHECK(empty_err == EAGAIN);  // an empty pipe: not retried
    REQUIRE(::write(p[1], "abc", 3) == 3);
    ::close(p[1]);
    CHECK(adock::util::read_retrying(p[0], buf.data(), buf.size()) == 3);
    CHECK(adock::util::read_retrying(p[0], buf.data(), buf.size()) == 0);
    ::close(p[0]);
}

TEST_CASE("open_dir_stream: lists through a duplicate, the caller's descriptor stays its own",
          "[util]") {
    const auto open_fds = [] {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e :
             std::filesystem::directory_iterator("/proc/self/fd")) {
            ++n;
        }
        return n;
    };
    TempDir tmp;
    const std::string dir = tmp / "d";
    REQUIRE(std::filesystem::create_directory(dir));
    { std::ofstream(dir + "/entry") << "x"; }
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const std::size_t before = open_fds();
    {
        const adock::util::DirStream d = adock::util::open_dir_stream(fd);
        REQUIRE(d);
        bool seen = false;
        while (const dirent* e = ::readdir(d.get())) {
            seen = seen || std::string(e->d_name) == "entry";
        }
        CHECK(seen);
        CHECK(open_fds() == before + 1);  // the stream's own duplicate
    }
    CHECK(open_fds() == before);        // closed with the stream
    CHECK(::fcntl(fd, F_GETFD) != -1);  // the caller's is still open
    // A descriptor that is not a directory: no stream, errno says why, nothing left open.
    const int file = ::open((dir + "/entry").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(file >= 0);
    const std::size_t with_file = open_fds();
    errno = 0;
    CHECK_FALSE(adock::util::open_dir_stream(file));
    CHECK(errno == ENOTDIR);
    CHECK(open_fds() == with_file);
    ::close(file);
    ::close(fd);
}

TEST_CASE("errno_text: the C library's text, its own copy on every thread", "[util]") {
    CHECK(adock::util::errno_text(ENOENT) == "No such file or directory");
    CHECK(adock::util::errno_text(EACCES) == "Permission denied");
    CHECK(adock::util::errno_text(0) == "Success");
    CHECK(adock::util::errno_text(99999) == "Unknown error 99999");
    // POSIX lets std::strerror fill one buffer for every thread (glibc's is per thread; that is
    // not promised): each thread here, asking at the same time, keeps its own value's text.
    std::array<bool, 4> same{};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < same.size(); ++t) {
        threads.emplace_back([t, &same] {
            const int value = 100000 + static_cast<int>(t);
            const std::string want = "Unknown error " + std::to_string(value);
            bool ok = true;
            for (int i = 0; i < 20000; ++i) {
                ok = ok && adock::util::errno_text(value) == want;
            }
            same[t] = ok;
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const bool ok : same) {
        CHECK(ok);
    }
}

TEST_CASE("file sink refuses a hard-linked alert file and a symlinked directory",
          "[outputs][file][hostile]") {
    TempDir tmp;
    write_file(tmp / "victim", "");
    REQUIRE(::link((tmp / "victim").c_str(), (tmp / "alerts.jsonl").c_str()) == 0);
    auto sink = adock::outputs::make_sink(file_config(tmp / "alerts.jsonl"));
    sink->start();
    REQUIRE(sink->submit(message("{\"x\":1}")));
    sink->stop(2s);
    CHECK(fs::file_size(tmp / "victim") == 0);
    CHECK(sink->stats().dropped == 1);

    fs::create_directories(tmp / "real");
    REQUIRE(::symlink((tmp / "real").c_str(), (tmp / "ln").c_str()) == 0);
    auto sink2 = adock::outputs::make_sink(file_config(tmp / "ln/alerts.jsonl"));
    sink2->start();
    REQUIRE(sink2->submit(message("{\"x\":1}")));
    sink2->stop(2s);
    CHECK_FALSE(fs::exists(tmp / "real/alerts.jsonl"));
}

TEST_CASE("file sink on a full file system: no torn JSON line, the drop counted",
          "[outputs][file][hostile]") {
    // RLIMIT_FSIZE stands in for ENOSPC: a write past it is cut short, the next fails (EFBIG).
    TempDir tmp;
    const std::string path = tmp / "alerts.jsonl";
    const std::string line(1000, 'a');
    const std::string json = "{\"pad\":\"" + line + "\"}";

    struct sigaction ignore {};

    ignore.sa_handler = SIG_IGN;

    struct sigaction old {};

    REQUIRE(::sigaction(SIGXFSZ, &ignore, &old) == 0);
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    rlimit small = saved;
    small.rlim_cur = 5500;  // five lines and a half
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    {
        auto sink = adock::outputs::make_sink(file_config(path));
        for (int i = 0; i < 8; ++i) {
            REQUIRE(sink->submit(message(json)));
        }
        sink->start();  // one batch of 8
        sink->stop(2s);
        delivered = sink->stats().delivered;
        dropped = sink->stats().dropped;
    }
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
    REQUIRE(::sigaction(SIGXFSZ, &old, nullptr) == 0);
    const std::string text = adock::test::slurp(path);
    CHECK(delivered == 5);
    CHECK(dropped == 3);
    REQUIRE_FALSE(text.empty());
    CHECK(text.back() == '\n');
    CHECK(text.size() == 5 * (json.size() + 1));
}
