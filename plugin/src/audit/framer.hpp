// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/bytes.hpp"

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

/// Seconds beyond this are no real audit time (year 5138): such a record is malformed. Keeps
/// aging arithmetic and calendar conversion far from overflow on crafted stamps.
inline constexpr std::int64_t kMaxAuditSec = 100'000'000'000;

/// Parses the header of a record line. Returns false for a malformed line (seconds outside
/// 0..kMaxAuditSec included).
[[nodiscard]] bool parse_header(std::string_view line, RecordHeader& out);

/// Record type number for a type name ("SYSCALL" → 1300, "UNKNOWN[1337]" → 1337), 0 if unknown.
[[nodiscard]] int record_type_number(std::string_view name);

/// Whether the framer keeps records of this type (SYSCALL, PATH, SOCKADDR, CWD, EXECVE,
/// SECCOMP, PROCTITLE): the others are counted and dropped, so no rule can see them.
[[nodiscard]] bool kept_record_type(int type);

struct FramerStats {
    unsigned long long lines = 0;
    unsigned long long malformed = 0;        ///< lines without a parsable header
    unsigned long long nul_bytes = 0;        ///< NUL bytes removed from lines
    unsigned long long skipped_records = 0;  ///< records of types no detection uses
    unsigned long long events = 0;           ///< events handed on
    unsigned long long completed_by_eoe = 0;
    unsigned long long completed_by_age = 0;       ///< no EOE within the timeout
    unsigned long long completed_by_pressure = 0;  ///< too many events (or bytes) in progress
    /// records beyond an event's byte budget: not kept
    unsigned long long oversize_records = 0;
    /// PROCTITLE of an exec whose EXECVE records are kept
    unsigned long long proctitles_skipped = 0;
    /// auditd's ENRICHED translations not handed to libauparse
    unsigned long long enriched_bytes_cut = 0;
    /// SYSCALL and PATH fields no detection reads, not handed on
    unsigned long long unused_field_bytes_cut = 0;
    std::size_t pending = 0;
    std::size_t max_pending = 0;
    std::size_t pending_bytes = 0;  ///< text of the events in progress
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
    /// The real time in seconds (CLOCK_REALTIME); injectable for tests.
    using WallClock = std::function<std::int64_t()>;

    /// Bytes kept per event: EXECVE records (argv; the parser keeps far less) and the others
    /// each have this budget; records beyond it are counted and dropped.
    static constexpr std::size_t kMaxEventBytes = util::kMiB;
    /// Bytes of all events in progress; beyond it the oldest is completed early.
    static constexpr std::size_t kMaxPendingBytes = 32 * util::kMiB;
    /// Nodes whose stream clocks are followed; events of further nodes age by wall clock only.
    static constexpr std::size_t kMaxNodes = 1024;

    Framer(std::chrono::milliseconds eoe_timeout,
           std::size_t max_pending,
           EventSink sink,
           WallClock wall_clock = {});

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
        std::size_t execve_bytes = 0;  ///< of text, in EXECVE records
    };

    void complete(const Key& key);
    void append_record(std::string_view line,
                       const RecordHeader& h,
                       const Key& key,
                       Clock::time_point now);
    /// The newest second seen from `node_hash`, advanced by `sec` but never past the real time.
    [[nodiscard]] std::int64_t advance_node_clock(std::size_t node_hash, std::int64_t sec);
    /// Whether `key`'s event is older than the EOE timeout by its own node's stream clock.
    [[nodiscard]] bool aged_by_stream(const Key& key) const;

    std::chrono::milliseconds eoe_timeout_;
    std::size_t max_pending_;
    EventSink sink_;
    std::unordered_map<Key, Pending, KeyHash> pending_;
    /// Arrival order, for aging; entries whose generation no longer matches are stale.
    std::deque<std::pair<Key, std::uint64_t>> order_;
    std::uint64_t next_generation_ = 1;
    WallClock wall_clock_;
    /// Per node, the newest second its records carried (bounded by the real time): one node's
    /// clock ahead, or the host's stepping back, must not complete other events by age.
    std::unordered_map<std::size_t, std::int64_t> node_newest_;
    std::string scratch_;
    FramerStats stats_;
};

}  // namespace adock::audit
