// SPDX-License-Identifier: Apache-2.0
#include "outputs/syslog.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "util/bytes.hpp"
#include "util/errno_text.hpp"
#include "util/json.hpp"
#include "util/unique_fd.hpp"

namespace adock::outputs {
namespace {

constexpr std::size_t kStreamMax = 64 * util::kKiB;  // unix and tcp
constexpr std::size_t kUdpMax = 8 * util::kKiB;      // fits every sane receiver buffer
constexpr int kPollSliceMs = 200;                    // abort is rechecked this often

/// PRINTUSASCII without spaces, at most `max` characters; "-" (NILVALUE) when empty.
std::string header_field(const std::string& s, std::size_t max) {
    std::string out;
    for (const char c : s) {
        if (out.size() >= max) {
            break;
        }
        out += (c > 32 && c < 127) ? c : '_';
    }
    return out.empty() ? std::string("-") : out;
}

bool send_all(int fd,
              const char* data,
              std::size_t len,
              int timeout_ms,
              const std::atomic<bool>& abort,
              std::string& why) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (len > 0) {
        const ssize_t n = util::retry_on_eintr(
            [&] { return ::send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT); });
        if (n > 0) {
            data += n;
            len -= static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (abort.load()) {
                why = "cut short by the shutdown deadline";
                return false;
            }
            if (std::chrono::steady_clock::now() >= until) {
                why = "send timed out";
                return false;
            }
            pollfd p{fd, POLLOUT, 0};
            (void)::poll(&p, 1, kPollSliceMs);
            continue;
        }
        why = std::string("send: ") + util::errno_text(errno);
        return false;
    }
    return true;
}

}  // namespace

unsigned syslog_severity(Severity s) {
    switch (s) {
        case Severity::Critical:
            return 2;
        case Severity::High:
            return 3;
        case Severity::Medium:
            return 4;
        case Severity::Low:
            return 5;
        case Severity::Info:
            return 6;
    }
    return 6;
}

std::string syslog_message(const AlertMessage& m,
                           unsigned facility,
                           const std::string& app_name,
                           std::size_t max_bytes) {
    const Alert& a = *m.alert;
    std::string out(1, '<');
    out += std::to_string(facility * 8 + syslog_severity(a.severity));
    out += ">1 ";
    out += header_field(a.time, 128);
    out += ' ';
    out += header_field(a.host, 255);
    out += ' ';
    out += header_field(app_name, 48);
    out += ' ';
    out += std::to_string(::getpid());
    out += ' ';
    out += header_field(a.rule_id, 32);
    out += " - ";
    if (out.size() + m.json->size() <= max_bytes) {
        out += *m.json;
        return out;
    }
    // Too long for the transport (a 100 KB argv): a short form that still says what happened,
    // every field cut so the whole stays within max_bytes (escaping grows a byte to at most 6).
    auto cut = [](std::string v, std::size_t n) {
        if (v.size() > n) {
            v.resize(n);
        }
        return v;
    };
    std::string brief;
    for (std::size_t keep = a.summary.size();; keep /= 2) {
        brief.clear();
        util::JsonWriter w(brief);
        w.begin_object();
        w.key("rule")
            .begin_object()
            .key("id")
            .value(cut(a.rule_id, 64))
            .key("severity")
            .value(severity_name(a.severity))
            .end_object();
        w.key("host").value(cut(a.host, 64));
        w.key("time").value(cut(a.time, 40));
        w.key("serial").value(a.serial);
        w.key("summary").value(cut(a.summary, keep));
        w.key("truncated").value(true);
        w.end_object();
        if (out.size() + brief.size() <= max_bytes || keep == 0) {
            break;
        }
    }
    out += brief;
    return out;
}

SyslogTransport::SyslogTransport(const config::OutputConfig& cfg)
    : connect_timeout_ms_(cfg.connect_timeout_ms),
      timeout_ms_(cfg.timeout_ms),
      max_message_(kStreamMax) {
    const std::string& a = cfg.address;
    auto fail = [&](const std::string& msg) {
        throw config::ConfigError("", 0, 0, "output '" + cfg.name + "': address " + a + ": " + msg);
    };
    target_ = a;
    if (a.starts_with("unix:")) {
        kind_ = Kind::Unix;
        path_ = a.substr(5);
        if (path_.empty() || path_.front() != '/' ||
            path_.size() >= sizeof(sockaddr_un::sun_path)) {
            fail("expected unix:/absolute/path");
        }
        return;
    }
    if (!a.starts_with("udp:") && !a.starts_with("tcp:")) {
        fail("expected unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT");
    }
    kind_ = a.starts_with("udp:") ? Kind::Udp : Kind::Tcp;
    if (kind_ == Kind::Udp) {
        max_message_ = kUdpMax;
    }
    const std::string hp = a.substr(4);
    const auto colon = hp.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == hp.size()) {
        fail("expected HOST:PORT");
    }
    host_ = hp.substr(0, colon);
    port_ = hp.substr(colon + 1);
    if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') {
        host_ = host_.substr(1, host_.size() - 2);
    }
}

bool SyslogTransport::connect_socket(const std::atomic<bool>& abort, std::string& why) {
    if (kind_ == Kind::Unix) {
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
        // /dev/log is a datagram socket almost everywhere
        for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
            util::UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
            if (!fd) {
                why = std::string("socket: ") + util::errno_text(errno);
                return false;
            }
            if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0) {
                fd_ = std::move(fd);
                return true;
            }
            why = std::string("connect: ") + util::errno_text(errno);
            if (errno != EPROTOTYPE) {
                return false;
            }
        }
        return false;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = kind_ == Kind::Udp ? SOCK_DGRAM : SOCK_STREAM;
    addrinfo* res = nullptr;
    if (const int rc = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res); rc != 0) {
        why = std::string("cannot resolve: ") + ::gai_strerror(rc);
        return false;
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
    for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        util::UniqueFd fd(::socket(
            ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
        if (!fd) {
            why = std::string("socket: ") + util::errno_text(errno);
            continue;
        }
        if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                why = std::string("connect: ") + util::errno_text(errno);
                continue;
            }
            const auto until =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(connect_timeout_ms_);
            bool connected = false;
            while (!abort.load() && std::chrono::steady_clock::now() < until) {
                pollfd p{fd.get(), POLLOUT, 0};
                if (::poll(&p, 1, kPollSliceMs) > 0) {
                    int err = 0;
                    socklen_t len = sizeof(err);
                    (void)::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
                    if (err != 0) {
                        why = std::string("connect: ") + util::errno_text(err);
                    }
                    connected = err == 0;
                    break;
                }
                why = "connect timed out";
            }
            if (!connected) {
                continue;
            }
        }
        fd_ = std::move(fd);
        return true;
    }
    return false;
}

SendResult SyslogTransport::send(const std::string& payload, const std::atomic<bool>& abort) {
    SendResult r;
    if (!fd_ && !connect_socket(abort, r.detail)) {
        r.kind = abort.load() ? SendResult::Kind::Aborted : SendResult::Kind::Retry;
        return r;
    }
    std::string framed;
    const std::string* data = &payload;
    if (kind_ == Kind::Tcp) {  // RFC 6587 octet counting: no ambiguity about where a message ends
        framed = std::to_string(payload.size()) + " " + payload;
        data = &framed;
    }
    if (kind_ == Kind::Unix && payload.size() > max_message_) {
        r.kind = SendResult::Kind::Permanent;
        r.detail = "message too long";
        return r;
    }
    if (!send_all(fd_.get(),
                  data->data(),
                  data->size(),
                  static_cast<int>(timeout_ms_),
                  abort,
                  r.detail)) {
        fd_.reset();  // reconnect on the next attempt (the receiver may have restarted)
        r.kind = abort.load() ? SendResult::Kind::Aborted : SendResult::Kind::Retry;
        return r;
    }
    r.kind = SendResult::Kind::Delivered;
    r.detail = "sent";
    return r;
}

}  // namespace adock::outputs
