// SPDX-License-Identifier: Apache-2.0
#include "util/safe_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "util/bytes.hpp"
#include "util/errno_text.hpp"

namespace adock::util {
namespace {

/// The error of an openat(O_NOFOLLOW) of `path` that failed with `err`.
tl::unexpected<Error> open_failed(const std::string& path, int err) {
    return fail(
        err,
        path + ": " +
            (err == ELOOP ? std::string("a symbolic link, not followed") : errno_text(err)));
}

constexpr mode_t kDirMode = 0700;

/// The components of `path`, empty ones and "." dropped.
std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t next = std::min(path.find('/', pos), path.size());
        std::string part = path.substr(pos, next - pos);
        if (!part.empty() && part != ".") {
            out.push_back(std::move(part));
        }
        pos = next + 1;
    }
    return out;
}

/// Opens directory `name` in `dir` without following a symlink; makes it first when `create`.
UniqueFd open_component(int dir, const std::string& name, bool create, int& err) {
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd fd(::openat(dir, name.c_str(), kFlags));
    if (!fd && errno == ENOENT && create) {
        if (::mkdirat(dir, name.c_str(), kDirMode) != 0 && errno != EEXIST) {
            err = errno;
            return {};
        }
        fd.reset(::openat(dir, name.c_str(), kFlags));
    }
    err = fd ? 0 : errno;
    return fd;
}

}  // namespace

Result<void> write_all(int fd, std::string_view data, std::size_t* written) {
    std::size_t off = 0;
    int err = 0;
    while (off < data.size()) {
        const ssize_t n =
            retry_on_eintr([&] { return ::write(fd, data.data() + off, data.size() - off); });
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        err = n < 0 ? errno : EIO;
        break;
    }
    if (written != nullptr) {
        *written = off;
    }
    if (err != 0) {
        return fail(err, errno_text(err));
    }
    return {};
}

Result<UniqueFd> open_dir_nofollow(const std::string& path, bool create) {
    const bool absolute = !path.empty() && path.front() == '/';
    UniqueFd cur(::open(absolute ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cur) {
        return fail_errno(errno, absolute ? "/" : ".");
    }
    std::string so_far = absolute ? "" : ".";
    for (const auto& part : components(path)) {
        so_far += "/" + part;
        int err = 0;
        UniqueFd next = open_component(cur.get(), part, create, err);
        if (!next) {
            if (err == ELOOP || err == ENOTDIR) {
                struct stat st {};

                const bool link =
                    ::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISLNK(st.st_mode);
                return fail(
                    err, so_far + (link ? ": a symbolic link, not followed" : ": not a directory"));
            }
            // callers tell a missing component (ENOENT) from a refused one
            return fail_errno(err, so_far);
        }
        cur = std::move(next);
    }
    return cur;
}

Result<DirEntry> open_parent_nofollow(const std::string& path, bool create) {
    const auto slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") {
        return fail(0, path + ": not a file name");
    }
    std::string dir;
    if (slash == std::string::npos) {
        dir = ".";
    } else if (slash == 0) {
        dir = "/";
    } else {
        dir = path.substr(0, slash);
    }
    auto dir_fd = open_dir_nofollow(dir, create);
    if (!dir_fd) {
        return fail(std::move(dir_fd));
    }
    return DirEntry{std::move(*dir_fd), std::move(name)};
}

Result<void> check_private_regular(int fd) {
    struct stat st {};

    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        return fail(err, errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(0, "not a regular file");
    }
    if (st.st_nlink > 1) {
        return fail(0,
                    "has " + std::to_string(st.st_nlink) + " hard links, refusing to write to it");
    }
    if (st.st_uid != ::geteuid()) {
        return fail(0,
                    "owned by uid " + std::to_string(st.st_uid) + ", not by us (" +
                        std::to_string(::geteuid()) + "), refusing to write to it");
    }
    return {};
}

Result<UniqueFd> open_append_nofollow(const std::string& path,
                                      mode_t mode,
                                      bool create_dirs,
                                      std::uint64_t* size) {
    auto where = open_parent_nofollow(path, create_dirs);
    if (!where) {
        return fail(std::move(where));
    }
    UniqueFd fd(::openat(where->dir.get(),
                         where->name.c_str(),
                         O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                         mode));
    if (!fd) {
        return open_failed(path, errno);
    }
    if (auto mine = check_private_regular(fd.get()); !mine) {
        return fail(mine.error().errnum, path + ": " + mine.error().message);
    }
    if (size != nullptr) {
        struct stat st {};

        *size = ::fstat(fd.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    }
    return fd;
}

Result<void> write_file_atomic(
    const std::string& path, std::string_view data, mode_t mode, bool create_dirs, bool durable) {
    auto where = open_parent_nofollow(path, create_dirs);
    if (!where) {
        return fail(std::move(where));
    }
    const int dir = where->dir.get();
    const std::string tmp = where->name + ".tmp";
    constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    UniqueFd fd(::openat(dir, tmp.c_str(), kFlags, mode));
    if (!fd && errno == EEXIST) {
        // Left by a crash, or planted: unlinkat removes the name itself (a symlink, not its
        // target; a FIFO without opening it), then O_EXCL makes a file that is ours.
        if (::unlinkat(dir, tmp.c_str(), 0) != 0 && errno != ENOENT) {
            return fail_errno(errno, path + ".tmp: cannot remove a stale one");
        }
        fd.reset(::openat(dir, tmp.c_str(), kFlags, mode));
    }
    if (!fd) {
        return fail_errno(errno, path + ".tmp");
    }
    // The mode asked for, whatever the umask (the metrics file is 0644 under the plugin's 077).
    int err = ::fchmod(fd.get(), mode) == 0 ? 0 : errno;
    if (err == 0) {
        if (auto wrote = write_all(fd.get(), data); !wrote) {
            err = wrote.error().errnum;
        }
    }
    if (err == 0 && durable && ::fsync(fd.get()) != 0) {
        err = errno;
    }
    if (err == 0) {
        err = fd.close();
    }
    if (err == 0 && ::renameat(dir, tmp.c_str(), dir, where->name.c_str()) != 0) {
        err = errno;
    }
    if (err != 0) {
        (void)::unlinkat(dir, tmp.c_str(), 0);
        return fail_errno(err, path);
    }
    if (durable) {
        (void)::fsync(dir);  // the rename itself
    }
    return {};
}

namespace {

/// `name` in the open directory `dir` opened for reading without following a symlink: a regular
/// file of at most `max_bytes` (its size returned beside it). `shown` names it in a failure.
Result<std::pair<UniqueFd, std::size_t>> open_regular_at(int dir,
                                                         const std::string& name,
                                                         const std::string& shown,
                                                         std::size_t max_bytes) {
    UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        return open_failed(shown, errno);
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail(0, shown + ": not a regular file");
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        return fail(0, shown + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    return std::pair{std::move(fd), static_cast<std::size_t>(st.st_size)};
}

/// `path` opened for reading, reached without a symlink: open_regular_at() in its parent.
Result<std::pair<UniqueFd, std::size_t>> open_regular_nofollow(const std::string& path,
                                                               std::size_t max_bytes) {
    auto where = open_parent_nofollow(path, false);
    if (!where) {
        return fail(std::move(where));  // ENOENT for a missing directory: the file is missing too
    }
    return open_regular_at(where->dir.get(), where->name, path, max_bytes);
}

/// for_each_line_nofollow() on a file already open (`shown` names it in a failure).
Result<void> for_each_line_of(int fd,
                              const std::string& shown,
                              std::size_t max_bytes,
                              std::size_t max_line,
                              const std::function<bool(std::string_view)>& fn) {
    constexpr std::size_t kPiece = 64 * kKiB;
    // Not zeroed: a read fills what is looked at (a thousand md5sums files a start-up).
    const auto piece = std::make_unique_for_overwrite<char[]>(kPiece);
    std::string partial;    // the start of a line the last piece cut
    bool too_long = false;  // in a line longer than max_line: skipped to its end
    std::size_t total = 0;
    while (total < max_bytes) {
        const ssize_t n = read_retrying(fd, piece.get(), std::min(kPiece, max_bytes - total));
        if (n < 0) {
            return fail_errno(errno, shown);
        }
        if (n == 0) {
            break;
        }
        total += static_cast<std::size_t>(n);
        std::string_view data(piece.get(), static_cast<std::size_t>(n));
        while (!data.empty()) {
            const std::size_t nl = data.find('\n');
            const std::string_view part = data.substr(0, nl);
            too_long = too_long || partial.size() + part.size() > max_line;
            if (nl == std::string_view::npos) {
                if (too_long) {
                    partial.clear();
                } else {
                    partial.append(part);
                }
                break;
            }
            if (!too_long) {
                std::string_view line = part;
                if (!partial.empty()) {
                    partial.append(part);
                    line = partial;
                }
                if (!fn(line)) {
                    return {};
                }
            }
            partial.clear();
            too_long = false;
            data.remove_prefix(nl + 1);
        }
    }
    if (!partial.empty() && !too_long) {
        (void)fn(partial);
    }
    return {};
}
}  // namespace

Result<std::string> read_file_nofollow(const std::string& path, std::size_t max_bytes) {
    auto opened = open_regular_nofollow(path, max_bytes);
    if (!opened) {
        return fail(std::move(opened));
    }
    const int fd = opened->first.get();
    std::string out;
    out.resize(opened->second);
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = read_retrying(fd, out.data() + done, out.size() - done);
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
}

Result<void> for_each_line_nofollow(const std::string& path,
                                    std::size_t max_bytes,
                                    std::size_t max_line,
                                    const std::function<bool(std::string_view)>& fn) {
    // The file may grow after the size check: max_bytes bounds what is read, not only its size.
    auto opened = open_regular_nofollow(path, max_bytes);
    if (!opened) {
        return fail(std::move(opened));
    }
    return for_each_line_of(opened->first.get(), path, max_bytes, max_line, fn);
}

Result<void> for_each_line_nofollow_at(int dir,
                                       const std::string& name,
                                       const std::string& shown,
                                       std::size_t max_bytes,
                                       std::size_t max_line,
                                       const std::function<bool(std::string_view)>& fn) {
    auto opened = open_regular_at(dir, name, shown, max_bytes);
    if (!opened) {
        return fail(std::move(opened));
    }
    return for_each_line_of(opened->first.get(), shown, max_bytes, max_line, fn);
}

}  // namespace adock::util
