// SPDX-License-Identifier: Apache-2.0
// The program's shape: options, the engine's message queue and loop, reloads.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "app/engine_loop.hpp"
#include "app/generation.hpp"
#include "app/messages.hpp"
#include "app/metrics.hpp"
#include "app/options.hpp"
#include "app/reader.hpp"
#include "outputs/dispatcher.hpp"
#include "rules/loader.hpp"
#include "test_catch.hpp"
#include "util/bounded_queue.hpp"
#include "util/clock.hpp"

using namespace adock;
using namespace std::chrono_literals;

namespace {

/// What a KeepSink was given; outlives the sink (the dispatcher destroys its sinks at stop).
struct Kept {
    mutable std::mutex mu;
    std::vector<Alert> alerts;

    [[nodiscard]] std::vector<Alert> get() const {
        const std::scoped_lock lock(mu);
        return alerts;
    }
};

/// A sink that keeps what it is given (thread-safe), with a configurable entry.
class KeepSink : public outputs::Sink {
public:
    explicit KeepSink(std::shared_ptr<Kept> kept,
                      std::string name,
                      unsigned dedup_window_s = 0,
                      bool throw_on_reopen = false)
        : kept_(std::move(kept)), throw_on_reopen_(throw_on_reopen) {
        cfg_.name = std::move(name);
        cfg_.dedup_window_s = dedup_window_s;
    }

    [[nodiscard]] const std::string& name() const override { return cfg_.name; }

    [[nodiscard]] const config::OutputConfig& config() const override { return cfg_; }

    bool submit(const outputs::AlertMessage& m) override {
        const std::scoped_lock lock(kept_->mu);
        kept_->alerts.push_back(*m.alert);
        return true;
    }

    void start() override {}

    void stop(std::chrono::milliseconds /*deadline*/) override {}

    void reopen() override {
        if (throw_on_reopen_) {
            throw std::runtime_error("reopen failed (test)");
        }
    }

    [[nodiscard]] outputs::SinkStats stats() const override { return {}; }

private:
    std::shared_ptr<Kept> kept_;
    config::OutputConfig cfg_;
    bool throw_on_reopen_;
};

/// One sink, as a generation's list.
std::vector<std::unique_ptr<outputs::Sink>> one_sink(std::unique_ptr<outputs::Sink> s) {
    std::vector<std::unique_ptr<outputs::Sink>> v;
    v.push_back(std::move(s));
    return v;
}

const char* const kEveryExec = R"(rules:
  - id: every_exec
    description: test
    severity: info
    summary: "{process.exe}"
    match: {event: exec}
)";

/// One complete exec event of /bin/true, serial `serial`.
std::string exec_event(int serial) {
    const std::string stamp = "msg=audit(1700000000.100:" + std::to_string(serial) + "):";
    return "type=SYSCALL " + stamp +
           " arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=100 "
           "pid=" +
           std::to_string(1000 + serial) +
           " auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 "
           "fsgid=1000"
           " tty=pts0 ses=1 comm=\"true\" exe=\"/usr/bin/true\" key=\"exec\"\n"
           "type=EXECVE " +
           stamp +
           " argc=1 a0=\"/bin/true\"\n"
           "type=PROCTITLE " +
           stamp +
           " proctitle=2F62696E2F74727565\n"
           "type=EOE " +
           stamp + "\n";
}

/// A generation as build_generation makes it, from texts: no /proc, no integrity.
app::Generation test_generation(std::vector<std::unique_ptr<outputs::Sink>> sinks) {
    app::Generation g;
    g.cfg.processes.use_proc = false;
    g.cfg.integrity.enabled = false;
    g.cfg.host = "testhost";
    g.cfg.status_interval_s = 0;
    g.rules = rules::load_rules_texts({{"t.yaml", kEveryExec}});
    g.sinks = std::move(sinks);
    return g;
}

std::size_t count_rule(const std::vector<Alert>& alerts, const std::string& id) {
    std::size_t n = 0;
    for (const auto& a : alerts) {
        n += a.rule_id == id ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("options: flags, values and errors", "[app][options]") {
    const auto o = app::parse_options(
        {"--config", "c.yaml", "--input", "x.log", "--rules-dir", "r", "--log-stderr"});
    CHECK(o.config_path == "c.yaml");
    CHECK(o.input_path == "x.log");
    CHECK(o.rules_dir == "r");
    CHECK(o.log_stderr);
    CHECK_FALSE(o.check);
    CHECK(app::parse_options({"-c", "c.yaml", "--check"}).check);
    CHECK(app::parse_options({"-c", "c.yaml", "--scan"}).scan);
    CHECK(app::parse_options({"-c", "c.yaml", "--test-output", "hook"}).test_output == "hook");
    CHECK(app::parse_options({"--help"}).help);
    CHECK(app::parse_options({"--version"}).version);
    // --config is required
    CHECK_THROWS_AS(app::parse_options({}), std::invalid_argument);
    CHECK_THROWS_AS(app::parse_options({"--config"}), std::invalid_argument);  // needs a value
    CHECK_THROWS_AS(app::parse_options({"-c", "x", "--bogus"}), std::invalid_argument);
    CHECK(app::usage().find("--config FILE") != std::string::npos);
}

TEST_CASE(
    "options: --seccomp-profile takes a target, --input or the live state, and no other one-shot "
    "mode",
    "[app][options]") {
    CHECK(app::parse_options({"-c", "c.yaml", "-i", "x.log", "--seccomp-profile", "nginx:1"})
              .seccomp_profile == "nginx:1");
    // Without --input: from the live plugin's learned state (seccomp_learn_file).
    const auto live = app::parse_options({"-c", "c.yaml", "--seccomp-profile", "nginx:1"});
    CHECK(live.seccomp_profile == "nginx:1");
    CHECK_FALSE(live.input_path);
    CHECK_THROWS_AS(app::parse_options({"-c", "c.yaml", "-i", "x.log", "--seccomp-profile"}),
                    std::invalid_argument);
    CHECK_THROWS_AS(app::parse_options({"-c", "c.yaml", "-i", "x.log", "--seccomp-profile", ""}),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        app::parse_options({"-c", "c.yaml", "-i", "x.log", "--seccomp-profile", "a", "--scan"}),
        std::invalid_argument);
    // --config
    CHECK_THROWS_AS(app::parse_options({"-i", "x.log", "--seccomp-profile", "a"}),
                    std::invalid_argument);
}

TEST_CASE("bounded queue: capacity, drops, close drains", "[util][queue]") {
    util::BoundedQueue<int> q(2);
    CHECK(q.try_push(1));
    CHECK(q.try_push(2));
    CHECK_FALSE(q.try_push(3));
    CHECK(q.stats().drops == 1);
    CHECK(q.stats().max_depth == 2);
    CHECK_FALSE(q.push_wait(4, 1ms));  // full: times out
    CHECK(q.pop_for(0ms) == 1);
    CHECK(q.push_wait(4, 1ms));
    q.close();
    CHECK_FALSE(q.try_push(5));
    CHECK(q.pop_for(0ms) == 2);  // what was queued is still delivered after close
    CHECK(q.pop_for(0ms) == 4);
    CHECK_FALSE(q.pop_for(10ms).has_value());
    CHECK(q.closed());
}

TEST_CASE("bounded queue: a waiting consumer is woken by a producer and by close",
          "[util][queue]") {
    util::BoundedQueue<int> q(4);
    bool pushed = false;  // Catch's assertions are not thread-safe: checked on this thread
    std::thread producer([&] { pushed = q.try_push(7); });
    CHECK(q.pop_for(5s) == 7);
    producer.join();
    CHECK(pushed);
    std::thread closer([&] { q.close(); });
    CHECK_FALSE(q.pop_for(5s).has_value());
    closer.join();
}

TEST_CASE("message queue: input is bounded, control messages keep their own reserve, in order",
          "[app][queue]") {
    app::MessageQueue q(4);  // bytes
    CHECK(q.try_push_input(app::InputBatch{"a\n"}));
    CHECK(q.try_push_input(app::InputBatch{"b\n"}));
    CHECK_FALSE(q.try_push_input(app::InputBatch{"c\n"}));  // input budget used: dropped, counted
    CHECK(q.stats().input_drops == 1);
    CHECK(q.push_control(app::Stop{}));  // a stop still gets in
    CHECK(q.stats().bytes == 4);
    app::InputBatch refused{"d\n"};
    CHECK_FALSE(q.push_input_wait(refused, 1ms));
    CHECK(refused.bytes == "d\n");  // not moved from: the caller may try again
    auto m = q.pop_for(0ms);
    REQUIRE(m);
    CHECK(std::get<app::InputBatch>(*m).bytes == "a\n");
    CHECK(std::holds_alternative<app::InputBatch>(*q.pop_for(0ms)));
    CHECK(std::holds_alternative<app::Stop>(*q.pop_for(0ms)));
    for (std::size_t i = 0; i < app::MessageQueue::kControlReserve; ++i) {
        CHECK(q.push_control(app::DumpState{}));
    }
    CHECK_FALSE(q.push_control(app::Scan{}));
    CHECK(q.stats().control_drops == 1);
    q.close();
    CHECK_FALSE(q.try_push_input(app::InputBatch{"e\n"}));
    CHECK_FALSE(q.push_control(app::Stop{}));
}

TEST_CASE("engine loop: input batches in order, then stop; the events are all detected",
          "[app][loop]") {
    outputs::Dispatcher out;
    auto kept = std::make_shared<Kept>();
    app::MessageQueue q(1 << 20);
    const app::ReaderStats rs;
    app::EngineLoop loop(
        test_generation(one_sink(std::make_unique<KeepSink>(kept, "keep"))), q, rs, out);
    // An event split across two batches, as the reader may cut it.
    const std::string two = exec_event(1) + exec_event(2);
    const auto cut = two.find("type=EXECVE", two.find("type=EOE"));
    REQUIRE(q.try_push_input(app::InputBatch{two.substr(0, cut)}));
    REQUIRE(q.try_push_input(app::InputBatch{two.substr(cut)}));
    REQUIRE(q.push_control(app::Stop{}));
    REQUIRE(q.try_push_input(app::InputBatch{exec_event(3)}));  // after the stop: not read
    loop.run();
    out.stop(1s);
    CHECK(count_rule(kept->get(), "every_exec") == 2);
    CHECK(loop.errors() == 0);
}

TEST_CASE("engine loop: an exception in one message is logged and counted, detection goes on",
          "[app][loop]") {
    outputs::Dispatcher out;
    auto kept = std::make_shared<Kept>();
    app::MessageQueue q(1 << 20);
    const app::ReaderStats rs;
    app::EngineLoop loop(test_generation(one_sink(std::make_unique<KeepSink>(
                             kept, "keep", 0, /*throw_on_reopen=*/true))),
                         q,
                         rs,
                         out);
    REQUIRE(q.push_control(app::DumpState{}));  // reopen throws
    REQUIRE(q.try_push_input(app::InputBatch{exec_event(1)}));
    q.close();  // a closed queue ends the loop once drained, like a stop
    loop.run();
    out.stop(1s);
    CHECK(loop.errors() == 1);
    CHECK(count_rule(kept->get(), "every_exec") == 1);
}

TEST_CASE("engine loop: its ticks and an event's age follow the clock it is given",
          "[app][loop][clock]") {
    // An event with no EOE waits until it is eoe_timeout_ms old, by the loop's clock: on a clock
    // nobody moves it waits however long the test does; moved past the timeout, the next tick
    // completes it.
    util::ManualClock clock;
    outputs::Dispatcher out;
    auto kept = std::make_shared<Kept>();
    app::MessageQueue q(1 << 20);
    const app::ReaderStats rs;
    app::Generation g = test_generation(one_sink(std::make_unique<KeepSink>(kept, "keep")));
    g.cfg.engine.eoe_timeout_ms = 100;
    app::EngineLoop loop(std::move(g), q, rs, out, clock);
    std::string open_event = exec_event(1);
    open_event.erase(open_event.find("type=PROCTITLE"));  // PROCTITLE or EOE would complete it
    REQUIRE(q.try_push_input(app::InputBatch{open_event}));
    std::thread engine([&] { loop.run(); });
    // Real time: several ticks' worth, well past the timeout (a loop on the real clock would
    // have completed the event after about 100 + 250 ms).
    std::this_thread::sleep_for(3 * app::EngineLoop::kTick);
    const std::size_t before = count_rule(kept->get(), "every_exec");
    clock.advance(std::chrono::milliseconds(100) + app::EngineLoop::kTick);
    std::size_t after = 0;
    for (int i = 0; i < 500 && after == 0; ++i) {
        std::this_thread::sleep_for(10ms);
        after = count_rule(kept->get(), "every_exec");
    }
    REQUIRE(q.push_control(app::Stop{}));
    engine.join();
    out.stop(1s);
    CHECK(before == 0);
    CHECK(after == 1);
    CHECK(count_rule(kept->get(), "every_exec") == 1);
}

TEST_CASE("engine loop: a reload adopts the new rules and outputs in order",
          "[app][loop][reload]") {
    outputs::Dispatcher out;
    auto k1 = std::make_shared<Kept>();
    auto k2 = std::make_shared<Kept>();
    app::MessageQueue q(1 << 20);
    const app::ReaderStats rs;
    app::EngineLoop loop(
        test_generation(one_sink(std::make_unique<KeepSink>(k1, "first"))), q, rs, out);
    auto next = std::make_unique<app::Generation>(
        test_generation(one_sink(std::make_unique<KeepSink>(k2, "second"))));
    REQUIRE(q.try_push_input(app::InputBatch{exec_event(1)}));
    REQUIRE(q.push_control(app::Reload{std::move(next)}));
    REQUIRE(q.try_push_input(app::InputBatch{exec_event(2)}));
    REQUIRE(q.push_control(app::Stop{}));
    std::thread engine([&] { loop.run(); });
    engine.join();
    out.stop(1s);
    loop.join_retired();
    CHECK(count_rule(k1->get(), "every_exec") == 1);
    CHECK(count_rule(k2->get(), "every_exec") == 1);
}

namespace {

/// An alert of rule `id` from /usr/bin/x (one incident for the gate).
Alert incident_alert(const std::string& id) {
    Alert a;
    a.rule_id = id;
    a.severity = Severity::High;
    a.host = "testhost";
    a.summary = "test";
    a.process.exe = "/usr/bin/x";
    return a;
}

std::size_t summaries(const std::vector<Alert>& alerts) {
    std::size_t n = 0;
    for (const auto& a : alerts) {
        n += a.repeats.has_value() ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("reload: an output's pending fold summary survives the replacement of its sinks",
          "[app][reload]") {
    auto before = std::make_shared<Kept>();
    auto after = std::make_shared<Kept>();
    outputs::Dispatcher out;
    (void)out.replace(one_sink(std::make_unique<KeepSink>(before, "local", 60)));
    out.dispatch(incident_alert("r1"));
    out.dispatch(incident_alert("r1"));  // folded: told later as "repeated 1 more time"
    out.dispatch(incident_alert("r1"));
    auto old = out.replace(one_sink(std::make_unique<KeepSink>(after, "local", 60)));
    for (auto& s : old) {
        s->stop(1s);
    }
    out.stop(1s);  // the window is still open: the summary is told at stop
    CHECK(before->get().size() == 1);
    const auto told = after->get();
    REQUIRE(summaries(told) == 1);
    CHECK(told.back().repeats == 2U);
}

TEST_CASE("reload: an output that is gone tells its pending summary through its old sink",
          "[app][reload]") {
    auto gone = std::make_shared<Kept>();
    auto other = std::make_shared<Kept>();
    outputs::Dispatcher out;
    (void)out.replace(one_sink(std::make_unique<KeepSink>(gone, "gone", 60)));
    out.dispatch(incident_alert("r1"));
    out.dispatch(incident_alert("r1"));
    auto old = out.replace(one_sink(std::make_unique<KeepSink>(other, "other", 60)));
    for (auto& s : old) {
        s->stop(1s);
    }
    out.stop(1s);
    CHECK(summaries(gone->get()) == 1);
    CHECK(other->get().empty());
}

TEST_CASE("reload: through the engine loop, folded repeats before a SIGHUP are still told",
          "[app][loop][reload]") {
    auto k1 = std::make_shared<Kept>();
    auto k2 = std::make_shared<Kept>();
    outputs::Dispatcher out;
    app::MessageQueue q(1 << 20);
    const app::ReaderStats rs;
    app::EngineLoop loop(
        test_generation(one_sink(std::make_unique<KeepSink>(k1, "local", 60))), q, rs, out);
    // The same exe from the same pid lineage: one incident, the second folded.
    REQUIRE(q.try_push_input(app::InputBatch{exec_event(1) + exec_event(2)}));
    REQUIRE(q.push_control(app::Reload{std::make_unique<app::Generation>(
        test_generation(one_sink(std::make_unique<KeepSink>(k2, "local", 60))))}));
    REQUIRE(q.push_control(app::Stop{}));
    loop.run();
    out.stop(1s);
    loop.join_retired();
    CHECK(count_rule(k1->get(), "every_exec") == 1);
    REQUIRE(summaries(k2->get()) == 1);
    CHECK(k2->get().back().repeats == 1U);
}

TEST_CASE("reload: settings read only at start keep their running values", "[app][reload]") {
    config::Config running;
    config::Config next;
    next.engine.eoe_timeout_ms = 5000;
    next.proc_root = "/elsewhere";
    next.integrity.enabled = !running.integrity.enabled;
    next.seccomp_learn_file = "";
    next.state_file = "/tmp/other-state.json";  // reloadable
    const auto changed = app::start_only_changes(running, next);
    CHECK(changed == std::vector<std::string>{
                         "engine.eoe_timeout_ms", "proc_root", "seccomp_learn_file", "integrity"});
    app::keep_start_only(next, running);
    CHECK(app::start_only_changes(running, next).empty());
    CHECK(next.engine.eoe_timeout_ms == running.engine.eoe_timeout_ms);
    CHECK(next.seccomp_learn_file == running.seccomp_learn_file);
    CHECK(next.state_file == "/tmp/other-state.json");
}

TEST_CASE("message queue: one batch larger than the whole budget is let in when the queue is empty",
          "[app][queue]") {
    app::MessageQueue q(8);
    CHECK(q.try_push_input(app::InputBatch{std::string(100, 'x')}));
    CHECK_FALSE(q.try_push_input(app::InputBatch{"y\n"}));
    CHECK(q.stats().max_bytes == 100);
    (void)q.pop_for(0ms);
    CHECK(q.stats().bytes == 0);
    CHECK(q.try_push_input(app::InputBatch{"y\n"}));
}

namespace {

/// Writes all of `text` to fd, then closes it.
void write_all_and_close(int fd, const std::string& text) {
    std::size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n <= 0) {
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

}  // namespace

TEST_CASE("reader: a last line with no room at EOF is counted as dropped, not lost unseen",
          "[app][reader]") {
    for (const bool full : {false, true}) {
        std::array<int, 2> p{};
        REQUIRE(::pipe(p.data()) == 0);
        const std::string text = "type=EOE msg=audit(1.000:1): \nno newline at the end";
        REQUIRE(::write(p[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(p[1]);
        app::MessageQueue q(64);  // bytes: room for the first line and the last, not more
        if (full) {
            REQUIRE(q.try_push_input(app::InputBatch{std::string(60, 'x')}));
        }
        app::Reader reader(p[0], q);
        reader.run();
        ::close(p[0]);
        std::string got;
        while (auto m = q.pop_for(0ms)) {
            got += std::get<app::InputBatch>(*m).bytes;
        }
        if (full) {  // neither line found room: both counted
            CHECK(got == std::string(60, 'x'));
            CHECK(reader.stats().dropped_lines == 2);
            CHECK(reader.stats().dropped_chunks == 2);
        } else {  // control: with room, both lines arrive and nothing is counted
            CHECK(got == text + "\n");
            CHECK(reader.stats().dropped_lines == 0);
            CHECK(reader.stats().dropped_chunks == 0);
        }
    }
}

TEST_CASE("reader: what a pipe holds is handed on as one batch of whole lines", "[app][reader]") {
    std::array<int, 2> p{};
    REQUIRE(::pipe(p.data()) == 0);
    std::string text;
    for (int i = 0; i < 500; ++i) {
        // one record per write, like auditd
        text += "type=EOE msg=audit(1.000:" + std::to_string(i) + "): \n";
    }
    text += "no newline at the end";
    for (std::size_t off = 0; off < text.size();) {
        const auto nl = text.find('\n', off);
        const auto end = nl == std::string::npos ? text.size() : nl + 1;
        REQUIRE(::write(p[1], text.data() + off, end - off) == static_cast<ssize_t>(end - off));
        off = end;
    }
    ::close(p[1]);
    app::MessageQueue q(1 << 20);
    app::Reader reader(p[0], q);
    reader.run();
    ::close(p[0]);
    std::string got;
    std::size_t batches = 0;
    while (auto m = q.pop_for(0ms)) {
        got += std::get<app::InputBatch>(*m).bytes;
        ++batches;
    }
    CHECK(got == text + "\n");  // the last line, completed at EOF
    CHECK(batches == 2);        // 500 records in one batch, then the last line
    CHECK(reader.stats().batches == 1);
    CHECK(reader.stats().pipe_bytes >= 64 * 1024);
    // A flowing stream (the batch held more than kFlowingBytes): the reader gathered again
    // without waiting in poll first, and found the end there.
    CHECK(text.size() > app::Reader::kFlowingBytes);
    CHECK(reader.stats().waits == 1);
}

TEST_CASE("reader: while the stream flows the gather follows its rate, within its bounds",
          "[app][reader]") {
    using app::Reader;
    // Off (a replay, a test) and a stream that does not flow keep the configured gather.
    CHECK(Reader::next_gather(0ms, 5ms, 1 << 20) == 0ms);
    CHECK(Reader::next_gather(5ms, 5ms, Reader::kFlowingBytes - 1) == 5ms);
    // 1 KiB a millisecond: 64 KiB would take 64 ms, the record's wait is capped.
    CHECK(Reader::next_gather(5ms, 5ms, 5 * 1024) == Reader::kMaxGather);
    // The burst measured here (~47 KB in 5 ms): about 64 KiB a batch.
    CHECK(Reader::next_gather(5ms, 5ms, 47000) == 6ms);
    CHECK(Reader::next_gather(5ms, 6ms, 65536) == 6ms);
    // Faster than that: a shorter gather, never none.
    CHECK(Reader::next_gather(5ms, 5ms, 1 << 20) == 1ms);
    CHECK(Reader::next_gather(5ms, 0ms, 1 << 20) == 1ms);
}

TEST_CASE("reader: a trickle waits in poll before each gather", "[app][reader]") {
    std::array<int, 2> p{};
    REQUIRE(::pipe(p.data()) == 0);
    const std::string text = "type=EOE msg=audit(1.000:1): \ntype=EOE msg=audit(1.000:2): \n";
    REQUIRE(::write(p[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(p[1]);
    app::MessageQueue q(1 << 20);
    app::Reader reader(p[0], q);
    reader.run();
    ::close(p[0]);
    CHECK(reader.stats().batches == 1);
    CHECK(reader.stats().bytes == text.size());
    // Below kFlowingBytes: after the batch it waits for input again (and sees the end there).
    CHECK(reader.stats().waits == 2);
    std::string got;
    while (auto m = q.pop_for(0ms)) {
        got += std::get<app::InputBatch>(*m).bytes;
    }
    CHECK(got == text);
}

TEST_CASE("reader: a full queue drops and counts, the writer is never stalled", "[app][reader]") {
    std::array<int, 2> p{};
    REQUIRE(::pipe(p.data()) == 0);
    const std::string line(99, 'x');
    std::string text;
    while (text.size() < 4 * app::Reader::kMaxBatchBytes) {
        text += line + "\n";
    }
    app::MessageQueue q(app::Reader::kMaxBatchBytes);  // nobody pops: room for one batch
    app::Reader reader(p[0], q, 0ms);
    std::thread writer([&] { write_all_and_close(p[1], text); });
    reader.run();  // returns at EOF: the writer got everything out
    writer.join();
    ::close(p[0]);
    CHECK(reader.stats().bytes == text.size());
    CHECK(reader.stats().dropped_lines > 0);
    CHECK(q.stats().input_drops == reader.stats().dropped_chunks);
    std::size_t kept_lines = 0;
    while (auto m = q.pop_for(0ms)) {
        const auto& b = std::get<app::InputBatch>(*m).bytes;
        kept_lines += static_cast<std::size_t>(std::count(b.begin(), b.end(), '\n'));
    }
    CHECK(kept_lines + reader.stats().dropped_lines == text.size() / 100);
}

TEST_CASE("reader: stop() ends a reader waiting on a quiet pipe", "[app][reader]") {
    std::array<int, 2> p{};
    REQUIRE(::pipe(p.data()) == 0);
    app::MessageQueue q(1 << 20);
    app::Reader reader(p[0], q);
    std::thread t([&] { reader.run(); });
    reader.stop();
    t.join();
    ::close(p[0]);
    ::close(p[1]);
    CHECK(reader.stats().bytes == 0);
}

namespace {

/// One exec event as auditd writes it: SYSCALL, EXECVE, the executable's PATH (its dev/inode:
/// a replay learns the runtime's and the clients' files from it), EOE.
std::string exec_record(int serial,
                        int pid,
                        int ppid,
                        std::uint32_t auid,
                        const std::string& exe,
                        std::uint64_t inode,
                        const std::vector<std::string>& argv) {
    const std::string stamp = "msg=audit(1700000000." + std::to_string(100 + serial) + ":" +
                              std::to_string(serial) + "):";
    std::string text =
        "type=SYSCALL " + stamp +
        " arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=" +
        std::to_string(ppid) + " pid=" + std::to_string(pid) + " auid=" + std::to_string(auid) +
        " uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"x\" "
        "exe=\"" +
        exe + "\" key=\"exec\"\n";
    text += "type=EXECVE " + stamp + " argc=" + std::to_string(argv.size());
    for (std::size_t i = 0; i < argv.size(); ++i) {
        text += " a" + std::to_string(i) + "=\"" + argv[i] + "\"";
    }
    text += "\ntype=PATH " + stamp + " item=0 name=\"" + exe + "\" inode=" + std::to_string(inode) +
            " dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 "
            "cap_fe=0"
            " cap_fver=0 cap_frootid=0\n";
    text += "type=EOE " + stamp + "\n";
    return text;
}

}  // namespace

TEST_CASE("engine loop: the metrics snapshot carries the initiator correlation's figures",
          "[app][metrics][initiator]") {
    outputs::Dispatcher out;
    auto kept = std::make_shared<Kept>();
    app::MessageQueue q(1 << 20);
    const app::ReaderStats rs;
    app::Generation g = test_generation(one_sink(std::make_unique<KeepSink>(kept, "keep")));
    g.rules = rules::load_rules_dir(AUDISP_DOCKER_SOURCE_DIR "/conf/rules");
    app::EngineLoop loop(std::move(g), q, rs, out);
    const std::string id(64, 'a');
    // docker exec of a container by its id, the runtime's exec of it: matched. Another docker
    // exec that no runtime exec follows: still waiting.
    std::string text =
        exec_record(1, 2000, 1999, 1000, "/usr/bin/docker", 5001, {"docker", "exec", id, "sh"});
    text += exec_record(2,
                        2100,
                        1,
                        4294967295U,
                        "/usr/sbin/runc",
                        6001,
                        {"runc",
                         "--root",
                         "/run/docker/runtime-runc/moby",
                         "exec",
                         "--process",
                         "/tmp/p",
                         "--detach",
                         id});
    text +=
        exec_record(3, 2002, 1999, 1001, "/usr/bin/docker", 5001, {"docker", "exec", "web", "sh"});
    REQUIRE(q.try_push_input(app::InputBatch{text}));
    REQUIRE(q.push_control(app::Stop{}));
    loop.run();
    out.stop(1s);
    const auto m = loop.metrics_snapshot();
    CHECK(m.initiator.requests == 2);
    CHECK(m.initiator.matched == 1);
    CHECK(m.initiator.ambiguous == 0);
    CHECK(m.initiator.unmatched == 0);
    CHECK(m.initiator.expired == 0);
    CHECK(m.initiator.dropped == 0);
    CHECK(m.initiator_pending == 1);
    CHECK(m.initiator_pending_bytes > 0);
    const std::string prom = app::format_prometheus(m);
    CHECK(prom.find("\naudisp_docker_initiator_total{outcome=\"matched\"} 1\n") !=
          std::string::npos);
    CHECK(prom.find("\naudisp_docker_initiator_total{outcome=\"unmatched\"} 0\n") !=
          std::string::npos);
    CHECK(prom.find("\naudisp_docker_initiator_requests_total 2\n") != std::string::npos);
    CHECK(prom.find("\naudisp_docker_initiator_pending_requests 1\n") != std::string::npos);
    CHECK(prom.find("\naudisp_docker_initiator_requests_lost_total{reason=\"expired\"} 0\n") !=
          std::string::npos);
    const std::string state = loop.state_json();
    CHECK(
        state.find(
            R"("initiator":{"requests":2,"matched":1,"ambiguous":0,"unmatched":0,"expired":0,"dropped":0,"pending":1,)") !=
        std::string::npos);
}
