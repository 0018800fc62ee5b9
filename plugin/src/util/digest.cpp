// SPDX-License-Identifier: Apache-2.0
#include "util/digest.hpp"

#include <array>

namespace adock::util {

Digest::Digest(Kind kind) : ctx_(EVP_MD_CTX_new()) {
    const EVP_MD* md = kind == Kind::Sha256 ? EVP_sha256() : EVP_md5();
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), md, nullptr) == 1;
}

bool Digest::update(std::string_view bytes) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1;
    return ok_;
}

std::optional<std::string> Digest::finish_hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    ok_ = ok_ && EVP_DigestFinal_ex(ctx_.get(), md.data(), &len) == 1;
    if (!ok_) {
        return std::nullopt;
    }
    return hex(md.data(), len);
}

std::optional<std::string> sha256_hex(std::string_view data) {
    Digest d(Digest::Kind::Sha256);
    d.update(data);
    return d.finish_hex();
}

std::string hex(const unsigned char* bytes, std::size_t n) {
    static constexpr std::array<char, 16> kDigits{
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): a C buffer of n bytes
        const unsigned byte = bytes[i];
        out += kDigits.at(byte >> 4U);
        out += kDigits.at(byte & 0xFU);
    }
    return out;
}

}  // namespace adock::util
