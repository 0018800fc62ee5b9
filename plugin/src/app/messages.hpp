// SPDX-License-Identifier: Apache-2.0
// What the engine thread is told, in order, on one bounded queue: input from the reader, and
// control messages from the signal thread. Input is bounded by its own budget; control
// messages have a small reserve of their own, so a stop or a reload is never refused because
// the input filled the queue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "app/generation.hpp"

namespace adock::app {

/// Whole record lines read from the input ('\n'-terminated).
struct InputBatch {
    std::string bytes;
};

/// A validated configuration, its rules and started sinks, to adopt in place of the running one.
struct Reload {
    std::unique_ptr<Generation> next;
};

/// SIGUSR1: reopen the file outputs and write the state file.
struct DumpState {};

/// SIGUSR2: one integrity scan.
struct Scan {};

/// End of input: finish the events in progress and return.
struct Stop {
    /// A signal stopped the plugin (not the end of its input): long start-up work (the first
    /// integrity baseline) is cut short rather than waited for.
    bool signalled = false;
};

using Message = std::variant<InputBatch, Reload, DumpState, Scan, Stop>;

class MessageQueue {
    static_assert(std::is_nothrow_move_constructible_v<Message>,
                  "queued types must be nothrow-movable");

public:
    /// `input_capacity_bytes`: input bytes held at once (one batch is always let in, however
    /// large); control messages have kControlReserve.
    explicit MessageQueue(std::size_t input_capacity_bytes);

    static constexpr std::size_t kControlReserve = 64;

    /// The reader's push: never blocks. False (and counted) when the input budget is used up;
    /// `batch` is moved from only when this returns true (the caller counts what it dropped).
    [[nodiscard]] bool try_push_input(InputBatch& batch);

    /// The same for a batch the caller does not look at again.
    [[nodiscard]] bool try_push_input(InputBatch&& batch) { return try_push_input(batch); }

    /// For a regular file (nobody to stall): waits up to `timeout` for room. `batch` is moved
    /// from only when this returns true, so a caller may try again with it.
    [[nodiscard]] bool push_input_wait(InputBatch& batch, std::chrono::milliseconds timeout);
    /// Control messages: never blocks; false (and counted) beyond the reserve or once closed.
    [[nodiscard]] bool push_control(Message&& m);

    /// Waits up to `timeout` for a message. nullopt on timeout, or when closed and empty.
    std::optional<Message> pop_for(std::chrono::milliseconds timeout);

    /// Refuses further pushes and wakes every waiter; what is queued can still be popped.
    void close();
    [[nodiscard]] bool closed() const;

    struct Stats {
        std::size_t depth = 0;      ///< input batches queued
        std::size_t max_depth = 0;  ///< ... at most, since start
        std::size_t bytes = 0;      ///< input bytes queued
        std::size_t max_bytes = 0;  ///< ... at most, since start
        std::size_t capacity = 0;   ///< input budget, bytes
        std::size_t control_depth = 0;
        unsigned long long input_drops = 0;
        unsigned long long control_drops = 0;
    };

    [[nodiscard]] Stats stats() const;

private:
    void push_locked(Message&& m, std::size_t input_bytes, bool input);

    [[nodiscard]] bool input_room(std::size_t bytes) const {
        return input_depth_ == 0 || input_bytes_ + bytes <= input_capacity_;
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;        ///< a message arrived, or closed
    std::condition_variable space_cv_;  ///< input budget freed, or closed
    std::deque<Message> items_;
    std::size_t input_capacity_;
    std::size_t input_depth_ = 0;
    std::size_t input_bytes_ = 0;
    std::size_t max_bytes_ = 0;
    std::size_t control_depth_ = 0;
    std::size_t max_depth_ = 0;
    unsigned long long input_drops_ = 0;
    unsigned long long control_drops_ = 0;
    bool closed_ = false;
};

}  // namespace adock::app
