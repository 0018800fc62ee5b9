// SPDX-License-Identifier: Apache-2.0
// Test harness for the delivering outputs: a scripted HTTP/1.1 server on loopback (no mocks of
// libcurl), a closed port, output configs, stderr capture.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "outputs/curl_easy.hpp"
#include "outputs/sink.hpp"
#include "test_catch.hpp"

namespace adock::test_http {

using adock::outputs::AlertMessage;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline void ensure_curl_global() {
    // Tests run on the main thread; sinks start their threads after this.
    static const adock::outputs::CurlGlobal global;
}

/// What the scripted server answers to one request.
struct Reply {
    explicit Reply(int code,
                   std::chrono::milliseconds wait = std::chrono::milliseconds(0),
                   std::string extra = {},
                   std::string answer = "ok")
        : status(code), delay(wait), extra_headers(std::move(extra)), body(std::move(answer)) {}

    int status;
    std::chrono::milliseconds delay;  ///< wait this long before answering
    std::string extra_headers;        ///< e.g. "Retry-After: 1\r\n"
    std::string body;                 ///< the response body
};

struct Request {
    std::string request_line;
    std::string headers;  ///< raw header block
    std::string body;
    Clock::time_point at;
};

/// A minimal HTTP/1.1 server on 127.0.0.1 (port 0) answering from a script; the last reply
/// repeats. Keep-alive supported, a thread per connection, Content-Length bodies only.
class TestServer {
public:
    explicit TestServer(std::vector<Reply> script, std::uint16_t port = 0)
        : script_(std::move(script)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        const int one = 1;
        REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { loop(); });
    }

    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    ~TestServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }

    [[nodiscard]] std::string url() const {
        return "http://127.0.0.1:" + std::to_string(port_) + "/hook?token=s3cr3t-query";
    }

    [[nodiscard]] std::vector<Request> requests() const {
        const std::scoped_lock lock(mu_);
        return requests_;
    }

    [[nodiscard]] std::size_t request_count() const {
        const std::scoped_lock lock(mu_);
        return requests_.size();
    }

    /// Replies sent so far (a request whose scripted delay has not passed is not answered).
    [[nodiscard]] std::size_t answered() const { return answered_.load(); }

private:
    void loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) {
                continue;
            }
            const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0) {
                continue;
            }
            // A thread per connection: clients keep connections alive, and two may be open at
            // once (an output and its successor after a reload).
            connections_.emplace_back([this, conn] {
                serve(conn);
                ::close(conn);
            });
        }
        for (auto& t : connections_) {
            t.join();
        }
    }

    bool read_some(int conn, std::string& buf) {
        while (!stop_) {
            pollfd p{conn, POLLIN, 0};
            const int rc = ::poll(&p, 1, 20);
            if (rc < 0) {
                return false;
            }
            if (rc == 0) {
                continue;
            }
            char chunk[4096];
            const ssize_t n = ::recv(conn, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return false;
            }
            buf.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        return false;
    }

    static std::size_t content_length(const std::string& headers) {
        std::string lower = headers;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        const auto pos = lower.find("\r\ncontent-length:");
        if (pos == std::string::npos) {
            return 0;
        }
        return static_cast<std::size_t>(std::strtoul(lower.c_str() + pos + 17, nullptr, 10));
    }

    void serve(int conn) {
        std::string buf;
        while (!stop_) {
            std::size_t end = 0;
            while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
                if (!read_some(conn, buf)) {
                    return;
                }
            }
            const std::string head = buf.substr(0, end + 2);
            const std::size_t body_len = content_length(head);
            while (buf.size() < end + 4 + body_len) {
                if (!read_some(conn, buf)) {
                    return;
                }
            }
            Request req;
            req.request_line = head.substr(0, head.find("\r\n"));
            req.headers = head;
            req.body = buf.substr(end + 4, body_len);
            req.at = Clock::now();
            buf.erase(0, end + 4 + body_len);
            Reply reply(0);
            {
                const std::scoped_lock lock(mu_);
                requests_.push_back(req);
                reply = script_[std::min(next_, script_.size() - 1)];
                ++next_;
            }
            const auto until = Clock::now() + reply.delay;
            while (!stop_ && Clock::now() < until) {
                std::this_thread::sleep_for(5ms);
            }
            const std::string response =
                "HTTP/1.1 " + std::to_string(reply.status) +
                " Scripted\r\nContent-Length: " + std::to_string(reply.body.size()) + "\r\n" +
                reply.extra_headers + "\r\n" + reply.body;
            if (::send(conn, response.data(), response.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(response.size())) {
                return;
            }
            ++answered_;
        }
    }

    std::vector<Reply> script_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> answered_{0};
    mutable std::mutex mu_;
    std::vector<Request> requests_;
    std::size_t next_ = 0;
    std::vector<std::thread> connections_;  ///< the accept thread's only
    std::thread thread_;
};

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
inline std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

inline adock::config::OutputConfig hook_config(const std::string& url) {
    adock::config::OutputConfig cfg;
    cfg.name = "hook-test";
    cfg.type = adock::config::OutputType::Webhook;
    cfg.url = url;
    cfg.connect_timeout_ms = 500;
    cfg.timeout_ms = 2000;
    cfg.retries = 3;
    cfg.backoff_initial_ms = 10;
    cfg.backoff_max_ms = 40;
    cfg.queue_size = 64;
    return cfg;
}

inline AlertMessage message(const std::string& json) {
    auto alert = std::make_shared<adock::Alert>();
    alert->severity = adock::Severity::High;
    return AlertMessage{alert, std::make_shared<const std::string>(json)};
}

template <class Pred>
inline bool wait_for(Pred pred, std::chrono::milliseconds limit = 5s) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

/// Sends fd 2 to a file while alive, to inspect what the sink logged.
class StderrCapture {
public:
    StderrCapture() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "adock-stderr-XXXXXX").string();
        const int fd = ::mkstemp(tmpl.data());
        REQUIRE(fd >= 0);
        path_ = tmpl;
        saved_ = ::dup(STDERR_FILENO);
        REQUIRE(::dup2(fd, STDERR_FILENO) == STDERR_FILENO);
        ::close(fd);
    }

    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;

    ~StderrCapture() {
        restore();
        std::filesystem::remove(path_);
    }

    std::string finish() {
        restore();
        std::string text;
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        char chunk[4096];
        ssize_t n = 0;
        while (fd >= 0 && (n = ::read(fd, chunk, sizeof chunk)) > 0) {
            text.append(chunk, static_cast<std::size_t>(n));
        }
        if (fd >= 0) {
            ::close(fd);
        }
        return text;
    }

private:
    void restore() {
        if (saved_ >= 0) {
            ::dup2(saved_, STDERR_FILENO);
            ::close(saved_);
            saved_ = -1;
        }
    }

    std::string path_;
    int saved_ = -1;
};

}  // namespace adock::test_http
