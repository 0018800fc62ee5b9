// SPDX-License-Identifier: Apache-2.0
#include "audit/parser.hpp"

#include <charconv>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include "audit/record_types.hpp"
#include "util/log.hpp"

namespace adock::audit {
namespace {

std::string_view sv(const char* s) {
    return s == nullptr ? std::string_view{} : std::string_view(s);
}

template <class T>
std::optional<T> number(std::string_view s, int base = 10) {
    T v{};
    if (base == 16 && s.starts_with("0x")) {
        s.remove_prefix(2);
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

/// Audit prints unset ids as 4294967295 and some as -1.
std::optional<std::uint32_t> id_value(std::string_view s) {
    if (s == "-1") {
        return 4294967295U;
    }
    return number<std::uint32_t>(s);
}

void truncate_arg(std::string& s, bool& truncated) {
    if (s.size() > EventParser::kMaxArgBytes) {
        s.resize(EventParser::kMaxArgBytes);
        truncated = true;
    }
}

void read_syscall(auparse_state_t* au, Event& ev, ParserStats& stats) {
    ev.has_syscall = true;
    do {
        const std::string_view name = sv(auparse_get_field_name(au));
        const std::string_view val = sv(auparse_get_field_str(au));
        if (name.empty()) {
            continue;
        }
        switch (name[0]) {
            case 'a':
                if (name == "arch") {
                    if (auto v = number<std::uint32_t>(val, 16)) {
                        ev.arch = *v;
                    } else {
                        ++stats.field_errors;
                    }
                } else if (name == "auid") {
                    ev.auid = id_value(val);
                } else if (name == "adock_user") {
                    // the framer's, from auditd's AUID
                    ev.auid_name = std::string(val.substr(0, 32));
                } else if (name.size() == 2 && name[1] >= '0' && name[1] <= '3') {
                    if (auto v = number<std::uint64_t>(val, 16)) {
                        ev.args.push_back(*v);
                    }
                }
                break;
            case 's':
                if (name == "syscall") {
                    if (auto v = number<int>(val)) {
                        ev.syscall = *v;
                    } else {
                        ++stats.field_errors;
                    }
                } else if (name == "success") {
                    ev.success = (val == "yes");
                }
                break;
            case 'e':
                if (name == "exit") {
                    ev.exit = number<std::int64_t>(val).value_or(0);
                } else if (name == "exe") {
                    ev.exe = decode_value(val).value_or("");
                } else if (name == "euid") {
                    ev.euid = id_value(val);
                }
                break;
            case 'p':
                if (name == "pid") {
                    ev.pid = number<int>(val).value_or(-1);
                } else if (name == "ppid") {
                    ev.ppid = number<int>(val).value_or(-1);
                }
                break;
            case 'u':
                if (name == "uid") {
                    ev.uid = id_value(val);
                }
                break;
            case 'c':
                if (name == "comm") {
                    ev.comm = decode_value(val).value_or("");
                }
                break;
            case 'k':
                if (name == "key") {
                    // Several keys on one rule are hex-encoded and joined with \x01.
                    if (auto k = decode_value(val)) {
                        ev.key = std::move(*k);
                    }
                }
                break;
            default:
                break;
        }
    } while (auparse_next_field(au) > 0);
}

/// EXECVE: argc, aN="..." or aN=HEX, and for long arguments aN_len=L with aN[i]=HEX pieces.
/// One exec may span several EXECVE records; `pieces` collects across them.
void read_execve(auparse_state_t* au,
                 Event& ev,
                 std::map<std::size_t, std::string>& pieces,
                 std::size_t& argc) {
    ev.has_execve = true;
    do {
        const std::string_view name = sv(auparse_get_field_name(au));
        const std::string_view val = sv(auparse_get_field_str(au));
        if (name == "argc") {
            argc = number<std::size_t>(val).value_or(0);
            continue;
        }
        if (name.size() < 2 || name[0] != 'a') {
            continue;
        }
        const auto bracket = name.find('[');
        const auto underscore = name.find('_');
        const auto idx_end = std::min(bracket, underscore);
        const auto idx = number<std::size_t>(name.substr(
            1, idx_end == std::string_view::npos ? std::string_view::npos : idx_end - 1));
        if (!idx || *idx >= EventParser::kMaxArgs) {
            if (idx) {
                ev.argv_truncated = true;
            }
            continue;
        }
        if (underscore != std::string_view::npos) {
            continue;  // aN_len: the pieces carry the data
        }
        if (bracket != std::string_view::npos) {
            auto& acc = pieces[*idx];
            if (acc.size() < 2 * EventParser::kMaxArgBytes) {
                acc.append(val);  // hex pieces, decoded when complete
            } else {
                ev.argv_truncated = true;
            }
            continue;
        }
        if (ev.argv.size() <= *idx) {
            ev.argv.resize(*idx + 1);
        }
        ev.argv[*idx] = decode_value(val).value_or("");
        truncate_arg(ev.argv[*idx], ev.argv_truncated);
    } while (auparse_next_field(au) > 0);
}

void read_path(auparse_state_t* au, Event& ev) {
    PathItem p;
    do {
        const std::string_view name = sv(auparse_get_field_name(au));
        const std::string_view val = sv(auparse_get_field_str(au));
        if (name == "item") {
            p.item = number<int>(val).value_or(-1);
        } else if (name == "name") {
            p.name = decode_value(val).value_or("");
        } else if (name == "inode") {
            p.inode = number<std::uint64_t>(val).value_or(0);
        } else if (name == "dev") {
            p.dev = std::string(val);
        } else if (name == "rdev") {
            if (val != "00:00") {
                p.rdev = std::string(val);
            }
        } else if (name == "mode") {
            p.mode = number<std::uint32_t>(val, 8).value_or(0);
        } else if (name == "ouid") {
            p.ouid = id_value(val);
        } else if (name == "nametype") {
            p.nametype = std::string(val);
        }
    } while (auparse_next_field(au) > 0);
    ev.paths.push_back(std::move(p));
}

void read_seccomp(auparse_state_t* au, Event& ev) {
    SeccompInfo s;
    do {
        const std::string_view name = sv(auparse_get_field_name(au));
        const std::string_view val = sv(auparse_get_field_str(au));
        if (name == "arch") {
            s.arch = number<std::uint32_t>(val, 16).value_or(0);
        } else if (name == "syscall") {
            s.syscall = number<int>(val).value_or(-1);
        } else if (name == "code") {
            s.code = number<std::uint32_t>(val, 16).value_or(0);
        } else if (name == "sig") {
            s.sig = number<int>(val).value_or(0);
        } else if (name == "pid") {
            ev.pid = number<int>(val).value_or(-1);
        } else if (name == "comm") {
            ev.comm = decode_value(val).value_or("");
        } else if (name == "exe") {
            ev.exe = decode_value(val).value_or("");
        } else if (name == "uid") {
            ev.uid = id_value(val);
        } else if (name == "auid") {
            ev.auid = id_value(val);
        }
    } while (auparse_next_field(au) > 0);
    ev.seccomp = s;
}

}  // namespace

EventParser::EventParser(Handler handler)
    : au_(auparse_init(AUSOURCE_FEED, nullptr)), handler_(std::move(handler)) {
    if (!au_) {
        throw std::runtime_error("auparse_init failed");
    }
    auparse_add_callback(au_.get(), &EventParser::trampoline, this, nullptr);
}

EventParser::~EventParser() = default;

void EventParser::parse(std::string_view event_text) {
    if (auparse_feed(au_.get(), event_text.data(), event_text.size()) != 0) {
        ++stats_.feed_errors;
        return;
    }
    // auparse marks the event complete on its EOE but hands it out on the next call into the
    // library; an empty feed does that without waiting for the next event.
    if (auparse_feed(au_.get(), "", 0) != 0) {
        ++stats_.feed_errors;
    }
}

void EventParser::trampoline(auparse_state_t* au, auparse_cb_event_t type, void* self) noexcept {
    if (type != AUPARSE_CB_EVENT_READY) {
        return;
    }
    try {
        static_cast<EventParser*>(self)->on_event(au);
    } catch (const std::exception& e) {
        log::error(std::string("event dropped: ") + e.what());
    } catch (...) {
        log::error("event dropped: unknown exception");
    }
}

void EventParser::on_event(auparse_state_t* au) {
    Event ev;
    if (const au_event_t* ts = auparse_get_timestamp(au)) {
        ev.sec = ts->sec;
        ev.milli = ts->milli;
        ev.serial = ts->serial;
        if (ts->host != nullptr) {
            ev.node = ts->host;
        }
    }
    std::map<std::size_t, std::string> pieces;
    std::size_t argc = 0;
    if (auparse_first_record(au) <= 0) {
        return;
    }
    do {
        const int type = auparse_get_type(au);
        ev.record_types.push_back(type);
        if (auparse_first_field(au) <= 0) {
            continue;
        }
        switch (type) {
            case kTypeSyscall:
                read_syscall(au, ev, stats_);
                break;
            case kTypeExecve:
                read_execve(au, ev, pieces, argc);
                break;
            case kTypeCwd:
                do {
                    if (sv(auparse_get_field_name(au)) == "cwd") {
                        ev.cwd = decode_value(sv(auparse_get_field_str(au)));
                    }
                } while (auparse_next_field(au) > 0);
                break;
            case kTypePath:
                read_path(au, ev);
                break;
            case kTypeProctitle:
                do {
                    if (sv(auparse_get_field_name(au)) == "proctitle") {
                        auto t = decode_value(sv(auparse_get_field_str(au)));
                        if (t) {
                            ev.proctitle = split_nul(*t);
                        }
                    }
                } while (auparse_next_field(au) > 0);
                break;
            case kTypeSeccomp:
                read_seccomp(au, ev);
                break;
            default:
                break;
        }
    } while (auparse_next_record(au) > 0);

    for (auto& [idx, hex] : pieces) {
        if (ev.argv.size() <= idx) {
            ev.argv.resize(idx + 1);
        }
        ev.argv[idx] = decode_value(hex).value_or("");
        truncate_arg(ev.argv[idx], ev.argv_truncated);
    }
    if (ev.has_execve && argc > ev.argv.size() && argc <= kMaxArgs) {
        ev.argv_truncated = true;  // records missing (lost or torn)
    }
    ++stats_.events;
    handler_(std::move(ev));
}

}  // namespace adock::audit
