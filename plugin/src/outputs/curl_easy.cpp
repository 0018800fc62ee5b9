// SPDX-License-Identifier: Apache-2.0
#include "outputs/curl_easy.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace adock::outputs {
namespace {

/// Upper bound for one curl_multi_poll wait; wakeup() cuts it short.
constexpr int kPollMs = 1000;
constexpr std::size_t kKeptBody = 16384;  // room for an OTLP partialSuccess errorMessage

using CurlUrl = util::CHandle<CURLU, &curl_url_cleanup>;
using CurlString = util::CHandle<char, &curl_free>;

/// Keeps the start of the response body (for --test-output and logs); the rest is discarded.
std::size_t keep_body_start(char* data, std::size_t size, std::size_t nmemb, void* user) {
    auto* out = static_cast<std::string*>(user);
    const std::size_t n = size * nmemb;
    if (out->size() < kKeptBody) {
        out->append(data, std::min(n, kKeptBody - out->size()));
    }
    return size * nmemb;
}

std::optional<std::string> url_part(CURLU* url, CURLUPart part) {
    char* raw = nullptr;
    if (curl_url_get(url, part, &raw, 0) != CURLUE_OK || raw == nullptr) {
        return std::nullopt;
    }
    const CurlString owned(raw);
    return std::string(owned.get());
}

}  // namespace

CurlGlobal::CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        throw std::runtime_error("curl_global_init failed");
    }
}

CurlGlobal::~CurlGlobal() {
    curl_global_cleanup();
}

bool slist_append(CurlSlist& list, const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) {
        return false;
    }
    // curl_slist_append returns the same head once the list exists; adopt it the first time.
    static_cast<void>(list.release());
    list.reset(grown);
    return true;
}

std::optional<std::string> redacted_url(const std::string& url) {
    const CurlUrl parsed(curl_url());
    if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return std::nullopt;
    }
    auto scheme = url_part(parsed.get(), CURLUPART_SCHEME);
    auto host = url_part(parsed.get(), CURLUPART_HOST);
    if (!scheme || !host || (*scheme != "http" && *scheme != "https")) {
        return std::nullopt;
    }
    std::string out = *scheme + "://" + *host;
    if (auto port = url_part(parsed.get(), CURLUPART_PORT)) {
        out += ':';
        out += *port;
    }
    return out;
}

CurlEasy::CurlEasy() : multi_(curl_multi_init()), easy_(curl_easy_init()) {
    if (!multi_ || !easy_) {
        throw std::runtime_error("cannot create a libcurl handle");
    }
    // Without a write callback libcurl writes response bodies to stdout, which may carry alerts.
    if (curl_easy_setopt(easy_.get(), CURLOPT_WRITEFUNCTION, &keep_body_start) != CURLE_OK ||
        curl_easy_setopt(easy_.get(), CURLOPT_WRITEDATA, &response_) != CURLE_OK) {
        throw std::runtime_error("cannot set the libcurl write callback");
    }
}

CURLcode CurlEasy::set_opt(CURLoption option, long value) {
    return curl_easy_setopt(easy_.get(), option, value);
}

CURLcode CurlEasy::set_opt(CURLoption option, const std::string& value) {
    return curl_easy_setopt(easy_.get(), option, value.c_str());
}

CURLcode CurlEasy::set_headers(CurlSlist headers) {
    const CURLcode rc = curl_easy_setopt(easy_.get(), CURLOPT_HTTPHEADER, headers.get());
    if (rc == CURLE_OK) {
        headers_ = std::move(headers);
    }
    return rc;
}

CURLcode CurlEasy::set_body(std::shared_ptr<const std::string> body) {
    if (!body) {
        return CURLE_BAD_FUNCTION_ARGUMENT;
    }
    CURLcode rc = curl_easy_setopt(
        easy_.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    if (rc != CURLE_OK) {
        return rc;
    }
    // POSTFIELDS is not copied by libcurl: body_ keeps the buffer alive until the next body.
    rc = curl_easy_setopt(easy_.get(), CURLOPT_POSTFIELDS, body->data());
    if (rc == CURLE_OK) {
        body_ = std::move(body);
    }
    return rc;
}

CurlResult CurlEasy::perform(const std::atomic<bool>& abort) {
    CurlResult result;
    response_.clear();
    if (curl_multi_add_handle(multi_.get(), easy_.get()) != CURLM_OK) {
        result.code = CURLE_FAILED_INIT;
        return result;
    }
    bool finished = false;
    while (true) {
        int running = 0;
        if (curl_multi_perform(multi_.get(), &running) != CURLM_OK) {
            result.code = CURLE_FAILED_INIT;
            break;
        }
        if (running == 0) {
            finished = true;
            break;
        }
        if (abort.load()) {
            result.code = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_poll(multi_.get(), nullptr, 0, kPollMs, nullptr) != CURLM_OK) {
            result.code = CURLE_FAILED_INIT;
            break;
        }
    }
    if (finished) {
        result.code = CURLE_FAILED_INIT;  // replaced by the transfer's own result below
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy_.get()) {
                // NOLINTNEXTLINE(cppcoreguidelines-pro-type-union-access): libcurl's C API
                result.code = msg->data.result;
            }
        }
    }
    static_cast<void>(curl_multi_remove_handle(multi_.get(), easy_.get()));
    if (result.code == CURLE_OK) {
        long status = 0;
        if (curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
            result.status = status;
        }
        curl_off_t retry_after = 0;
        if (curl_easy_getinfo(easy_.get(), CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
            retry_after > 0) {
            result.retry_after = std::chrono::seconds(retry_after);
        }
        result.body = response_;
    }
    return result;
}

void CurlEasy::wakeup() noexcept {
    static_cast<void>(curl_multi_wakeup(multi_.get()));
}

}  // namespace adock::outputs
