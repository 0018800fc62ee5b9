// SPDX-License-Identifier: Apache-2.0
#include "audit/framer.hpp"

#include <libaudit.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <mutex>

#include "audit/record_types.hpp"

namespace adock::audit {
namespace {

/// Record types a detection reads; others are counted and not kept.
bool kept_type(int type) {
    switch (type) {
        case kTypeSyscall:
        case kTypePath:
        case kTypeSockaddr:
        case kTypeCwd:
        case kTypeExecve:
        case kTypeSeccomp:
        case kTypeProctitle:
            return true;
        default:
            return false;
    }
}

template <class T>
bool parse_number(std::string_view s, T& out) {
    const auto* first = s.data();
    const auto* last = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(first, last, out);
    return ec == std::errc() && ptr == last;
}

}  // namespace

bool kept_record_type(int type) {
    return kept_type(type);
}

int record_type_number(std::string_view name) {
    struct Known {
        std::string_view name;
        int type;
    };

    static constexpr std::array<Known, 11> kKnown = {{{"SYSCALL", kTypeSyscall},
                                                      {"PATH", kTypePath},
                                                      {"CWD", kTypeCwd},
                                                      {"EXECVE", kTypeExecve},
                                                      {"PROCTITLE", kTypeProctitle},
                                                      {"EOE", kTypeEoe},
                                                      {"BPRM_FCAPS", kTypeBprmFcaps},
                                                      {"SECCOMP", kTypeSeccomp},
                                                      {"SOCKADDR", kTypeSockaddr},
                                                      {"OPENAT2", kTypeOpenat2},
                                                      {"CONFIG_CHANGE", kTypeConfigChange}}};
    for (const auto& k : kKnown) {
        if (k.name == name) {
            return k.type;
        }
    }
    constexpr std::string_view kUnknown = "UNKNOWN[";
    if (name.starts_with(kUnknown) && name.ends_with("]")) {
        int n = 0;
        if (parse_number(name.substr(kUnknown.size(), name.size() - kUnknown.size() - 1), n)) {
            return n;
        }
        return 0;
    }
    if (name.empty() || name.size() > 32) {
        return 0;
    }
    const std::string owned(name);
    return std::max(audit_name_to_msg_type(owned.c_str()), 0);
}

bool parse_header(std::string_view line, RecordHeader& out) {
    out = RecordHeader{};
    if (line.starts_with("node=")) {
        const auto sp = line.find(' ');
        if (sp == std::string_view::npos) {
            return false;
        }
        out.node = line.substr(5, sp - 5);
        line.remove_prefix(sp + 1);
    }
    if (!line.starts_with("type=")) {
        return false;
    }
    line.remove_prefix(5);
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) {
        return false;
    }
    out.type_name = line.substr(0, sp);
    line.remove_prefix(sp + 1);
    constexpr std::string_view kMsg = "msg=audit(";
    if (!line.starts_with(kMsg)) {
        return false;
    }
    line.remove_prefix(kMsg.size());
    const auto close = line.find("):");
    if (close == std::string_view::npos) {
        return false;
    }
    const std::string_view stamp = line.substr(0, close);
    const auto dot = stamp.find('.');
    const auto colon = stamp.find(':');
    if (dot == std::string_view::npos || colon == std::string_view::npos || colon < dot) {
        return false;
    }
    if (!parse_number(stamp.substr(0, dot), out.sec) ||
        !parse_number(stamp.substr(dot + 1, colon - dot - 1), out.milli) ||
        !parse_number(stamp.substr(colon + 1), out.serial)) {
        return false;
    }
    if (out.sec < 0 || out.sec > kMaxAuditSec || out.milli > 999) {
        return false;
    }
    out.type = record_type_number(out.type_name);
    return true;
}

Framer::Framer(std::chrono::milliseconds eoe_timeout,
               std::size_t max_pending,
               EventSink sink,
               WallClock wall_clock)
    : eoe_timeout_(eoe_timeout),
      max_pending_(max_pending == 0 ? 1 : max_pending),
      sink_(std::move(sink)),
      wall_clock_(wall_clock ? std::move(wall_clock) : WallClock([] {
          return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
      })) {}

std::int64_t Framer::advance_node_clock(std::size_t node_hash, std::int64_t sec) {
    auto it = node_newest_.find(node_hash);
    if (it == node_newest_.end()) {
        if (node_newest_.size() >= kMaxNodes) {
            return sec;  // not followed: its events age by wall clock and pressure only
        }
        it = node_newest_.emplace(node_hash, 0).first;
    }
    if (sec > it->second) {
        // A clock ahead of the real time counts only up to it (plus the timeout's slack).
        const std::int64_t wall = wall_clock_();
        it->second = std::max(it->second, std::min(sec, wall + 1));
    }
    return it->second;
}

bool Framer::aged_by_stream(const Key& key) const {
    const auto it = node_newest_.find(key.node_hash);
    if (it == node_newest_.end()) {
        return false;
    }
    // Both in 0..kMaxAuditSec (parse_header): no overflow.
    const std::int64_t timeout_s = std::max<std::int64_t>(1, eoe_timeout_.count() / 1000);
    return it->second - key.sec > timeout_s;
}

void Framer::feed_line(std::string_view line, Clock::time_point now) {
    ++stats_.lines;
    if (line.find('\0') != std::string_view::npos) {
        scratch_.clear();
        for (const char c : line) {
            if (c == '\0') {
                ++stats_.nul_bytes;
            } else {
                scratch_ += c;
            }
        }
        line = scratch_;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    if (line.empty()) {
        return;
    }
    RecordHeader h;
    if (!parse_header(line, h)) {
        ++stats_.malformed;
        return;
    }
    const Key key{h.serial, h.sec, h.milli, std::hash<std::string_view>{}(h.node)};
    (void)advance_node_clock(key.node_hash, h.sec);
    if (h.type == kTypeEoe) {
        if (pending_.contains(key)) {
            ++stats_.completed_by_eoe;
            complete(key);
        }
    } else if (h.type == kTypeCwd &&
               line.find(" cwd=", line.find(" cwd=") + 1) != std::string_view::npos) {
        // The kernel writes one cwd field (quoted without spaces, or hex); a second one is a
        // crafted line, and libauparse 3.0.9 leaks the first one's copy on it (a fuzz finding).
        ++stats_.malformed;
    } else if (kept_type(h.type)) {
        const auto found = pending_.find(key);
        const bool first = found == pending_.end();
        if (h.type == kTypeProctitle && !first && found->second.execve_bytes > 0) {
            // The EXECVE records have the whole argv: the title (its first 128 bytes) would
            // only cost libauparse a field to tokenize.
            ++stats_.proctitles_skipped;
        } else {
            append_record(line, h, key, now);
        }
        // The kernel writes PROCTITLE last (only EOE follows); saved logs lack EOE. A seccomp
        // kill arrives alone: the syscall never returns, so no SYSCALL record and no EOE follow.
        // Waiting for either would delay the alert by the EOE timeout.
        if (h.type == kTypeProctitle || (h.type == kTypeSeccomp && first)) {
            ++stats_.completed_by_eoe;
            complete(key);
        }
    } else {
        ++stats_.skipped_records;
    }

    // Stream-time aging: an event whose last chance for an EOE has passed in its node's time.
    while (!order_.empty()) {
        const auto& [front_key, gen] = order_.front();
        auto it = pending_.find(front_key);
        if (it == pending_.end() || it->second.generation != gen) {
            order_.pop_front();
            continue;
        }
        if (aged_by_stream(front_key)) {
            ++stats_.completed_by_age;
            complete(front_key);
            continue;
        }
        if (pending_.size() > max_pending_ || stats_.pending_bytes > kMaxPendingBytes) {
            ++stats_.completed_by_pressure;
            complete(front_key);
            continue;
        }
        break;
    }
}

namespace {

/// auditd's translation of a SYSCALL record's auid (AUID="alice" after \x1d): the login
/// user's name as the host's passwd had it when auditd wrote the record. Only a plain user
/// name is kept (1 to 32 of [A-Za-z0-9._-], not "unset"); anything else is no name.
std::string_view auid_name(std::string_view tail) {
    constexpr std::string_view kField = " AUID=\"";
    auto at = tail.find(kField);
    if (at == std::string_view::npos) {
        if (!tail.starts_with("\x1d"
                              "AUID=\"")) {
            return {};
        }
        at = 0;
    }
    const auto start = at + kField.size();
    const auto end = tail.find('"', start);
    if (end == std::string_view::npos || end == start || end - start > 32) {
        return {};
    }
    const std::string_view name = tail.substr(start, end - start);
    for (const char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
              c == '-')) {
            return {};
        }
    }
    return name == "unset" ? std::string_view{} : name;
}

/// Whether the parser (parser.cpp) reads this field of a SYSCALL record: the others (items,
/// gid, suid, fsuid, egid, sgid, fsgid, tty, ses, subj, ...) are not handed to libauparse.
bool syscall_field_used(std::string_view name) {
    switch (name.size()) {
        case 2:
            return name[0] == 'a' && name[1] >= '0' && name[1] <= '3';
        case 3:
            return name == "pid" || name == "uid" || name == "exe" || name == "key";
        case 4:
            return name == "arch" || name == "exit" || name == "ppid" || name == "auid" ||
                   name == "euid" || name == "comm";
        case 7:
            return name == "syscall" || name == "success";
        default:
            return false;
    }
}

/// The same for a PATH record: not ogid and the capability fields.
bool path_field_used(std::string_view name) {
    return name == "item" || name == "name" || name == "inode" || name == "dev" || name == "mode" ||
           name == "ouid" || name == "rdev" || name == "nametype";
}

}  // namespace

void Framer::append_record(std::string_view line,
                           const RecordHeader& h,
                           const Key& key,
                           Clock::time_point now) {
    // ENRICHED logs append auditd's translations after \x1d (the kernel hex-encodes any
    // control byte in a value, so this is only ever auditd's separator). Detections read none
    // but the login user's name (an initiator's `user`): libauparse is spared tokenizing them,
    // and gets that one as a field of our own after the kernel's (which cannot name it: the
    // kernel quotes or hex-encodes any value holding a space).
    std::string_view user;
    if (const auto gs = line.find('\x1d'); gs != std::string_view::npos) {
        if (h.type == kTypeSyscall) {
            user = auid_name(line.substr(gs));
        }
        stats_.enriched_bytes_cut += line.size() - gs;
        line = line.substr(0, gs);
    }
    auto [it, inserted] = pending_.try_emplace(key);
    Pending& p = it->second;
    if (inserted) {
        p.arrival = now;
        p.generation = next_generation_++;
        p.text.reserve(1024);
        order_.emplace_back(key, p.generation);
        // The EOE line auparse needs to close the event, with the same node and stamp.
        const auto header_end = line.find("):");
        const auto type_pos = line.find("type=");
        p.eoe.reserve(64);
        p.eoe.append(line.substr(0, type_pos));
        p.eoe += "type=EOE ";
        const auto msg_pos = line.find("msg=audit(");
        p.eoe.append(line.substr(msg_pos, header_end + 2 - msg_pos));
        p.eoe += " \n";
        if (pending_.size() > stats_.max_pending) {
            stats_.max_pending = pending_.size();
        }
    }
    // A byte budget per event: EXECVE records (argv, attacker-sized) and the rest separately,
    // so a long argv cannot push out the PATH records that name the program and its files.
    const bool execve = h.type == kTypeExecve;
    const std::size_t used = execve ? p.execve_bytes : p.text.size() - p.execve_bytes;
    constexpr std::string_view kUserField = " adock_user=";
    const std::size_t size = line.size() + (user.empty() ? 0 : kUserField.size() + user.size()) + 1;
    if (used + size > kMaxEventBytes) {
        ++stats_.oversize_records;
        stats_.pending = pending_.size();
        return;
    }
    const std::size_t start = p.text.size();
    if (h.type == kTypeSyscall || h.type == kTypePath) {
        // Only the fields a detection reads: libauparse tokenizes (and allocates) per field.
        // Fields are split at spaces as libauparse splits them (the kernel hex-encodes a value
        // holding a space).
        const auto body = line.find("): ");
        if (body == std::string_view::npos) {
            p.text.append(line);
        } else {
            const std::size_t before = p.text.size();
            p.text.append(line.substr(0, body + 2));
            std::string_view rest = line.substr(body + 3);
            while (!rest.empty()) {
                const auto sp = rest.find(' ');
                const std::string_view field = rest.substr(0, sp);
                const std::string_view name = field.substr(0, field.find('='));
                if (h.type == kTypeSyscall ? syscall_field_used(name) : path_field_used(name)) {
                    p.text += ' ';
                    p.text.append(field);
                }
                if (sp == std::string_view::npos) {
                    break;
                }
                rest.remove_prefix(sp + 1);
            }
            stats_.unused_field_bytes_cut += line.size() - (p.text.size() - before);
        }
    } else {
        p.text.append(line);
    }
    if (!user.empty()) {
        p.text.append(kUserField).append(user);
    }
    p.text += '\n';
    const std::size_t appended = p.text.size() - start;
    if (execve) {
        p.execve_bytes += appended;
    }
    stats_.pending_bytes += appended;
    stats_.pending = pending_.size();
}

void Framer::complete(const Key& key) {
    auto node = pending_.extract(key);
    if (node.empty()) {
        return;
    }
    Pending& p = node.mapped();
    stats_.pending_bytes -= p.text.size();
    p.text += p.eoe;
    ++stats_.events;
    stats_.pending = pending_.size();
    sink_(p.text);
}

void Framer::age(Clock::time_point now) {
    while (!order_.empty()) {
        const auto [front_key, gen] = order_.front();
        auto it = pending_.find(front_key);
        if (it == pending_.end() || it->second.generation != gen) {
            order_.pop_front();
            continue;
        }
        if (now - it->second.arrival >= eoe_timeout_) {
            ++stats_.completed_by_age;
            complete(front_key);
            continue;
        }
        break;
    }
}

void Framer::flush() {
    while (!order_.empty()) {
        const auto [front_key, gen] = order_.front();
        order_.pop_front();
        auto it = pending_.find(front_key);
        if (it != pending_.end() && it->second.generation == gen) {
            complete(front_key);
        }
    }
}

}  // namespace adock::audit
