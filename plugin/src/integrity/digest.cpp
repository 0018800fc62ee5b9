// SPDX-License-Identifier: Apache-2.0
#include "integrity/digest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "util/digest.hpp"
#include "util/errno_text.hpp"
#include "util/unique_fd.hpp"

namespace adock::integrity {

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
        error = util::errno_text(errno);
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
    util::Digest sha(util::Digest::Kind::Sha256);
    util::Digest md5(util::Digest::Kind::Md5);
    if (!sha.ok() || !md5.ok()) {
        error = "cannot initialise digests";
        return std::nullopt;
    }
    std::array<char, 1U << 16U> buf{};
    off_t offset = 0;
    for (;;) {
        const ssize_t n =
            util::retry_on_eintr([&] { return ::pread(fd, buf.data(), buf.size(), offset); });
        if (n < 0) {
            error = util::errno_text(errno);
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
        const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
        if (!sha.update(chunk) || !md5.update(chunk)) {
            error = "digest update failed";
            return std::nullopt;
        }
    }
    auto sha_hex = sha.finish_hex();
    auto md5_hex = md5.finish_hex();
    if (!sha_hex || !md5_hex) {
        error = "digest failed";
        return std::nullopt;
    }
    FileFacts f;
    f.sha256 = std::move(*sha_hex);
    f.md5 = std::move(*md5_hex);
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

std::optional<FileFacts> examine_path(const std::string& path,
                                      std::uint64_t max_bytes,
                                      std::string& error) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        error = util::errno_text(errno);
        return std::nullopt;
    }
    return examine_fd(fd.get(), max_bytes, error);
}

}  // namespace adock::integrity
