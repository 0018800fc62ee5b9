// SPDX-License-Identifier: Apache-2.0
// A per-output spool on disk: payloads an output could not deliver, kept in order until it can.
//
// Layout: a directory (0700) of segment files `<16 digits>.seg` (0600), each a sequence of
// records `<decimal length>\n<payload>\n`, and a `cursor` file naming the first undelivered byte
// (`<segment> <offset>`, fixed width, rewritten in place). Segments are appended to, read from the
// front and deleted once delivered. A record cut short by a crash is detected at open and the tail
// is truncated. The total size of the segment files is bounded: append() refuses beyond it.
//
// One process holds a spool at a time (flock on `lock`); within the process, open() shares one
// instance per directory so an output being replaced by a reload and its successor use the same
// spool (every method locks). Payloads are what goes on the wire
// minus secrets (keys travel in headers or are spliced in at send time, never written here).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.hpp"
#include "util/unique_fd.hpp"

namespace adock::outputs {

class Spool {
public:
    /// Opens (creating) the spool in `dir`. Throws std::runtime_error when the directory cannot
    /// be created or read, or is not owned by us with mode 0700 or stricter.
    Spool(std::string dir, std::uint64_t max_bytes, std::uint64_t segment_bytes = util::kMiB);

    /// The process's instance for `dir` (made on first use). Throws like the constructor, also
    /// when another process holds the spool.
    [[nodiscard]] static std::shared_ptr<Spool> open(const std::string& dir,
                                                     std::uint64_t max_bytes);

    enum class Append { Ok, Full, Error };
    /// Appends one record (written through to the kernel before returning).
    [[nodiscard]] Append append(std::string_view payload);
    /// Appends records in order with one write, as many as the bound allows; how many were.
    [[nodiscard]] std::size_t append_many(const std::vector<std::string>& payloads);

    [[nodiscard]] bool empty() const {
        const std::scoped_lock lock(mu_);
        return pending_ == 0;
    }

    /// Records not yet delivered.
    [[nodiscard]] std::uint64_t pending() const {
        const std::scoped_lock lock(mu_);
        return pending_;
    }

    /// Bytes on disk (what the bound applies to).
    [[nodiscard]] std::uint64_t bytes() const {
        const std::scoped_lock lock(mu_);
        return bytes_;
    }

    [[nodiscard]] std::uint64_t max_bytes() const { return max_bytes_; }

    [[nodiscard]] const std::string& dir() const { return dir_; }

    /// One reader at a time: after a reload an output and its successor share the spool, and
    /// only one of them may send and pop its head (two would deliver one record twice and pop
    /// one that was never sent). True when `who` is (now) the reader.
    [[nodiscard]] bool acquire_reader(const void* who) {
        const std::scoped_lock lock(mu_);
        if (reader_ == nullptr || reader_ == who) {
            reader_ = who;
            return true;
        }
        return false;
    }

    void release_reader(const void* who) {
        const std::scoped_lock lock(mu_);
        if (reader_ == who) {
            reader_ = nullptr;
            head_.reset();  // the next reader reads it again
        }
    }

    /// The oldest undelivered record; nullopt when empty or unreadable (then the spool is reset
    /// past the damage and the loss is reported by `lost()`).
    [[nodiscard]] std::optional<std::string> front();
    /// Marks the record front() returned as delivered (or given up).
    void pop();

    /// Records lost to damage found on disk (a corrupt record, a vanished segment).
    [[nodiscard]] std::uint64_t lost() const {
        const std::scoped_lock lock(mu_);
        return lost_;
    }

    /// fdatasync of the segments filled since the last call, of the one being written and of the
    /// cursor. Thread-safe, and waits without holding the spool's lock (a syncer thread calls it).
    void sync();

private:
    struct Segment {
        std::uint64_t id = 0;
        std::uint64_t size = 0;     ///< bytes in the file
        std::uint64_t records = 0;  ///< records at or after the cursor (front segment) / in it
    };

    [[nodiscard]] std::optional<std::string> front_locked();
    [[nodiscard]] static std::string seg_name(std::uint64_t id);
    [[nodiscard]] std::string seg_path(std::uint64_t id) const;
    /// Counts the records of a segment from `offset`, truncating a torn tail. Returns the count.
    std::uint64_t scan_segment(Segment& seg, std::uint64_t offset);
    void write_cursor();
    void drop_front_segment();
    bool open_tail_for_append();
    /// Writes `records` (`count` of them, already framed) to the tail segment.
    Append write_records(const std::string& records, std::uint64_t count);

    mutable std::mutex mu_;
    std::string dir_;
    std::uint64_t max_bytes_;
    /// the directory, reached without symlinks; every file is opened in it
    util::UniqueFd dir_fd_;
    util::UniqueFd lock_fd_;  ///< flock: one process per spool
    std::uint64_t segment_bytes_;
    std::deque<Segment> segments_;   ///< oldest first
    std::uint64_t read_offset_ = 0;  ///< in segments_.front()
    std::uint64_t next_id_ = 1;      ///< the next segment's id
    std::uint64_t pending_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t lost_ = 0;
    util::UniqueFd cursor_fd_;
    util::UniqueFd read_fd_;  ///< segments_.front(), opened lazily
    std::uint64_t read_fd_id_ = 0;
    util::UniqueFd write_fd_;               ///< segments_.back(), opened lazily
    std::vector<util::UniqueFd> unsynced_;  ///< filled segments whose fdatasync is still due
    std::uint64_t write_fd_id_ = 0;
    std::optional<std::string> head_;  ///< front() cached until pop()
    const void* reader_ = nullptr;     ///< acquire_reader()
    std::uint64_t head_size_ = 0;      ///< bytes of the cached head record on disk
};

}  // namespace adock::outputs
