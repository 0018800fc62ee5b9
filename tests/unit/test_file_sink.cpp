// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "outputs/dispatcher.hpp"
#include "outputs/file_sink.hpp"
#include "outputs/sink.hpp"
#include "outputs/stdout_sink.hpp"
#include "test_catch.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using adock::Severity;
using adock::outputs::AlertMessage;
using namespace std::chrono_literals;

using adock::test::TempDir;

AlertMessage message(const std::string& json, Severity severity = Severity::High) {
    auto alert = std::make_shared<adock::Alert>();
    alert->severity = severity;
    return AlertMessage{alert, std::make_shared<const std::string>(json)};
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

adock::config::OutputConfig file_config(const std::string& path) {
    adock::config::OutputConfig cfg;
    cfg.name = "file-test";
    cfg.type = adock::config::OutputType::File;
    cfg.path = path;
    return cfg;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};

    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode) & 0777U;
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("file sink writes one alert per line, mode 0600, parent dirs 0700", "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "sub/deeper/alerts.jsonl";
    auto sink = adock::outputs::make_sink(file_config(path));
    sink->start();
    std::vector<std::string> expected;
    for (int i = 0; i < 200; ++i) {
        expected.push_back(R"({"n":)" + std::to_string(i) + "}");
        REQUIRE(sink->submit(message(expected.back())));
    }
    sink->stop(2s);

    CHECK(read_lines(path) == expected);
    CHECK(mode_of(path) == 0600U);
    CHECK(mode_of(dir / "sub") == 0700U);
    CHECK(mode_of(dir / "sub/deeper") == 0700U);
    const auto s = sink->stats();
    CHECK(s.generated == 200);
    CHECK(s.delivered == 200);
    CHECK(s.dropped == 0);
    CHECK(s.failed == 0);
    CHECK(s.queue_depth == 0);
    CHECK(s.queue_max_depth >= 1);
}

TEST_CASE("file sink appends to an existing file", "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "alerts.jsonl";
    { std::ofstream(path) << "{\"old\":1}\n"; }
    auto sink = adock::outputs::make_sink(file_config(path));
    sink->start();
    REQUIRE(sink->submit(message("{\"new\":2}")));
    sink->stop(2s);
    CHECK(read_lines(path) == std::vector<std::string>{"{\"old\":1}", "{\"new\":2}"});
}

TEST_CASE("file sink rotates by size and keeps N generations", "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "alerts.jsonl";
    auto cfg = file_config(path);
    cfg.max_size_bytes = 100;  // 3 lines of 30 bytes fit, the 4th does not
    cfg.generations = 2;
    auto make_line = [](int i) {
        std::string s = R"({"n":)" + std::to_string(i) + R"(,"pad":")";
        s.append(29 - s.size() - 2, 'x');
        return s + "\"}";
    };
    REQUIRE(make_line(1).size() == 29);

    SECTION("within one batch (queued before start)") {
        auto sink = adock::outputs::make_sink(cfg);
        for (int i = 1; i <= 10; ++i) {
            REQUIRE(sink->submit(message(make_line(i))));
        }
        sink->start();
        sink->stop(2s);
        CHECK(sink->stats().delivered == 10);
    }
    SECTION("across batches") {
        auto sink = adock::outputs::make_sink(cfg);
        sink->start();
        for (int i = 1; i <= 10; ++i) {
            REQUIRE(sink->submit(message(make_line(i))));
            REQUIRE(wait_for([&] { return sink->stats().delivered == static_cast<unsigned>(i); }));
        }
        sink->stop(2s);
    }
    CHECK(read_lines(path) == std::vector<std::string>{make_line(10)});
    CHECK(read_lines(path + ".1") ==
          std::vector<std::string>{make_line(7), make_line(8), make_line(9)});
    CHECK(read_lines(path + ".2") ==
          std::vector<std::string>{make_line(4), make_line(5), make_line(6)});
    CHECK_FALSE(fs::exists(path + ".3"));
    CHECK(fs::file_size(path + ".1") <= 100);
    CHECK(mode_of(path) == 0600U);
}

TEST_CASE("file sink never writes through a symlink", "[outputs][file]") {
    const TempDir dir;
    const std::string target = dir / "target";
    const std::string path = dir / "alerts.jsonl";
    { std::ofstream(target) << ""; }
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);

    auto sink = adock::outputs::make_sink(file_config(path));
    sink->start();
    REQUIRE(sink->submit(message("{\"x\":1}")));
    REQUIRE(sink->submit(message("{\"x\":2}")));
    sink->stop(2s);

    CHECK(fs::file_size(target) == 0);
    CHECK(fs::is_symlink(path));
    const auto s = sink->stats();
    CHECK(s.delivered == 0);
    CHECK(s.dropped == 2);
    CHECK(s.failed == 2);
}

TEST_CASE("file sink reopen() starts a new file after an external rename", "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "alerts.jsonl";
    auto sink = adock::outputs::make_sink(file_config(path));
    sink->start();
    REQUIRE(sink->submit(message("{\"before\":1}")));
    REQUIRE(wait_for([&] { return sink->stats().delivered == 1; }));

    REQUIRE(::rename(path.c_str(), (path + ".old").c_str()) == 0);
    SECTION("without reopen the old file keeps growing") {
        REQUIRE(sink->submit(message("{\"after\":2}")));
        sink->stop(2s);
        CHECK(read_lines(path + ".old") ==
              std::vector<std::string>{"{\"before\":1}", "{\"after\":2}"});
        CHECK_FALSE(fs::exists(path));
    }
    SECTION("with reopen the next alert goes to a fresh file") {
        sink->reopen();
        REQUIRE(sink->submit(message("{\"after\":2}")));
        sink->stop(2s);
        CHECK(read_lines(path + ".old") == std::vector<std::string>{"{\"before\":1}"});
        CHECK(read_lines(path) == std::vector<std::string>{"{\"after\":2}"});
        CHECK(mode_of(path) == 0600U);
    }
}

TEST_CASE("file output: min_severity is applied once, by the dispatcher's gate",
          "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "alerts.jsonl";
    auto cfg = file_config(path);
    cfg.min_severity = Severity::High;
    std::vector<std::unique_ptr<adock::outputs::Sink>> sinks;
    sinks.push_back(adock::outputs::make_sink(cfg));
    sinks.back()->start();
    adock::outputs::Dispatcher out;
    (void)out.replace(std::move(sinks));
    for (const auto s : {Severity::Info, Severity::Medium, Severity::High, Severity::Critical}) {
        adock::Alert a;
        a.rule_id = std::string("r_") + adock::severity_name(s);
        a.severity = s;
        out.dispatch(std::move(a));
    }
    out.stop(2s);
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\"id\":\"r_high\"") != std::string::npos);
    CHECK(lines[1].find("\"id\":\"r_critical\"") != std::string::npos);
    CHECK(out.stats()[0].stats.generated == 2);

    // The sink itself writes what it is given (--test-output's info sample, whatever the
    // output's min_severity): "could not be written" with nothing above was the old filter.
    const std::string direct = dir / "direct.jsonl";
    auto dcfg = file_config(direct);
    dcfg.min_severity = Severity::Critical;
    auto sink = adock::outputs::make_sink(dcfg);
    sink->start();
    CHECK(sink->submit(message("{\"s\":\"info\"}", Severity::Info)));
    sink->stop(2s);
    CHECK(read_lines(direct) == std::vector<std::string>{"{\"s\":\"info\"}"});
    CHECK(sink->stats().delivered == 1);
}

TEST_CASE("file sink drops and counts when its queue is full", "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "alerts.jsonl";
    auto cfg = file_config(path);
    cfg.queue_size = 2;
    auto sink = adock::outputs::make_sink(cfg);
    CHECK(sink->submit(message("{\"n\":1}")));
    CHECK(sink->submit(message("{\"n\":2}")));
    CHECK_FALSE(sink->submit(message("{\"n\":3}")));
    CHECK(sink->stats().dropped == 1);
    CHECK(sink->stats().queue_depth == 2);
    sink->start();
    sink->stop(2s);
    CHECK(read_lines(path) == std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"});
    CHECK(sink->stats().generated == 3);
    CHECK(sink->stats().delivered == 2);
}

TEST_CASE("file sink keeps up with a burst of alerts", "[outputs][file]") {
    const TempDir dir;
    const std::string path = dir / "alerts.jsonl";
    auto cfg = file_config(path);
    cfg.queue_size = 100000;
    auto sink = adock::outputs::make_sink(cfg);
    const std::string json(400, 'a');
    const auto msg = message("\"" + json + "\"");
    sink->start();
    const auto t0 = std::chrono::steady_clock::now();
    int accepted = 0;
    for (int i = 0; i < 50000; ++i) {
        accepted += sink->submit(msg) ? 1 : 0;
    }
    REQUIRE(accepted == 50000);
    sink->stop(10s);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK(sink->stats().delivered == 50000);
    CHECK(elapsed < 5s);  // ~0.1 s in practice; generous for sanitizer builds
    CHECK(fs::file_size(path) == 50000U * (json.size() + 3));
}

TEST_CASE("stdout sink writes JSON Lines to fd 1", "[outputs][stdout]") {
    const TempDir dir;
    const std::string path = dir / "stdout.txt";
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    REQUIRE(saved >= 0);
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f != nullptr);
        REQUIRE(::dup2(::fileno(f), STDOUT_FILENO) == STDOUT_FILENO);
        std::fclose(f);
    }
    adock::config::OutputConfig cfg;
    cfg.name = "stdout";
    cfg.type = adock::config::OutputType::Stdout;
    auto sink = adock::outputs::make_sink(cfg);
    sink->start();
    const bool ok1 = sink->submit(message("{\"a\":1}"));
    const bool ok2 = sink->submit(message("{\"b\":2}"));
    sink->reopen();  // a no-op for stdout
    sink->stop(2s);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    CHECK(ok1);
    CHECK(ok2);
    CHECK(read_lines(path) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
    CHECK(::fcntl(STDOUT_FILENO, F_GETFD) >= 0);  // still open
}

TEST_CASE("make_sink rejects unusable file entries", "[outputs][config]") {
    adock::config::OutputConfig cfg;
    cfg.name = "broken";
    cfg.type = adock::config::OutputType::File;
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
    cfg.path = "/tmp/x";
    cfg.queue_size = 0;
    CHECK_THROWS_AS(adock::outputs::make_sink(cfg), adock::config::ConfigError);
}
