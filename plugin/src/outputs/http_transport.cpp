// SPDX-License-Identifier: Apache-2.0
#include "outputs/http_transport.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>

#include "util/log.hpp"

namespace adock::outputs {
namespace {

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

}  // namespace

HttpTransport::HttpTransport(const config::OutputConfig& cfg, std::string splice)
    : splice_(std::move(splice)) {
    const std::string prefix = "output '" + cfg.name + "': ";
    auto fail = [&](const std::string& msg) { throw config::ConfigError("", 0, 0, prefix + msg); };
    auto target = redacted_url(cfg.url);
    if (!target) {
        fail("url must be an absolute http:// or https:// URL");
    }
    target_ = *target;

    auto check = [&](CURLcode rc, const char* what) {
        if (rc != CURLE_OK) {
            fail(std::string("cannot set ") + what + ": " + curl_easy_strerror(rc));
        }
    };
    check(curl_.set_opt(CURLOPT_URL, cfg.url), "url");
    check(curl_.set_opt(CURLOPT_PROTOCOLS_STR, std::string("http,https")), "protocols");
    check(curl_.set_opt(CURLOPT_NOSIGNAL, 1L), "CURLOPT_NOSIGNAL");
    check(curl_.set_opt(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout_ms)),
          "connect_timeout_ms");
    check(curl_.set_opt(CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.timeout_ms)), "timeout_ms");
    check(curl_.set_opt(CURLOPT_POST, 1L), "CURLOPT_POST");
    check(curl_.set_opt(CURLOPT_FOLLOWLOCATION, 0L), "CURLOPT_FOLLOWLOCATION");
    check(curl_.set_opt(CURLOPT_USERAGENT, std::string(kUserAgent)), "user agent");
    // An empty string disables proxies, including any from the environment.
    check(curl_.set_opt(CURLOPT_PROXY, cfg.proxy), "proxy");
    check(curl_.set_opt(CURLOPT_SSL_VERIFYPEER, cfg.tls_verify ? 1L : 0L), "tls_verify");
    check(curl_.set_opt(CURLOPT_SSL_VERIFYHOST, cfg.tls_verify ? 2L : 0L), "tls_verify");
    if (!cfg.ca_file.empty()) {
        check(curl_.set_opt(CURLOPT_CAINFO, cfg.ca_file), "ca_file");
    }
    if (!cfg.client_cert.empty()) {
        check(curl_.set_opt(CURLOPT_SSLCERT, cfg.client_cert), "client_cert");
        check(curl_.set_opt(CURLOPT_SSLKEY,
                            cfg.client_key.empty() ? cfg.client_cert : cfg.client_key),
              "client_key");
    }
    if (!cfg.tls_verify) {
        log::warning(prefix + "TLS certificate verification is disabled");
    }

    CurlSlist headers;
    bool custom_content_type = false;
    for (const auto& [key, value] : cfg.headers) {
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
    for (const auto& [key, value] : cfg.headers) {
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

SendResult HttpTransport::send(const std::string& payload, const std::atomic<bool>& abort) {
    SendResult r;
    std::shared_ptr<const std::string> body;
    if (!splice_.empty() && payload.size() >= 2 && payload.front() == '{') {
        std::string spliced = "{" + splice_;
        if (payload[1] == '}') {
            spliced.pop_back();  // the splice's trailing comma
        }
        spliced.append(payload, 1);
        body = std::make_shared<const std::string>(std::move(spliced));
    } else {
        body = std::make_shared<const std::string>(payload);
    }
    if (const CURLcode rc = curl_.set_body(std::move(body)); rc != CURLE_OK) {
        r.kind = SendResult::Kind::Permanent;
        r.detail = std::string("cannot set the request body: ") + curl_easy_strerror(rc);
        return r;
    }
    const CurlResult c = curl_.perform(abort);
    r.status = c.status;
    r.response = c.body;
    if (c.retry_after) {
        r.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*c.retry_after);
    }
    if (c.code == CURLE_ABORTED_BY_CALLBACK) {
        r.kind = SendResult::Kind::Aborted;
        r.detail = "cut short by the shutdown deadline";
        return r;
    }
    if (c.code != CURLE_OK) {
        r.kind = SendResult::Kind::Retry;
        r.detail = curl_easy_strerror(c.code);
        return r;
    }
    r.detail = "HTTP " + std::to_string(c.status);
    if (c.status >= 200 && c.status < 300) {
        r.kind = SendResult::Kind::Delivered;
    } else if (c.status == kHttpRequestTimeout || c.status == kHttpTooManyRequests ||
               c.status >= 500) {
        r.kind = SendResult::Kind::Retry;
    } else {
        r.kind = SendResult::Kind::Permanent;  // other 4xx, and 3xx: redirects are not followed
    }
    return r;
}

}  // namespace adock::outputs
