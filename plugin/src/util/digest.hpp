// SPDX-License-Identifier: Apache-2.0
// Message digests through libcrypto (EVP), as lower-case hex: the integrity monitor's file
// hashes (sha256 and md5), the argv hash of a cut command line, and the outputs' incident key.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/c_handle.hpp"

namespace adock::util {

/// A running digest. A failure of libcrypto (ENOMEM, a FIPS provider refusing md5) is kept:
/// after one, update() does nothing and finish_hex() gives nullopt.
class Digest {
public:
    enum class Kind { Sha256, Md5 };

    explicit Digest(Kind kind);

    /// Whether every step so far worked.
    [[nodiscard]] bool ok() const { return ok_; }

    /// Adds `bytes`; false when this or an earlier step failed.
    bool update(std::string_view bytes);

    /// The digest of everything added, in hex; nullopt when a step failed. Call it once.
    [[nodiscard]] std::optional<std::string> finish_hex();

private:
    CHandle<EVP_MD_CTX, &EVP_MD_CTX_free> ctx_;
    bool ok_ = false;
};

/// sha256 of `data` in hex; nullopt when libcrypto fails.
[[nodiscard]] std::optional<std::string> sha256_hex(std::string_view data);

/// `n` bytes as lower-case hex, two digits a byte.
[[nodiscard]] std::string hex(const unsigned char* bytes, std::size_t n);

}  // namespace adock::util
