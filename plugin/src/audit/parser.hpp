// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <auparse.h>

#include <functional>
#include <memory>
#include <string_view>

#include "audit/event.hpp"
#include "util/bytes.hpp"

namespace adock::audit {

struct ParserStats {
    unsigned long long events = 0;
    unsigned long long feed_errors = 0;   ///< auparse refused the text
    unsigned long long field_errors = 0;  ///< a field we need had a value we could not read
};

/// Turns the text of one complete event (from Framer) into an owned Event through libauparse.
/// Owns the only auparse_state_t: use it from one thread (libauparse 3.0.9 is not thread-safe).
class EventParser {
public:
    using Handler = std::function<void(Event&&)>;

    explicit EventParser(Handler handler);
    EventParser(const EventParser&) = delete;
    EventParser& operator=(const EventParser&) = delete;
    EventParser(EventParser&&) = delete;
    EventParser& operator=(EventParser&&) = delete;
    ~EventParser();

    /// Parses one event's records (EOE-terminated); the handler runs before this returns.
    void parse(std::string_view event_text);

    [[nodiscard]] const ParserStats& stats() const { return stats_; }

    /// Limits on what one event may carry into an alert (argv comes from attackers).
    static constexpr std::size_t kMaxArgs = 1024;
    static constexpr std::size_t kMaxArgBytes = 16 * util::kKiB;

private:
    static void trampoline(auparse_state_t* au, auparse_cb_event_t type, void* self) noexcept;
    void on_event(auparse_state_t* au);

    struct AuparseDeleter {
        void operator()(auparse_state_t* au) const noexcept { auparse_destroy(au); }
    };

    std::unique_ptr<auparse_state_t, AuparseDeleter> au_;
    Handler handler_;
    ParserStats stats_;
};

}  // namespace adock::audit
