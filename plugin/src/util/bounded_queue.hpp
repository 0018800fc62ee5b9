// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

namespace adock::util {

/// A bounded multi-producer multi-consumer queue. Producers on the hot path use try_push, which
/// never blocks; consumers wait with pop_for. close() wakes every waiter; after close, pops drain
/// what is left and then return nullopt.
template <class T>
class BoundedQueue {
    static_assert(std::is_nothrow_move_constructible_v<T>, "queued types must be nothrow-movable");

public:
    explicit BoundedQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

    /// Returns false (and counts a drop) when the queue is full or closed.
    [[nodiscard]] bool try_push(T&& item) {
        {
            std::scoped_lock lock(mu_);
            if (closed_ || items_.size() >= capacity_) {
                ++drops_;
                return false;
            }
            enqueue_locked(std::move(item));
        }
        cv_.notify_one();
        return true;
    }

    /// Moves as many of `items` in as there is room for, under one lock and with one wake-up
    /// (a batch costs the consumer one hand-off, not one per item). Returns how many were
    /// taken, from the front; the rest are counted as drops and left in `items`.
    [[nodiscard]] std::size_t try_push_all(std::vector<T>& items) {
        std::size_t taken = 0;
        {
            std::scoped_lock lock(mu_);
            while (!closed_ && taken < items.size() && items_.size() < capacity_) {
                enqueue_locked(std::move(items[taken]));
                ++taken;
            }
            drops_ += items.size() - taken;
        }
        if (taken > 0) {
            cv_.notify_one();
        }
        return taken;
    }

    /// Blocking push for control-plane producers that may wait (never the stdin reader).
    bool push_wait(T&& item, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        if (!space_cv_.wait_for(
                lock, timeout, [&] { return closed_ || items_.size() < capacity_; }) ||
            closed_) {
            ++drops_;
            return false;
        }
        enqueue_locked(std::move(item));
        lock.unlock();
        cv_.notify_one();
        return true;
    }

    /// Waits up to `timeout` for an item. nullopt on timeout or when closed and empty.
    std::optional<T> pop_for(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) {
            return std::nullopt;
        }
        if (items_.empty()) {
            return std::nullopt;
        }
        T item = std::move(items_.front());
        items_.pop_front();
        lock.unlock();
        space_cv_.notify_one();
        return item;
    }

    void close() {
        {
            std::scoped_lock lock(mu_);
            closed_ = true;
        }
        cv_.notify_all();
        space_cv_.notify_all();
    }

    [[nodiscard]] bool closed() const {
        std::scoped_lock lock(mu_);
        return closed_;
    }

    struct Stats {
        std::size_t depth = 0;
        std::size_t max_depth = 0;
        std::size_t capacity = 0;
        unsigned long long pushed = 0;
        unsigned long long drops = 0;
    };

    [[nodiscard]] Stats stats() const {
        std::scoped_lock lock(mu_);
        return Stats{items_.size(), max_depth_, capacity_, pushed_, drops_};
    }

private:
    /// Appends one item and counts it; mu_ held, room checked.
    void enqueue_locked(T&& item) {
        items_.push_back(std::move(item));
        ++pushed_;
        max_depth_ = std::max(max_depth_, items_.size());
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::condition_variable space_cv_;
    std::deque<T> items_;
    std::size_t capacity_;
    std::size_t max_depth_ = 0;
    unsigned long long pushed_ = 0;
    unsigned long long drops_ = 0;
    bool closed_ = false;
};

}  // namespace adock::util
