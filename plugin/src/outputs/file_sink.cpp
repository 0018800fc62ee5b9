// SPDX-License-Identifier: Apache-2.0
#include "outputs/file_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <limits>
#include <utility>

#include "util/errno_text.hpp"
#include "util/log.hpp"
#include "util/safe_file.hpp"
#include "util/thread_name.hpp"

namespace adock::outputs {
namespace {

using Clock = std::chrono::steady_clock;

/// Alerts taken off the queue per write.
constexpr std::size_t kMaxBatch = 4096;
/// How long the worker sleeps without work before it rechecks flags.
constexpr std::chrono::milliseconds kIdleWait{1000};
/// After a failed rotation, keep appending and try again this much later.
constexpr std::chrono::seconds kRotateRetry{60};
constexpr mode_t kFileMode = 0600;

/// renameat() that treats a missing source as success; returns errno or 0.
int rename_if_exists(int dir, const std::string& from, const std::string& to) {
    if (::renameat(dir, from.c_str(), dir, to.c_str()) != 0 && errno != ENOENT) {
        return errno;
    }
    return 0;
}

}  // namespace

JsonLinesSink::JsonLinesSink(config::OutputConfig cfg)
    : cfg_(std::move(cfg)),
      owns_path_(true),
      queue_(cfg_.queue_size),
      deadline_ns_(std::numeric_limits<Clock::rep>::max()) {}

JsonLinesSink::JsonLinesSink(config::OutputConfig cfg, int borrowed_fd)
    : cfg_(std::move(cfg)),
      owns_path_(false),
      borrowed_fd_(borrowed_fd),
      queue_(cfg_.queue_size),
      deadline_ns_(std::numeric_limits<Clock::rep>::max()) {}

FileSink::FileSink(config::OutputConfig cfg) : JsonLinesSink(std::move(cfg)) {}

JsonLinesSink::~JsonLinesSink() {
    if (worker_.joinable()) {
        shutdown(std::chrono::milliseconds(0));
    }
}

bool JsonLinesSink::submit(const AlertMessage& message) {
    return offer_to_queue(queue_, message, cfg_, generated_, dropped_, full_log_);
}

void JsonLinesSink::start() {
    if (worker_.joinable()) {
        return;
    }
    worker_ = std::jthread([this] { run(); });
}

void JsonLinesSink::stop(std::chrono::milliseconds deadline) {
    shutdown(deadline);
}

void JsonLinesSink::shutdown(std::chrono::milliseconds deadline) {
    deadline_ns_.store((Clock::now() + deadline).time_since_epoch().count());
    queue_.close();
    if (worker_.joinable()) {
        worker_.join();
        return;
    }
    // Never started: nothing will write what was queued.
    while (auto left = queue_.pop_for(std::chrono::milliseconds(0))) {
        if (left->json) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
        }
    }
}

void JsonLinesSink::reopen() {
    if (!owns_path_) {
        return;
    }
    reopen_requested_.store(true);
    // Wake the worker. If the queue is full the worker is busy and sees the flag on its next batch.
    static_cast<void>(queue_.try_push(AlertMessage{}));
}

SinkStats JsonLinesSink::stats() const {
    SinkStats s;
    s.generated = generated_.load(std::memory_order_relaxed);
    s.delivered = delivered_.load(std::memory_order_relaxed);
    s.latency = latency_.counts();
    s.failed = failed_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    const auto q = queue_.stats();
    s.queue_depth = q.depth;
    s.queue_max_depth = q.max_depth;
    return s;
}

bool JsonLinesSink::past_deadline() const {
    return Clock::now().time_since_epoch().count() >= deadline_ns_.load();
}

void JsonLinesSink::count_lost(std::size_t n) {
    failed_.fetch_add(n, std::memory_order_relaxed);
    dropped_.fetch_add(n, std::memory_order_relaxed);
}

void JsonLinesSink::take_batch(std::optional<AlertMessage> first,
                               std::vector<AlertMessage>& batch) {
    batch.clear();
    if (first && first->json) {
        batch.push_back(std::move(*first));
    }
    while (batch.size() < kMaxBatch) {
        std::optional<AlertMessage> more = queue_.pop_for(std::chrono::milliseconds(0));
        if (!more) {
            break;
        }
        if (more->json) {  // a message without JSON only woke the worker (reopen)
            batch.push_back(std::move(*more));
        }
    }
}

void JsonLinesSink::run() noexcept {
    util::name_this_thread("adock-file");
    std::vector<AlertMessage> batch;
    std::size_t shutdown_drops = 0;
    while (true) {
        std::optional<AlertMessage> first = queue_.pop_for(kIdleWait);
        if (reopen_requested_.exchange(false)) {
            close_file();  // the next write opens the path afresh
            need_newline_ = false;
        }
        if (!first) {
            if (queue_.closed()) {
                break;
            }
            continue;
        }
        try {
            take_batch(std::move(first), batch);
            if (past_deadline()) {
                shutdown_drops += batch.size();
                dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
            } else if (!batch.empty()) {
                const auto before = delivered_.load(std::memory_order_relaxed);
                write_batch(batch);
                // What reached the file is a prefix of the batch (a torn tail is cut off).
                const auto written = delivered_.load(std::memory_order_relaxed) - before;
                const std::int64_t now_ms = wall_ms();
                for (std::size_t i = 0; i < batch.size() && i < written; ++i) {
                    if (batch[i].alert && batch[i].alert->time_ms != 0) {
                        latency_.observe_between_ms(batch[i].alert->time_ms, now_ms);
                    }
                }
            }
        } catch (const std::exception& e) {
            count_lost(batch.size());
            log::error("output '" + cfg_.name + "': " + e.what());
        } catch (...) {
            count_lost(batch.size());
            log::error("output '" + cfg_.name + "': unknown error while writing");
        }
    }
    finish(shutdown_drops);
}

void JsonLinesSink::finish(std::size_t shutdown_drops) noexcept {
    if (shutdown_drops > 0) {
        log::warning("output '" + cfg_.name + "': shutdown deadline passed, " +
                     std::to_string(shutdown_drops) + " alerts dropped");
    }
    if (owns_path_ && fd_.valid() && ::fsync(fd_.get()) != 0) {
        log::warning("output '" + cfg_.name + "': fsync failed: " + util::errno_text(errno));
    }
    close_file();
}

bool JsonLinesSink::ensure_open() {
    if (!owns_path_) {
        return true;
    }
    if (fd_.valid()) {
        return true;
    }
    // No symlink in any component, a regular file with one link and ours (a hard link or a
    // planted file would receive root's writes); O_NONBLOCK: a FIFO cannot hang the open.
    std::uint64_t size = 0;
    auto fd = util::open_append_nofollow(cfg_.path, kFileMode, true, &size);
    if (!fd) {
        unsigned long long held = 0;
        if (error_log_.allow(held)) {
            log::error("output '" + cfg_.name + "': cannot open " + fd.error().message +
                       (held > 0 ? " (" + std::to_string(held) + " similar errors not logged)"
                                 : std::string()));
        }
        return false;
    }
    // O_NONBLOCK only kept open() from hanging on a FIFO; regular files ignore it.
    fd_ = std::move(*fd);
    size_ = size;
    return true;
}

void JsonLinesSink::close_file() {
    if (!owns_path_) {
        return;
    }
    if (const int err = fd_.close(); err != 0) {
        log::warning("output '" + cfg_.name + "': close failed: " + util::errno_text(err));
    }
}

void JsonLinesSink::rotate() {
    close_file();
    need_newline_ = false;
    const std::string& path = cfg_.path;
    int err = 0;
    std::string problem;
    // Renames in the directory reached without symlinks, by name relative to it.
    const auto where = util::open_parent_nofollow(path, false);
    if (!where) {
        err = ENOENT;
        problem = where.error().message;
    } else if (cfg_.generations == 0) {
        if (::unlinkat(where->dir.get(), where->name.c_str(), 0) != 0 && errno != ENOENT) {
            err = errno;
        }
    } else {
        const int dir = where->dir.get();
        const std::string& base = where->name;
        const std::string oldest = base + "." + std::to_string(cfg_.generations);
        if (::unlinkat(dir, oldest.c_str(), 0) != 0 && errno != ENOENT) {
            err = errno;
        }
        for (unsigned i = cfg_.generations - 1; err == 0 && i >= 1; --i) {
            err = rename_if_exists(
                dir, base + "." + std::to_string(i), base + "." + std::to_string(i + 1));
        }
        if (err == 0) {
            err = rename_if_exists(dir, base, base + ".1");
        }
    }
    if (err != 0) {
        next_rotate_try_ = Clock::now() + kRotateRetry;
        unsigned long long held = 0;
        if (error_log_.allow(held)) {
            log::error("output '" + cfg_.name + "': rotating " + path +
                       " failed: " + (problem.empty() ? util::errno_text(err) : problem) +
                       "; appending to the current file");
        }
    }
}

void JsonLinesSink::write_batch(std::vector<AlertMessage>& batch) {
    if (!ensure_open()) {
        count_lost(batch.size());
        return;
    }
    const bool rotating = owns_path_ && cfg_.max_size_bytes > 0;
    std::string buf;
    std::size_t lines = 0;
    std::size_t index = 0;
    for (; index < batch.size(); ++index) {
        const std::string& json = *batch[index].json;
        const std::uint64_t pending = size_ + buf.size();
        if (rotating && pending > 0 && pending + json.size() + 1 > cfg_.max_size_bytes &&
            Clock::now() >= next_rotate_try_) {
            if (!buf.empty() && !flush(buf, lines)) {
                break;
            }
            buf.clear();
            lines = 0;
            rotate();
            if (!ensure_open()) {
                break;
            }
        }
        if (buf.empty()) {
            buf.reserve(std::min<std::size_t>(batch.size() - index, kMaxBatch) * (json.size() + 1));
            if (need_newline_) {
                buf += '\n';
            }
        }
        buf += json;
        buf += '\n';
        ++lines;
    }
    if (index < batch.size()) {
        count_lost(batch.size() - index);
        return;
    }
    if (!buf.empty()) {
        static_cast<void>(flush(buf, lines));
    }
}

bool JsonLinesSink::flush(std::string& buf, std::size_t lines) {
    const int fd = owns_path_ ? fd_.get() : borrowed_fd_;
    std::size_t off = 0;
    const auto wrote = util::write_all(fd, buf, &off);
    size_ += off;
    if (wrote) {
        need_newline_ = false;
        delivered_.fetch_add(lines, std::memory_order_relaxed);
        return true;
    }
    // A short write (ENOSPC, EFBIG, EIO): what reached the file up to its last newline holds whole
    // alerts; the torn tail after it is cut off, so the file never holds a partial JSON line.
    const auto begin = buf.begin();
    const auto last_nl = buf.rfind('\n', off == 0 ? 0 : off - 1);
    const std::size_t whole = (off == 0 || last_nl == std::string::npos) ? 0 : last_nl + 1;
    auto done = static_cast<std::size_t>(
        std::count(begin, begin + static_cast<std::ptrdiff_t>(whole), '\n'));
    if (whole > 0 && buf.front() == '\n' && need_newline_ && done > 0) {
        --done;  // the newline that closed an earlier partial line, not an alert
    }
    const std::size_t written = std::min(done, lines);
    delivered_.fetch_add(written, std::memory_order_relaxed);
    count_lost(lines - written);

    struct stat st {};

    if (owns_path_ && off > whole && ::fstat(fd, &st) == 0 &&
        static_cast<std::uint64_t>(st.st_size) >= off - whole) {
        // O_APPEND: our bytes are the file's last ones; cut exactly the torn tail.
        const auto keep = static_cast<std::uint64_t>(st.st_size) - (off - whole);
        if (::ftruncate(fd, static_cast<off_t>(keep)) == 0) {
            size_ = keep;
            need_newline_ = false;
        } else {
            need_newline_ = true;  // the next write starts on a new line at least
        }
    } else {
        need_newline_ = off > whole;  // stdout, or cannot cut: the next write starts a new line
    }
    unsigned long long held = 0;
    if (error_log_.allow(held)) {
        log::error("output '" + cfg_.name + "': write failed: " + wrote.error().message + "; " +
                   std::to_string(lines - written) + " alerts lost (" +
                   std::to_string(dropped_.load()) + " so far)" +
                   (off > whole && owns_path_ ? "; the partial line was cut off" : ""));
    }
    return false;
}

}  // namespace adock::outputs
