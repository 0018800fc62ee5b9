// SPDX-License-Identifier: Apache-2.0
#include "integrity/image_diff.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "integrity/digest.hpp"
#include "util/audit_dev.hpp"
#include "util/bytes.hpp"
#include "util/safe_read.hpp"
#include "util/split.hpp"
#include "util/unique_fd.hpp"

namespace adock::integrity {

namespace {

/// Splits overlay's lowerdir value on ':' not escaped by a backslash.
std::vector<std::string> split_layers(const std::string& v) {
    std::vector<std::string> out(1);
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            out.back().push_back(v[++i]);
        } else if (v[i] == ':') {
            out.emplace_back();
        } else {
            out.back().push_back(v[i]);
        }
    }
    return out;
}

bool parse_hex(std::string_view s, unsigned& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size() && !s.empty();
}

bool parse_dec(std::string_view s, unsigned& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out, 10);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size() && !s.empty();
}

/// No "." or ".." component, no empty one but the leading slash's.
bool normal_absolute(const std::string& p) {
    if (p.size() < 2 || p.front() != '/' || p.back() == '/') {
        return false;
    }
    for (const auto c : util::split(std::string_view(p).substr(1), '/')) {
        if (c.empty() || c == "." || c == "..") {
            return false;
        }
    }
    return true;
}

std::string dirname_of(const std::string& p) {
    const auto at = p.rfind('/');
    return at == 0 || at == std::string::npos ? std::string("/") : p.substr(0, at);
}

/// The path the kernel gives an open file (in this process's mount namespace).
std::optional<std::string> path_of(int fd) {
    std::array<char, 64> link{};
    std::snprintf(link.data(), link.size(), "/proc/self/fd/%d", fd);
    std::array<char, 4097> buf{};
    const ssize_t n = ::readlink(link.data(), buf.data(), buf.size() - 1);
    if (n <= 0 || static_cast<std::size_t>(n) >= buf.size() - 1) {
        return std::nullopt;
    }
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

FileState state_of(const struct stat& st) {
    FileState f;
    f.size = static_cast<std::uint64_t>(st.st_size);
    f.mode = st.st_mode & 07777;
    f.uid = st.st_uid;
    f.gid = st.st_gid;
    return f;
}

/// An O_PATH descriptor's file: its state, and its content's digest when it is a regular file
/// within the budget (reopened through the descriptor, so never a device or FIFO).
std::optional<FileState> facts_of(int path_fd, std::uint64_t max_hash_bytes) {
    struct stat st {};

    if (::fstat(path_fd, &st) != 0) {
        return std::nullopt;
    }
    FileState f = state_of(st);
    if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) > max_hash_bytes) {
        return f;
    }
    std::array<char, 64> link{};
    std::snprintf(link.data(), link.size(), "/proc/self/fd/%d", path_fd);
    const util::UniqueFd fd(::open(link.data(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid()) {
        return f;
    }
    std::string error;
    if (auto d = examine_fd(fd.get(), max_hash_bytes, error)) {
        f.sha256 = d->sha256;
        f.size = d->size;
    }
    return f;
}

/// overlayfs's markers in a layer: a whiteout (a character device 0:0) hides the name below;
/// an opaque directory hides the directories of the layers below.
bool whiteout(const struct stat& st) {
    return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool opaque(int dir_fd) {
    std::array<char, 64> link{};
    std::snprintf(link.data(), link.size(), "/proc/self/fd/%d", dir_fd);
    std::array<char, 4> v{};
    // trusted.* needs CAP_SYS_ADMIN, which the plugin does not keep: without it the marker is
    // not seen (README says what that misses); user.* is rootless podman's.
    for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
        const ssize_t n = ::getxattr(link.data(), name, v.data(), v.size());
        if (n == 1 && v[0] == 'y') {
            return true;
        }
    }
    return false;
}

enum class Found { Yes, No, Hidden };

/// `rel` (no leading slash, canonical) in one layer: found (its state in `out`), not in this
/// layer, or hidden from the layers below (a whiteout, a non-directory or an opaque directory
/// on its way).
Found in_layer(int layer_fd,
               const std::vector<std::string_view>& parts,
               std::uint64_t max_hash_bytes,
               std::optional<FileState>& out) {
    util::UniqueFd dir(::fcntl(layer_fd, F_DUPFD_CLOEXEC, 0));
    bool covers = false;  // an opaque directory of this layer on the way
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string name(parts[i]);

        struct stat st {};

        if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            return covers ? Found::Hidden : Found::No;
        }
        if (whiteout(st)) {
            return Found::Hidden;
        }
        if (i + 1 == parts.size()) {
            const util::UniqueFd f(
                ::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!f.valid()) {
                return Found::No;
            }
            out = facts_of(f.get(), max_hash_bytes);
            return out ? Found::Yes : Found::No;
        }
        if (!S_ISDIR(st.st_mode)) {
            return Found::Hidden;  // a file or symlink here covers the directory of lower layers
        }
        util::UniqueFd next(
            ::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next.valid()) {
            return Found::No;
        }
        dir = std::move(next);
        covers = covers || opaque(dir.get());
    }
    return Found::No;
}

ImageDiffRef unknown(std::string path, std::string why) {
    ImageDiffRef r;
    r.path = std::move(path);
    r.verdict = "unknown";
    r.reason = std::move(why);
    return r;
}

}  // namespace

std::string unescape_mountinfo(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' &&
            field[i + 1] <= '3' && field[i + 2] >= '0' && field[i + 2] <= '7' &&
            field[i + 3] >= '0' && field[i + 3] <= '7') {
            out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                            (field[i + 3] - '0')));
            i += 3;
        } else {
            out.push_back(field[i]);
        }
    }
    return out;
}

std::optional<OverlayMount> find_overlay(std::string_view mountinfo, std::string_view dev) {
    const auto colon = dev.find(':');
    unsigned want_major = 0;
    unsigned want_minor = 0;
    if (colon == std::string_view::npos || !parse_hex(dev.substr(0, colon), want_major) ||
        !parse_hex(dev.substr(colon + 1), want_minor)) {
        return std::nullopt;
    }
    for (const auto line : util::split(mountinfo, '\n')) {
        // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
        const auto fields = util::split(line, ' ');
        if (fields.size() < 10) {
            continue;
        }
        const auto mm = fields[2];
        const auto c = mm.find(':');
        unsigned major = 0;
        unsigned minor = 0;
        if (c == std::string_view::npos || !parse_dec(mm.substr(0, c), major) ||
            !parse_dec(mm.substr(c + 1), minor) || major != want_major || minor != want_minor) {
            continue;
        }
        std::size_t sep = 6;
        while (sep < fields.size() && fields[sep] != "-") {
            ++sep;
        }
        if (sep + 3 >= fields.size() || fields[sep + 1] != "overlay" || fields[3] != "/") {
            continue;  // another filesystem, or a bind mount of part of one
        }
        OverlayMount m;
        m.mount_point = unescape_mountinfo(fields[4]);
        // The options are comma-separated; a comma inside a path is escaped by the kernel.
        for (const auto opt : util::split(fields[sep + 3], ',')) {
            if (opt.starts_with("lowerdir=") || opt.starts_with("lowerdir+=")) {
                const auto v = unescape_mountinfo(opt.substr(opt.find('=') + 1));
                for (auto& l : split_layers(v)) {
                    m.lower.push_back(std::move(l));
                }
            } else if (opt.starts_with("upperdir=")) {
                m.upper = unescape_mountinfo(opt.substr(9));
            }
        }
        // Docker's short form for long layer lists: paths relative to the driver's home
        // (the mount point is <home>/<layer>/merged).
        const std::string home = dirname_of(dirname_of(m.mount_point));
        for (auto* p : {&m.upper}) {
            if (!p->empty() && p->front() != '/') {
                *p = home + "/" + *p;
            }
        }
        for (auto& l : m.lower) {
            if (!l.empty() && l.front() != '/') {
                l = home + "/" + l;
            }
        }
        return m;
    }
    return std::nullopt;
}

bool beneath_one_of(const std::string& path, const std::vector<std::string>& roots) {
    if (!normal_absolute(path)) {
        return false;
    }
    for (const auto& r : roots) {
        if (r.size() > 1 && path.size() > r.size() && path.starts_with(r) &&
            path[r.size()] == '/') {
            return true;
        }
    }
    return false;
}

ImageDiffRef diff_against_image(const std::string& mountinfo_path,
                                const std::vector<std::string>& devs,
                                const std::string& path,
                                const std::vector<std::string>& roots,
                                const ImageDiffLimits& limits) {
    if (path.size() > limits.max_path_bytes || path.empty() || path.front() != '/' ||
        path.find('\0') != std::string::npos) {
        return unknown(path.substr(0, std::min(path.size(), limits.max_path_bytes)),
                       "not an absolute path within the budget");
    }
    const auto slash = mountinfo_path.rfind('/');
    const auto table = util::read_beneath(mountinfo_path.substr(0, slash),
                                          mountinfo_path.substr(slash + 1),
                                          limits.max_mountinfo_bytes + 1);
    if (!table || table->size() > limits.max_mountinfo_bytes) {
        return unknown(path,
                       table ? "the host's mount table is over its budget"
                             : "cannot read the host's mount table: " + table.error().message);
    }
    std::optional<OverlayMount> overlay;
    std::string dev;
    for (const auto& d : devs) {
        if ((overlay = find_overlay(*table, d))) {
            dev = d;
            break;
        }
    }
    if (!overlay) {
        std::string tried;
        for (const auto& d : devs) {
            tried += (tried.empty() ? "" : ", ") + d;
        }
        return unknown(path,
                       "no overlay with device " + tried +
                           " in the host's mount table (the container stopped, or its root is not "
                           "an overlay)");
    }
    if (overlay->lower.empty() || overlay->lower.size() > limits.max_layers) {
        return unknown(path,
                       "the overlay has " + std::to_string(overlay->lower.size()) +
                           " image layers (at most " + std::to_string(limits.max_layers) +
                           " are compared)");
    }
    if (!beneath_one_of(overlay->mount_point, roots)) {
        return unknown(path, "the overlay is not mounted beneath a runtime's storage directory");
    }
    for (const auto& l : overlay->lower) {
        if (!beneath_one_of(l, roots)) {
            return unknown(
                path, "an image layer of the overlay is not beneath a runtime's storage directory");
        }
    }
    // The merged view, as the host mounts it: the very overlay the record's device names.
    const util::UniqueFd merged = util::openat2(AT_FDCWD,
                                                overlay->mount_point.c_str(),
                                                O_PATH | O_DIRECTORY,
                                                RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);

    struct stat mst {};

    if (!merged.valid() || ::fstat(merged.get(), &mst) != 0 || util::audit_dev(mst.st_dev) != dev) {
        return unknown(path, "the overlay's mount point is no longer that overlay");
    }
    // The path as the container's root resolves it (its symlinks, never out of it, never
    // onto another mount): the parent, then the name, which may be gone.
    const std::string parent = dirname_of(path);
    const std::string base = path.substr(path.rfind('/') + 1);
    constexpr std::uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    const std::string parent_rel = parent == "/" ? std::string(".") : parent.substr(1);
    const util::UniqueFd pdir =
        util::openat2(merged.get(), parent_rel.c_str(), O_PATH | O_DIRECTORY, kInRoot);
    std::optional<std::string> canon;
    util::UniqueFd file;
    if (pdir.valid() && !base.empty()) {
        file = util::openat2(merged.get(), path.c_str() + 1, O_PATH, kInRoot);
        canon = path_of(file.valid() ? file.get() : pdir.get());
        if (canon && !file.valid()) {
            canon->append(canon->back() == '/' ? "" : "/").append(base);
        }
    }
    const std::string& mp = overlay->mount_point;
    if (!canon || !canon->starts_with(mp) || canon->size() <= mp.size() + 1 ||
        (*canon)[mp.size()] != '/') {
        return unknown(path, "the path does not resolve in the container's root");
    }
    ImageDiffRef r;
    r.path = canon->substr(mp.size());
    if (file.valid()) {
        r.now = facts_of(file.get(), limits.max_hash_bytes);
    }
    const auto parts = util::split(std::string_view(r.path).substr(1), '/');
    for (const auto& l : overlay->lower) {
        const util::UniqueFd layer =
            util::openat2(AT_FDCWD, l.c_str(), O_PATH | O_DIRECTORY, RESOLVE_NO_MAGICLINKS);
        const auto real = layer.valid() ? path_of(layer.get()) : std::nullopt;
        if (!real || !beneath_one_of(*real, roots)) {
            return unknown(r.path,
                           "an image layer is missing or leads outside the runtime's storage");
        }
        const Found f = in_layer(layer.get(), parts, limits.max_hash_bytes, r.image);
        if (f != Found::No) {
            break;
        }
    }
    const bool big = (r.image && r.image->sha256.empty()) || (r.now && r.now->sha256.empty());
    if (r.image && r.now) {
        if (big) {
            r.verdict = "unknown";
            r.reason = "not a regular file within the hashing budget (" +
                       std::to_string(limits.max_hash_bytes / util::kMiB) + " MiB)";
        } else if (r.image->sha256 != r.now->sha256) {
            r.verdict = "modified";
        } else if (r.image->mode != r.now->mode || r.image->uid != r.now->uid ||
                   r.image->gid != r.now->gid) {
            r.verdict = "attributes";
        } else {
            r.verdict = "unchanged";
        }
    } else if (r.now) {
        r.verdict = "added";
    } else if (r.image) {
        r.verdict = "removed";
    } else {
        r.verdict = "absent";
    }
    return r;
}

}  // namespace adock::integrity
