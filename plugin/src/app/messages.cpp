// SPDX-License-Identifier: Apache-2.0
#include "app/messages.hpp"

#include <algorithm>

namespace adock::app {

MessageQueue::MessageQueue(std::size_t input_capacity_bytes)
    : input_capacity_(input_capacity_bytes == 0 ? 1 : input_capacity_bytes) {}

void MessageQueue::push_locked(Message&& m, std::size_t input_bytes, bool input) {
    items_.push_back(std::move(m));
    if (input) {
        ++input_depth_;
        input_bytes_ += input_bytes;
        max_depth_ = std::max(max_depth_, input_depth_);
        max_bytes_ = std::max(max_bytes_, input_bytes_);
    } else {
        ++control_depth_;
    }
}

bool MessageQueue::try_push_input(InputBatch& batch) {
    {
        const std::scoped_lock lock(mu_);
        if (closed_ || !input_room(batch.bytes.size())) {
            ++input_drops_;
            return false;
        }
        const std::size_t n = batch.bytes.size();
        push_locked(Message(std::move(batch)), n, true);
    }
    cv_.notify_one();
    return true;
}

bool MessageQueue::push_input_wait(InputBatch& batch, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    const std::size_t n = batch.bytes.size();
    if (!space_cv_.wait_for(lock, timeout, [&] { return closed_ || input_room(n); }) || closed_) {
        return false;
    }
    push_locked(Message(std::move(batch)), n, true);
    lock.unlock();
    cv_.notify_one();
    return true;
}

bool MessageQueue::push_control(Message&& m) {
    {
        const std::scoped_lock lock(mu_);
        if (closed_ || control_depth_ >= kControlReserve) {
            ++control_drops_;
            return false;
        }
        push_locked(std::move(m), 0, false);
    }
    cv_.notify_one();
    return true;
}

std::optional<Message> MessageQueue::pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); }) ||
        items_.empty()) {
        return std::nullopt;
    }
    Message m = std::move(items_.front());
    items_.pop_front();
    const auto* batch = std::get_if<InputBatch>(&m);
    const bool input = batch != nullptr;
    if (input) {
        --input_depth_;
        input_bytes_ -= batch->bytes.size();
    } else {
        --control_depth_;
    }
    lock.unlock();
    if (input) {
        space_cv_.notify_one();
    }
    return m;
}

void MessageQueue::close() {
    {
        const std::scoped_lock lock(mu_);
        closed_ = true;
    }
    cv_.notify_all();
    space_cv_.notify_all();
}

bool MessageQueue::closed() const {
    const std::scoped_lock lock(mu_);
    return closed_;
}

MessageQueue::Stats MessageQueue::stats() const {
    const std::scoped_lock lock(mu_);
    return Stats{input_depth_,
                 max_depth_,
                 input_bytes_,
                 max_bytes_,
                 input_capacity_,
                 control_depth_,
                 input_drops_,
                 control_drops_};
}

}  // namespace adock::app
