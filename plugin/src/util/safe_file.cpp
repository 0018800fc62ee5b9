// SPDX-License-Identifier: Apache-2.0
#include "util/safe_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "util/errno_text.hpp"

namespace adock::util {
namespace {

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

std::size_t write_all(int fd, std::string_view data, int& err) {
    std::size_t off = 0;
    err = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        err = n < 0 ? errno : EIO;
        break;
    }
    return off;
}

bool write_all(int fd, std::string_view data) {
    int err = 0;
    (void)write_all(fd, data, err);
    return err == 0;
}

UniqueFd open_dir_nofollow(const std::string& path, bool create, std::string& error) {
    const bool absolute = !path.empty() && path.front() == '/';
    UniqueFd cur(::open(absolute ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cur) {
        error = std::string(absolute ? "/" : ".") + ": " + errno_text(errno);
        return {};
    }
    std::string so_far = absolute ? "" : ".";
    for (const auto& part : components(path)) {
        so_far += "/" + part;
        int err = 0;
        UniqueFd next = open_component(cur.get(), part, create, err);
        if (!next) {
            if (err == ELOOP || err == ENOTDIR) {
                struct stat st {};
                const bool link = ::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
                error = so_far + (link ? ": a symbolic link, not followed" : ": not a directory");
            } else {
                error = so_far + ": " + errno_text(err);
            }
            errno = err;  // callers tell a missing component (ENOENT) from a refused one
            return {};
        }
        cur = std::move(next);
    }
    return cur;
}

std::optional<DirEntry> open_parent_nofollow(const std::string& path, bool create, std::string& error) {
    const auto slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") {
        error = path + ": not a file name";
        return std::nullopt;
    }
    std::string dir;
    if (slash == std::string::npos) {
        dir = ".";
    } else if (slash == 0) {
        dir = "/";
    } else {
        dir = path.substr(0, slash);
    }
    DirEntry out;
    out.dir = open_dir_nofollow(dir, create, error);
    if (!out.dir) {
        return std::nullopt;
    }
    out.name = std::move(name);
    return out;
}

std::string check_private_regular(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return errno_text(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return "not a regular file";
    }
    if (st.st_nlink > 1) {
        return "has " + std::to_string(st.st_nlink) + " hard links, refusing to write to it";
    }
    if (st.st_uid != ::geteuid()) {
        return "owned by uid " + std::to_string(st.st_uid) + ", not by us (" + std::to_string(::geteuid()) +
               "), refusing to write to it";
    }
    return {};
}

UniqueFd open_append_nofollow(const std::string& path,
                              mode_t mode,
                              bool create_dirs,
                              std::string& error,
                              std::uint64_t* size) {
    auto where = open_parent_nofollow(path, create_dirs, error);
    if (!where) {
        return {};
    }
    UniqueFd fd(::openat(where->dir.get(),
                         where->name.c_str(),
                         O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                         mode));
    if (!fd) {
        error = path + ": " + (errno == ELOOP ? std::string("a symbolic link, not followed") : errno_text(errno));
        return {};
    }
    if (std::string problem = check_private_regular(fd.get()); !problem.empty()) {
        error = path + ": " + problem;
        return {};
    }
    if (size != nullptr) {
        struct stat st {};
        *size = ::fstat(fd.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    }
    return fd;
}

bool write_file_atomic(const std::string& path,
                       std::string_view data,
                       mode_t mode,
                       bool create_dirs,
                       bool durable,
                       std::string& error) {
    auto where = open_parent_nofollow(path, create_dirs, error);
    if (!where) {
        return false;
    }
    const int dir = where->dir.get();
    const std::string tmp = where->name + ".tmp";
    constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    UniqueFd fd(::openat(dir, tmp.c_str(), kFlags, mode));
    if (!fd && errno == EEXIST) {
        // Left by a crash, or planted: unlinkat removes the name itself (a symlink, not its
        // target; a FIFO without opening it), then O_EXCL makes a file that is ours.
        if (::unlinkat(dir, tmp.c_str(), 0) != 0 && errno != ENOENT) {
            error = path + ".tmp: cannot remove a stale one: " + errno_text(errno);
            return false;
        }
        fd.reset(::openat(dir, tmp.c_str(), kFlags, mode));
    }
    if (!fd) {
        error = path + ".tmp: " + errno_text(errno);
        return false;
    }
    // The mode asked for, whatever the umask (the metrics file is 0644 under the plugin's 077).
    bool ok = ::fchmod(fd.get(), mode) == 0 && write_all(fd.get(), data);
    int err = ok ? 0 : errno;
    if (ok && durable && ::fsync(fd.get()) != 0) {
        ok = false;
        err = errno;
    }
    if (ok) {
        if (const int cerr = fd.close(); cerr != 0) {
            ok = false;
            err = cerr;
        }
    }
    if (ok && ::renameat(dir, tmp.c_str(), dir, where->name.c_str()) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        (void)::unlinkat(dir, tmp.c_str(), 0);
        error = path + ": " + errno_text(err);
        return false;
    }
    if (durable) {
        (void)::fsync(dir);  // the rename itself
    }
    return true;
}

std::optional<std::string> read_file_nofollow(const std::string& path, std::size_t max_bytes, std::string& error) {
    error.clear();
    auto where = open_parent_nofollow(path, false, error);
    if (!where) {
        if (errno == ENOENT) {
            error.clear();  // a missing directory: the file is missing too
        }
        return std::nullopt;
    }
    UniqueFd fd(::openat(where->dir.get(), where->name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        if (errno != ENOENT) {
            error = path + ": " + (errno == ELOOP ? std::string("a symbolic link, not followed") : errno_text(errno));
        }
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        error = path + ": not a regular file";
        return std::nullopt;
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        error = path + ": larger than " + std::to_string(max_bytes) + " bytes";
        return std::nullopt;
    }
    std::string out;
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
}

}  // namespace adock::util
