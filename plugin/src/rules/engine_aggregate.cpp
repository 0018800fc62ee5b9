// SPDX-License-Identifier: Apache-2.0
// aggregate: repeats of a rule's match within its window fold into one alert that counts them
// and keeps their distinct values; the window closes on stream time or, live, the wall clock.
#include "rules/engine_context.hpp"
#include "rules/fold.hpp"

namespace adock::rules {

using detail::set_argv;

namespace {

/// argv bytes of the alert an aggregation window keeps (4096 windows): the distinct command
/// lines are kept apart, the whole argv's hash stays.
constexpr std::size_t kWindowArgvBytes = 1024;

void shrink_for_window(Alert& a) {
    if (audit::argv_bytes(a.process.argv) > kWindowArgvBytes) {
        const std::vector<std::string> argv = std::move(a.process.argv);
        set_argv(a.process,
                 argv,
                 {kWindowArgvBytes, kWindowArgvBytes},
                 a.process.truncated,
                 a.process.argv_sha256,
                 a.process.argc);
    }
}

constexpr std::size_t kMaxWindows = 4096;

}  // namespace

void Engine::aggregate(
    const Rule& rule, Alert&& alert, std::int64_t sec, std::int64_t ms, const ImageProbe* probe) {
    std::string key = rule.id;
    for (const ByField* field : rule.aggregate->by) {
        key += '\x1f';
        field->append(alert, key);
    }
    auto it = windows_.find(key);
    if (it != windows_.end()) {
        ++it->second.repeats;
        ++stats_.aggregated;
        for (auto& d : it->second.distinct) {
            d.add(alert);
        }
        it->second.last = std::move(alert);
        shrink_for_window(it->second.last);
        return;
    }
    if (windows_.size() >= kMaxWindows) {
        // Bounded: close the window that ends first to make room (its count goes out now).
        auto oldest =
            std::min_element(windows_.begin(), windows_.end(), [](const auto& x, const auto& y) {
                return x.second.end_sec < y.second.end_sec;
            });
        close_window(oldest->second);
        windows_.erase(oldest);
    }
    Aggregation agg;
    agg.window_s = rule.aggregate->window_s;
    agg.end_sec = sec + static_cast<std::int64_t>(agg.window_s);
    agg.last = alert;
    shrink_for_window(agg.last);
    for (const FoldField* f : rule.aggregate->distinct) {
        agg.distinct.emplace_back(*f);
        agg.distinct.back().add(alert);
    }
    agg.end_wall = clock_.now() + std::chrono::seconds(agg.window_s);
    alert.count = 1;
    next_expiry_sec_ = std::min(next_expiry_sec_, agg.end_sec);
    windows_.emplace(std::move(key), std::move(agg));
    emit(std::move(alert), ms, probe);
}

void Engine::close_window(Aggregation& agg) {
    if (agg.repeats == 0) {
        return;
    }
    Alert a = std::move(agg.last);
    a.count = agg.repeats;
    a.summary += " (repeated " + std::to_string(agg.repeats) + " more time" +
                 (agg.repeats == 1 ? "" : "s") + " within " + std::to_string(agg.window_s) +
                 " s of the first alert";
    for (const auto& d : agg.distinct) {
        d.describe(a.summary);
        DistinctValues r = d.report();
        if (!r.values.empty()) {
            a.distinct.push_back(std::move(r));
        }
    }
    a.summary += ")";
    emit(std::move(a), agg.end_sec > INT64_MAX / 1000 - 1 ? INT64_MAX - 1000 : agg.end_sec * 1000);
}

void Engine::close_expired(std::int64_t sec, std::chrono::steady_clock::time_point now) {
    next_expiry_sec_ = INT64_MAX;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (sec >= it->second.end_sec || now >= it->second.end_wall) {
            close_window(it->second);
            it = windows_.erase(it);
        } else {
            next_expiry_sec_ = std::min(next_expiry_sec_, it->second.end_sec);
            ++it;
        }
    }
}

}  // namespace adock::rules
