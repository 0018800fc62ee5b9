// SPDX-License-Identifier: Apache-2.0
#include "outputs/dispatcher.hpp"

#include <thread>

namespace adock::outputs {

std::vector<std::unique_ptr<Sink>> Dispatcher::replace(std::vector<std::unique_ptr<Sink>> sinks) {
    const std::scoped_lock lock(mu_);
    sinks_.swap(sinks);
    return sinks;
}

void Dispatcher::dispatch(Alert&& alert) {
    AlertMessage msg;
    msg.json = std::make_shared<const std::string>(to_json(alert));
    msg.alert = std::make_shared<const Alert>(std::move(alert));
    const std::scoped_lock lock(mu_);
    ++alerts_;
    for (auto& s : sinks_) {
        (void)s->submit(msg);  // a refusal is counted by the sink itself
    }
}

void Dispatcher::reopen() {
    const std::scoped_lock lock(mu_);
    for (auto& s : sinks_) {
        s->reopen();
    }
}

void Dispatcher::stop(std::chrono::milliseconds deadline) {
    std::vector<std::unique_ptr<Sink>> sinks;
    {
        const std::scoped_lock lock(mu_);
        sinks.swap(sinks_);
    }
    // In parallel: a dead endpoint using up the deadline must not cost the file its drain.
    std::vector<std::thread> stoppers;
    stoppers.reserve(sinks.size());
    for (auto& s : sinks) {
        stoppers.emplace_back([&s, deadline] { s->stop(deadline); });
    }
    for (auto& t : stoppers) {
        t.join();
    }
}

std::vector<NamedStats> Dispatcher::stats() const {
    const std::scoped_lock lock(mu_);
    std::vector<NamedStats> out;
    for (const auto& s : sinks_) {
        out.push_back({s->name(), s->stats()});
    }
    return out;
}

unsigned long long Dispatcher::alerts() const {
    const std::scoped_lock lock(mu_);
    return alerts_;
}

}  // namespace adock::outputs
