// SPDX-License-Identifier: Apache-2.0
#include "outputs/webhook_sink.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

#include "util/log.hpp"

namespace adock::outputs {
namespace {

constexpr std::chrono::milliseconds kIdleWait{1000};
constexpr std::chrono::seconds kLogInterval{10};
constexpr const char* kUserAgent = "audisp-docker/0.1";
constexpr long kHttpRequestTimeout = 408;
constexpr long kHttpTooManyRequests = 429;

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

/// Worth another attempt: transport errors, 408, 429 and 5xx. Other 4xx (and 3xx: redirects are
/// not followed) will not get better by retrying.
bool retryable(const CurlResult& r) {
    if (r.code != CURLE_OK) {
        return r.code != CURLE_ABORTED_BY_CALLBACK;
    }
    return r.status == kHttpRequestTimeout || r.status == kHttpTooManyRequests || r.status >= 500;
}

}  // namespace

bool WebhookSink::LogLimiter::allow(unsigned long long& held) {
    const std::scoped_lock lock(mu_);
    const auto now = Clock::now();
    if (any_ && now - last_ < kLogInterval) {
        ++held_;
        return false;
    }
    held = held_;
    held_ = 0;
    last_ = now;
    any_ = true;
    return true;
}

WebhookSink::WebhookSink(config::OutputConfig cfg, Formatter format)
    : cfg_(std::move(cfg)), format_(format), rng_(std::random_device{}()), queue_(cfg_.queue_size) {
    configure_handle();
}

WebhookSink::~WebhookSink() {
    if (worker_.joinable()) {
        stop(std::chrono::milliseconds(0));
    }
}

void WebhookSink::configure_handle() {
    const std::string prefix = "output '" + cfg_.name + "': ";
    auto fail = [&](const std::string& msg) { throw config::ConfigError("", 0, 0, prefix + msg); };
    auto target = redacted_url(cfg_.url);
    if (!target) {
        fail("url must be an absolute http:// or https:// URL");
    }
    target_ = *target;

    auto check = [&](CURLcode rc, const char* what) {
        if (rc != CURLE_OK) {
            fail(std::string("cannot set ") + what + ": " + curl_easy_strerror(rc));
        }
    };
    check(curl_.set_opt(CURLOPT_URL, cfg_.url), "url");
    check(curl_.set_opt(CURLOPT_PROTOCOLS_STR, std::string("http,https")), "protocols");
    check(curl_.set_opt(CURLOPT_NOSIGNAL, 1L), "CURLOPT_NOSIGNAL");
    check(curl_.set_opt(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout_ms)),
          "connect_timeout_ms");
    check(curl_.set_opt(CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_ms)), "timeout_ms");
    check(curl_.set_opt(CURLOPT_POST, 1L), "CURLOPT_POST");
    check(curl_.set_opt(CURLOPT_FOLLOWLOCATION, 0L), "CURLOPT_FOLLOWLOCATION");
    check(curl_.set_opt(CURLOPT_USERAGENT, std::string(kUserAgent)), "user agent");
    // An empty string disables proxies, including any from the environment.
    check(curl_.set_opt(CURLOPT_PROXY, cfg_.proxy), "proxy");
    check(curl_.set_opt(CURLOPT_SSL_VERIFYPEER, cfg_.tls_verify ? 1L : 0L), "tls_verify");
    check(curl_.set_opt(CURLOPT_SSL_VERIFYHOST, cfg_.tls_verify ? 2L : 0L), "tls_verify");
    if (!cfg_.ca_file.empty()) {
        check(curl_.set_opt(CURLOPT_CAINFO, cfg_.ca_file), "ca_file");
    }
    if (!cfg_.tls_verify) {
        log::warning(prefix + "TLS certificate verification is disabled");
    }

    CurlSlist headers;
    bool custom_content_type = false;
    for (const auto& [key, value] : cfg_.headers) {
        if (key.empty() || !std::all_of(key.begin(), key.end(), is_token_char)) {
            fail("invalid header name '" + key + "'");
        }
        // Values are never echoed: they often hold credentials.
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
            fail("header '" + key + "' has a line break or NUL in its value");
        }
        custom_content_type = custom_content_type || iequals(key, "Content-Type");
    }
    bool ok = true;
    if (!custom_content_type) {
        ok = slist_append(headers, "Content-Type: application/json");
    }
    // No "Expect: 100-continue" round trip for larger bodies.
    ok = ok && slist_append(headers, "Expect:");
    for (const auto& [key, value] : cfg_.headers) {
        std::string line = key;
        if (value.empty()) {
            line += ';';  // libcurl's way to send a header with an empty value
        } else {
            line += ": ";
            line += value;
        }
        ok = ok && slist_append(headers, line);
    }
    if (!ok) {
        fail("out of memory building headers");
    }
    check(curl_.set_headers(std::move(headers)), "headers");
}

bool WebhookSink::submit(const AlertMessage& message) {
    if (!message.json) {
        return false;
    }
    if (message.alert && message.alert->severity < cfg_.min_severity) {
        return true;  // filtered by design, not a loss
    }
    generated_.fetch_add(1, std::memory_order_relaxed);
    AlertMessage copy = message;
    if (queue_.try_push(std::move(copy))) {
        return true;
    }
    const auto total = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
    unsigned long long held = 0;
    if (full_log_.allow(held)) {
        log::warning("output '" + cfg_.name + "': queue full (" + std::to_string(cfg_.queue_size) +
                     "), alert dropped; " + std::to_string(total) + " dropped so far");
    }
    return false;
}

void WebhookSink::start() {
    if (worker_.joinable()) {
        return;
    }
    worker_ = std::jthread([this] { run(); });
}

void WebhookSink::stop(std::chrono::milliseconds deadline) {
    if (!worker_.joinable()) {
        queue_.close();
        while (auto left = queue_.pop_for(std::chrono::milliseconds(0))) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
        }
        return;
    }
    {
        const std::scoped_lock lock(ctl_mu_);
        stopping_ = true;
        deadline_ = Clock::now() + deadline;
    }
    ctl_cv_.notify_all();
    queue_.close();
    bool aborted = false;
    {
        std::unique_lock lock(ctl_mu_);
        if (!ctl_cv_.wait_until(lock, deadline_, [this] { return worker_done_; })) {
            abort_.store(true);
            aborted = true;
        }
    }
    if (aborted) {
        ctl_cv_.notify_all();
        curl_.wakeup();
    }
    worker_.join();
}

SinkStats WebhookSink::stats() const {
    SinkStats s;
    s.generated = generated_.load(std::memory_order_relaxed);
    s.delivered = delivered_.load(std::memory_order_relaxed);
    s.retried = retried_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    const auto q = queue_.stats();
    s.queue_depth = q.depth;
    s.queue_max_depth = q.max_depth;
    return s;
}

bool WebhookSink::past_deadline() const {
    const std::scoped_lock lock(ctl_mu_);
    return stopping_ && Clock::now() >= deadline_;
}

void WebhookSink::run() noexcept {
    unsigned long long shutdown_drops = 0;
    while (true) {
        std::optional<AlertMessage> message = queue_.pop_for(kIdleWait);
        if (!message) {
            if (queue_.closed()) {
                break;
            }
            continue;
        }
        if (abort_.load() || past_deadline()) {
            ++shutdown_drops;
            dropped_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        try {
            deliver(*message);
        } catch (const std::exception& e) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log::error("output '" + cfg_.name + "': " + e.what());
        } catch (...) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log::error("output '" + cfg_.name + "': unknown error while sending");
        }
    }
    if (shutdown_drops > 0) {
        log::warning("output '" + cfg_.name + "': shutdown deadline passed, " +
                     std::to_string(shutdown_drops) + " queued alerts dropped");
    }
    {
        const std::scoped_lock lock(ctl_mu_);
        worker_done_ = true;
    }
    ctl_cv_.notify_all();
}

void WebhookSink::deliver(const AlertMessage& message) {
    std::shared_ptr<const std::string> body = message.json;
    if (format_ != nullptr) {
        if (!message.alert) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log_drop("no alert to format");
            return;
        }
        body = std::make_shared<const std::string>(format_(*message.alert));  // on this worker, not the engine
    }
    if (const CURLcode rc = curl_.set_body(body); rc != CURLE_OK) {
        failed_.fetch_add(1, std::memory_order_relaxed);
        dropped_.fetch_add(1, std::memory_order_relaxed);
        log_drop(std::string("cannot set the request body: ") + curl_easy_strerror(rc));
        return;
    }
    for (unsigned attempt = 0;; ++attempt) {
        if (attempt > 0) {
            retried_.fetch_add(1, std::memory_order_relaxed);
        }
        const CurlResult result = curl_.perform(abort_);
        if (result.code == CURLE_OK && result.status >= 200 && result.status < 300) {
            delivered_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        failed_.fetch_add(1, std::memory_order_relaxed);
        std::string why = "HTTP " + std::to_string(result.status);
        if (result.code == CURLE_ABORTED_BY_CALLBACK) {
            why = "cut short by the shutdown deadline";
        } else if (result.code != CURLE_OK) {
            why = curl_easy_strerror(result.code);
        }
        why += " after ";
        why += std::to_string(attempt + 1);
        why += " attempt(s)";
        if (!retryable(result)) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            why += ", not retried";
            log_drop(why);
            return;
        }
        if (attempt >= cfg_.retries) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            log_drop(why);
            return;
        }
        std::chrono::milliseconds wait = backoff(attempt);
        if (result.status == kHttpTooManyRequests && result.retry_after) {
            const auto asked =
                std::chrono::duration_cast<std::chrono::milliseconds>(*result.retry_after);
            wait = std::min(std::max(wait, asked), std::chrono::milliseconds(cfg_.backoff_max_ms));
        }
        if (!sleep_until(Clock::now() + wait)) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            why += ", shutdown deadline passed";
            log_drop(why);
            return;
        }
    }
}

std::chrono::milliseconds WebhookSink::backoff(unsigned attempt) {
    // Capped exponential backoff with "equal jitter": a random wait in [base/2, base].
    std::uint64_t base = cfg_.backoff_initial_ms;
    for (unsigned i = 0; i < attempt && base < cfg_.backoff_max_ms; ++i) {
        base *= 2;
    }
    base = std::min<std::uint64_t>(base, cfg_.backoff_max_ms);
    const std::uint64_t half = base / 2;
    std::uniform_int_distribution<std::uint64_t> jitter(0, base - half);
    return std::chrono::milliseconds(
        static_cast<std::chrono::milliseconds::rep>(half + jitter(rng_)));
}

bool WebhookSink::sleep_until(Clock::time_point wake) {
    std::unique_lock lock(ctl_mu_);
    while (true) {
        if (abort_.load()) {
            return false;
        }
        const bool stopping = stopping_;
        const auto now = Clock::now();
        if (stopping && now >= deadline_) {
            return false;
        }
        if (now >= wake) {
            return true;
        }
        const Clock::time_point limit = stopping ? std::min(wake, deadline_) : wake;
        // Wakes early when stop() is called (the deadline may come before `wake`) or aborts.
        ctl_cv_.wait_until(lock, limit, [&] { return abort_.load() || stopping_ != stopping; });
    }
}

void WebhookSink::log_drop(const std::string& why) {
    unsigned long long held = 0;
    if (drop_log_.allow(held)) {
        std::string line = "output '" + cfg_.name + "': alert dropped (POST to " + target_ + ": " +
                           why + "); " + std::to_string(dropped_.load()) + " dropped so far";
        if (held > 0) {
            line += ", " + std::to_string(held) + " similar messages suppressed";
        }
        log::warning(line);
    }
}

}  // namespace adock::outputs
