// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace adock::audit {

/// Parsed `[node=N ]type=T msg=audit(SEC.MS:SERIAL):` header of one record line.
struct RecordHeader {
    std::string_view node;
    std::string_view type_name;
    int type = 0;
    std::int64_t sec = 0;
    std::uint32_t milli = 0;
    std::uint64_t serial = 0;
};

/// Parses the header of a record line. Returns false for a malformed line.
[[nodiscard]] bool parse_header(std::string_view line, RecordHeader& out);

/// Record type number for a type name ("SYSCALL" → 1300, "UNKNOWN[1337]" → 1337), 0 if unknown.
[[nodiscard]] int record_type_number(std::string_view name);

struct FramerStats {
    unsigned long long lines = 0;
    unsigned long long malformed = 0;       ///< lines without a parsable header
    unsigned long long nul_bytes = 0;       ///< NUL bytes removed from lines
    unsigned long long skipped_records = 0; ///< records of types no detection uses
    unsigned long long events = 0;          ///< events handed on
    unsigned long long completed_by_eoe = 0;
    unsigned long long completed_by_age = 0;      ///< no EOE within the timeout
    unsigned long long completed_by_pressure = 0; ///< too many events in progress
    std::size_t pending = 0;
    std::size_t max_pending = 0;
};

/// Groups record lines into events before libauparse sees them.
///
/// Why this exists: libauparse 3.0.9 in feed mode keeps every event under construction in an
/// array it scans for each record. One event that never gets its EOE (a torn or interleaved
/// stream) stays in that array and later events are then handed out only when they age, so the
/// array grows to thousands of entries and feeding becomes quadratic (3.0 s on the bench stream;
/// 0.4 s when each event is fed whole and terminated). The framer hands auparse exactly one
/// complete, EOE-terminated event at a time and owns the bounded aging itself.
class Framer {
public:
    using Clock = std::chrono::steady_clock;
    /// Receives the text of one complete event: its kept records, then an EOE line.
    using EventSink = std::function<void(std::string_view)>;

    Framer(std::chrono::milliseconds eoe_timeout, std::size_t max_pending, EventSink sink);

    /// One record line, without the trailing newline. NUL bytes are removed.
    void feed_line(std::string_view line, Clock::time_point now);
    /// Completes events that have waited longer than the EOE timeout (call when idle).
    void age(Clock::time_point now);
    /// Completes every event in progress (EOF, shutdown).
    void flush();

    [[nodiscard]] const FramerStats& stats() const { return stats_; }

private:
    struct Key {
        std::uint64_t serial;
        std::int64_t sec;
        std::uint32_t milli;
        std::size_t node_hash;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.serial) ^ (k.node_hash * 31U);
        }
    };
    struct Pending {
        std::string text;
        std::string eoe;  ///< the EOE line to append
        Clock::time_point arrival;
        std::uint64_t generation = 0;
    };

    void complete(const Key& key);
    void append_record(std::string_view line, const RecordHeader& h, Clock::time_point now);

    std::chrono::milliseconds eoe_timeout_;
    std::size_t max_pending_;
    EventSink sink_;
    std::unordered_map<Key, Pending, KeyHash> pending_;
    /// Arrival order, for aging; entries whose generation no longer matches are stale.
    std::deque<std::pair<Key, std::uint64_t>> order_;
    std::uint64_t next_generation_ = 1;
    std::int64_t newest_sec_ = 0;
    std::string scratch_;
    FramerStats stats_;
};

}  // namespace adock::audit
