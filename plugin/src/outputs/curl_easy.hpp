// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "util/c_handle.hpp"

namespace adock::outputs {

using CurlSlist = util::CHandle<curl_slist, &curl_slist_free_all>;

/// curl_global_init / curl_global_cleanup. Create exactly one, in main, before any thread starts.
class CurlGlobal {
public:
    /// Throws std::runtime_error when libcurl cannot initialize.
    CurlGlobal();
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
    CurlGlobal(CurlGlobal&&) = delete;
    CurlGlobal& operator=(CurlGlobal&&) = delete;
    ~CurlGlobal();
};

/// What one HTTP exchange came to.
struct CurlResult {
    CURLcode code = CURLE_OK;  ///< transport result; CURLE_OK means a response arrived
    long status = 0;           ///< HTTP status, 0 when no response
    /// Retry-After from the response (seconds or HTTP date, as parsed by libcurl), if present.
    std::optional<std::chrono::seconds> retry_after;
    std::string body;  ///< the response body's first 16 KiB
};

/// Appends to a header list; false on allocation failure (the list is unchanged then).
[[nodiscard]] bool slist_append(CurlSlist& list, const std::string& line);

/// `scheme://host[:port]` of an http(s) URL, safe to log (no user info, path or query, which may
/// carry secrets). nullopt when the URL does not parse or is not http/https.
[[nodiscard]] std::optional<std::string> redacted_url(const std::string& url);

/// One reusable easy handle, driven through its own multi handle so a transfer can be cut short
/// from another thread (wakeup()). Connections are kept alive across transfers. All of libcurl's
/// varargs calls live in curl_easy.cpp; every setter reports libcurl's result.
class CurlEasy {
public:
    /// Throws std::runtime_error when libcurl cannot create the handles.
    CurlEasy();
    CurlEasy(const CurlEasy&) = delete;
    CurlEasy& operator=(const CurlEasy&) = delete;
    CurlEasy(CurlEasy&&) = delete;
    CurlEasy& operator=(CurlEasy&&) = delete;
    ~CurlEasy() = default;

    /// Options taking a long (flags, timeouts, sizes).
    [[nodiscard]] CURLcode set_opt(CURLoption option, long value);
    /// Options taking a string. libcurl copies it, so `value` need not outlive the call.
    [[nodiscard]] CURLcode set_opt(CURLoption option, const std::string& value);
    /// CURLOPT_HTTPHEADER; the handle keeps the list alive.
    [[nodiscard]] CURLcode set_headers(CurlSlist headers);
    /// POST body (CURLOPT_POSTFIELDS + size); the handle keeps the buffer alive, without copying.
    [[nodiscard]] CURLcode set_body(std::shared_ptr<const std::string> body);

    /// Runs one transfer. Returns CURLE_ABORTED_BY_CALLBACK soon after `abort` becomes true and
    /// wakeup() is called. The response body's first 16 KiB is kept in the result.
    [[nodiscard]] CurlResult perform(const std::atomic<bool>& abort);

    /// Interrupts a perform() running in another thread so it rechecks `abort`. Thread-safe.
    void wakeup() noexcept;

private:
    /// Declared first so it is destroyed last: it owns the connection cache.
    util::CHandle<CURLM, &curl_multi_cleanup> multi_;
    util::CHandle<CURL, &curl_easy_cleanup> easy_;
    CurlSlist headers_;
    std::shared_ptr<const std::string> body_;
    std::string response_;  ///< the running transfer's response body (its start)
};

}  // namespace adock::outputs
