// SPDX-License-Identifier: Apache-2.0
// util::Clock (issue 13): the real clock, and the ManualClock tests set instead of sleeping.
#include <chrono>
#include <thread>
#include <vector>

#include "test_catch.hpp"
#include "util/clock.hpp"

using adock::util::Clock;
using adock::util::ManualClock;
using namespace std::chrono_literals;

TEST_CASE("ManualClock moves only when told", "[util][clock]") {
    ManualClock clock;
    const Clock& as_clock = clock;
    CHECK(as_clock.now() == ManualClock::kStart);
    CHECK(as_clock.now() > Clock::time_point{});  // time_point{} stays "long ago"
    CHECK(clock.now() == ManualClock::kStart);    // nothing moved it
    clock.advance(300ms);
    CHECK(as_clock.now() == ManualClock::kStart + 300ms);
    clock.advance(1ns);
    CHECK(as_clock.now() == ManualClock::kStart + 300ms + 1ns);
    clock.set(ManualClock::kStart + 1h);
    CHECK(as_clock.now() == ManualClock::kStart + 1h);
    const ManualClock other(Clock::time_point{5s});
    CHECK(other.now() == Clock::time_point{5s});
}

TEST_CASE("ManualClock: one thread advances, others read, every step seen once", "[util][clock]") {
    ManualClock clock;
    constexpr int kSteps = 10000;
    std::vector<std::jthread> readers;
    std::atomic<bool> backwards{false};
    for (int r = 0; r < 2; ++r) {
        readers.emplace_back([&] {
            auto last = clock.now();
            while (last < ManualClock::kStart + std::chrono::milliseconds(kSteps)) {
                const auto t = clock.now();
                if (t < last) {
                    backwards = true;
                }
                last = t;
            }
        });
    }
    for (int i = 0; i < kSteps; ++i) {
        clock.advance(1ms);
    }
    readers.clear();  // joined: each saw the last step
    CHECK_FALSE(backwards.load());
    CHECK(clock.now() == ManualClock::kStart + std::chrono::milliseconds(kSteps));
}

TEST_CASE("the real clock is the steady clock; waits on a ManualClock look again soon",
          "[util][clock]") {
    const Clock& real = adock::util::real_clock();
    CHECK(&real == &adock::util::real_clock());  // one, process-wide
    const auto before = std::chrono::steady_clock::now();
    const auto t = real.now();
    const auto after = std::chrono::steady_clock::now();
    CHECK(before <= t);
    CHECK(t <= after);
    // A real wait is the wait itself; on a ManualClock it is cut to a short recheck.
    CHECK(real.real_wait(10s) == 10s);
    const ManualClock manual;
    CHECK(manual.real_wait(10s) == 1ms);
    CHECK(manual.real_wait(100us) == 100us);
}
