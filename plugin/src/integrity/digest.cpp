// SPDX-License-Identifier: Apache-2.0
#include "integrity/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "util/c_handle.hpp"
#include "util/unique_fd.hpp"

namespace adock::integrity {
namespace {

using MdCtx = util::CHandle<EVP_MD_CTX, &EVP_MD_CTX_free>;

std::string hex(const unsigned char* p, unsigned n) {
    static constexpr std::array<char, 16> kDigits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                  '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(static_cast<std::size_t>(n) * 2);
    for (unsigned i = 0; i < n; ++i) {
        out += kDigits[p[i] >> 4U];
        out += kDigits[p[i] & 0xfU];
    }
    return out;
}

}  // namespace

std::optional<StatKey> stat_key(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return std::nullopt;
    }
    StatKey k;
    k.dev = st.st_dev;
    k.inode = st.st_ino;
    k.size = static_cast<std::uint64_t>(st.st_size);
    k.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    k.ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    return k;
}

std::optional<FileFacts> examine_fd(int fd, std::uint64_t max_bytes, std::string& error) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        error = std::error_code(errno, std::generic_category()).message();
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        error = "not a regular file";
        return std::nullopt;
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        error = "larger than the hashing limit (" + std::to_string(st.st_size) + " bytes)";
        return std::nullopt;
    }
    MdCtx sha(EVP_MD_CTX_new());
    MdCtx md5(EVP_MD_CTX_new());
    if (!sha || !md5 || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr) != 1) {
        error = "cannot initialise digests";
        return std::nullopt;
    }
    std::array<unsigned char, 1U << 16U> buf{};
    off_t offset = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = std::error_code(errno, std::generic_category()).message();
            return std::nullopt;
        }
        if (n == 0) {
            break;
        }
        offset += n;
        if (static_cast<std::uint64_t>(offset) > max_bytes) {
            error = "grew beyond the hashing limit while read";
            return std::nullopt;
        }
        const auto len = static_cast<std::size_t>(n);
        if (EVP_DigestUpdate(sha.get(), buf.data(), len) != 1 || EVP_DigestUpdate(md5.get(), buf.data(), len) != 1) {
            error = "digest update failed";
            return std::nullopt;
        }
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned len = 0;
    FileFacts f;
    if (EVP_DigestFinal_ex(sha.get(), out.data(), &len) != 1) {
        error = "digest failed";
        return std::nullopt;
    }
    f.sha256 = hex(out.data(), len);
    if (EVP_DigestFinal_ex(md5.get(), out.data(), &len) != 1) {
        error = "digest failed";
        return std::nullopt;
    }
    f.md5 = hex(out.data(), len);
    f.size = static_cast<std::uint64_t>(offset);
    f.mode = st.st_mode & 07777U;
    f.uid = st.st_uid;
    f.gid = st.st_gid;
    f.dev = st.st_dev;
    f.inode = st.st_ino;
    f.mtime = st.st_mtim.tv_sec;
    f.ctime = st.st_ctim.tv_sec;
    f.ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    return f;
}

std::optional<FileFacts> examine_path(const std::string& path, std::uint64_t max_bytes, std::string& error) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        error = std::error_code(errno, std::generic_category()).message();
        return std::nullopt;
    }
    return examine_fd(fd.get(), max_bytes, error);
}

}  // namespace adock::integrity
