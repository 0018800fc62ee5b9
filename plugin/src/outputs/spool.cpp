// SPDX-License-Identifier: Apache-2.0
#include "outputs/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <vector>

#include "util/dir_stream.hpp"
#include "util/errno_text.hpp"
#include "util/log.hpp"
#include "util/safe_file.hpp"
#include "util/unique_fd.hpp"

namespace adock::outputs {
namespace {

constexpr std::size_t kCursorLen = 34;  // "%016llu %016llu\n"
constexpr std::size_t kMaxHeader = 21;  // 20 digits + '\n'

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::runtime_error("spool: " + what + " " + path + ": " + util::errno_text(errno));
}

bool pread_all(int fd, char* buf, std::size_t len, std::uint64_t offset) {
    while (len > 0) {
        const ssize_t n =
            util::retry_on_eintr([&] { return ::pread(fd, buf, len, static_cast<off_t>(offset)); });
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return true;
}

/// Parses "<digits>\n" at the start of `buf`; the header length and the payload length.
std::optional<std::pair<std::size_t, std::uint64_t>> parse_header(const char* buf, std::size_t n) {
    std::uint64_t len = 0;
    for (std::size_t i = 0; i < n && i < kMaxHeader; ++i) {
        const char c = buf[i];
        if (c == '\n') {
            if (i == 0) {
                return std::nullopt;
            }
            return std::make_pair(i + 1, len);
        }
        if (c < '0' || c > '9' || len > (UINT64_MAX - 9) / 10) {
            return std::nullopt;
        }
        len = len * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return std::nullopt;
}

}  // namespace

Spool::Spool(std::string dir, std::uint64_t max_bytes, std::uint64_t segment_bytes)
    : dir_(std::move(dir)),
      max_bytes_(max_bytes),
      segment_bytes_(std::max<std::uint64_t>(segment_bytes, 4096)) {
    while (dir_.size() > 1 && dir_.back() == '/') {
        dir_.pop_back();
    }
    // Reached without following a symlink in any component, made 0700 where missing.
    auto dir_fd = util::open_dir_nofollow(dir_, true);
    if (!dir_fd) {
        throw std::runtime_error("spool: cannot open the directory " + dir_fd.error().message);
    }
    dir_fd_ = std::move(*dir_fd);

    struct stat st {};

    if (::fstat(dir_fd_.get(), &st) != 0) {
        fail("cannot stat", dir_);
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
        throw std::runtime_error("spool: " + dir_ + " is not a directory owned by this user");
    }
    if ((st.st_mode & 077U) != 0 && ::fchmod(dir_fd_.get(), 0700) != 0) {
        fail("cannot restrict the mode of", dir_);
    }

    lock_fd_ = util::UniqueFd(::openat(
        dir_fd_.get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
    if (!lock_fd_) {
        fail("cannot open", dir_ + "/lock");
    }
    if (const auto mine = util::check_private_regular(lock_fd_.get()); !mine) {
        throw std::runtime_error("spool: " + dir_ + "/lock: " + mine.error().message);
    }
    if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        throw std::runtime_error("spool: " + dir_ + " is in use by another process");
    }

    std::vector<std::uint64_t> ids;
    {
        const util::DirStream d = util::open_dir_stream(dir_fd_.get());
        if (!d) {
            fail("cannot read", dir_);
        }
        // readdir(3) in glibc is safe on a stream no other thread reads.
        // NOLINTNEXTLINE(concurrency-mt-unsafe)
        while (const dirent* e = ::readdir(d.get())) {
            const std::string_view name(e->d_name);
            if (name.size() == 20 && name.ends_with(".seg") &&
                std::all_of(
                    name.begin(), name.begin() + 16, [](char c) { return c >= '0' && c <= '9'; })) {
                ids.push_back(std::stoull(std::string(name.substr(0, 16))));
            }
        }
    }
    std::sort(ids.begin(), ids.end());

    const std::string cursor_path = dir_ + "/cursor";
    cursor_fd_ = util::UniqueFd(::openat(
        dir_fd_.get(), "cursor", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
    if (!cursor_fd_) {
        fail("cannot open", cursor_path);
    }
    if (const auto mine = util::check_private_regular(cursor_fd_.get()); !mine) {
        throw std::runtime_error("spool: " + cursor_path + ": " + mine.error().message);
    }
    std::uint64_t cursor_id = 0;
    std::uint64_t cursor_off = 0;
    std::array<char, kCursorLen + 1> cbuf{};
    const ssize_t cn = ::pread(cursor_fd_.get(), cbuf.data(), kCursorLen, 0);
    if (cn == static_cast<ssize_t>(kCursorLen)) {
        unsigned long long a = 0;
        unsigned long long b = 0;
        if (std::sscanf(cbuf.data(), "%16llu %16llu", &a, &b) == 2) {
            cursor_id = a;
            cursor_off = b;
        }
    }

    for (const auto id : ids) {
        next_id_ = std::max(next_id_, id + 1);
        if (id < cursor_id) {  // delivered; the unlink did not happen before a stop
            (void)::unlinkat(dir_fd_.get(), seg_name(id).c_str(), 0);
            continue;
        }
        Segment seg;
        seg.id = id;

        struct stat ss {};

        if (::fstatat(dir_fd_.get(), seg_name(id).c_str(), &ss, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(ss.st_mode)) {
            continue;
        }
        seg.size = static_cast<std::uint64_t>(ss.st_size);
        const std::uint64_t from =
            (id == cursor_id && segments_.empty()) ? std::min(cursor_off, seg.size) : 0;
        if (segments_.empty()) {
            read_offset_ = from;
        }
        seg.records = scan_segment(seg, from);
        bytes_ += seg.size;
        pending_ += seg.records;
        segments_.push_back(seg);
    }
    while (!segments_.empty() && segments_.front().records == 0) {
        drop_front_segment();
    }
    write_cursor();
    if (pending_ > 0) {
        log::info("spool " + dir_ + ": " + std::to_string(pending_) +
                  " undelivered alert(s) from before (" + std::to_string(bytes_) + " bytes)");
    }
}

std::string Spool::seg_name(std::uint64_t id) {
    std::array<char, 24> name{};
    std::snprintf(name.data(), name.size(), "%016llu.seg", static_cast<unsigned long long>(id));
    return name.data();
}

std::string Spool::seg_path(std::uint64_t id) const {
    return dir_ + "/" + seg_name(id);
}

std::uint64_t Spool::scan_segment(Segment& seg, std::uint64_t offset) {
    const std::string path = seg_path(seg.id);
    const util::UniqueFd fd(::openat(
        dir_fd_.get(), seg_name(seg.id).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd || !util::check_private_regular(fd.get())) {
        return 0;
    }
    std::uint64_t records = 0;
    std::array<char, kMaxHeader> hdr{};
    while (offset < seg.size) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kMaxHeader, seg.size - offset));
        if (!pread_all(fd.get(), hdr.data(), want, offset)) {
            break;
        }
        const auto h = parse_header(hdr.data(), want);
        // The length is bounded by what is left of the segment (a crafted one cannot wrap the
        // offset around: no sums of untrusted numbers).
        const std::uint64_t room = seg.size - offset;
        if (!h || h->first >= room || h->second > room - h->first - 1) {
            break;
        }
        char nl = 0;
        if (!pread_all(fd.get(), &nl, 1, offset + h->first + h->second) || nl != '\n') {
            break;
        }
        offset += h->first + h->second + 1;
        ++records;
    }
    if (offset < seg.size) {
        log::warning("spool " + path + ": damaged record at byte " + std::to_string(offset) +
                     ", truncated (" + std::to_string(seg.size - offset) + " bytes)");
        if (::ftruncate(fd.get(), static_cast<off_t>(offset)) == 0) {
            seg.size = offset;
        }
        ++lost_;
    }
    return records;
}

void Spool::write_cursor() {
    std::array<char, kCursorLen + 1> buf{};
    const std::uint64_t id = segments_.empty() ? next_id_ : segments_.front().id;
    const std::uint64_t off = segments_.empty() ? 0 : read_offset_;
    std::snprintf(buf.data(),
                  buf.size(),
                  "%016llu %016llu\n",
                  static_cast<unsigned long long>(id),
                  static_cast<unsigned long long>(off));
    if (::pwrite(cursor_fd_.get(), buf.data(), kCursorLen, 0) != static_cast<ssize_t>(kCursorLen)) {
        log::warning("spool " + dir_ + ": cannot write the cursor: " + util::errno_text(errno));
    }
}

void Spool::drop_front_segment() {
    const Segment& seg = segments_.front();
    (void)::unlinkat(dir_fd_.get(), seg_name(seg.id).c_str(), 0);
    if (read_fd_id_ == seg.id) {
        read_fd_.reset();
    }
    if (write_fd_id_ == seg.id) {
        write_fd_.reset();
    }
    bytes_ -= std::min(bytes_, seg.size);
    pending_ -= std::min(pending_, seg.records);
    segments_.pop_front();
    read_offset_ = 0;
}

bool Spool::open_tail_for_append() {
    if (segments_.empty() || segments_.back().size >= segment_bytes_) {
        Segment seg;
        seg.id = next_id_++;
        segments_.push_back(seg);
        if (segments_.size() == 1) {
            read_offset_ = 0;
            write_cursor();
        }
    }
    const Segment& tail = segments_.back();
    if (!write_fd_ || write_fd_id_ != tail.id) {
        if (write_fd_) {
            // A finished segment: its writeback starts now, the next sync() waits for it.
            (void)::sync_file_range(write_fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
            unsynced_.push_back(std::move(write_fd_));
        }
        write_fd_ = util::UniqueFd(
            ::openat(dir_fd_.get(),
                     seg_name(tail.id).c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                     0600));
        write_fd_id_ = tail.id;
        if (write_fd_ && !util::check_private_regular(write_fd_.get())) {
            write_fd_.reset();  // a hard link planted under a segment's name
            errno = EPERM;
        }
    }
    return write_fd_.valid();
}

Spool::Append Spool::append(std::string_view payload) {
    const std::scoped_lock lock(mu_);
    std::string rec = std::to_string(payload.size());
    rec += '\n';
    if (bytes_ + rec.size() + payload.size() + 1 > max_bytes_) {
        return Append::Full;
    }
    rec.reserve(rec.size() + payload.size() + 1);
    rec += payload;
    rec += '\n';
    return write_records(rec, 1);
}

std::size_t Spool::append_many(const std::vector<std::string>& payloads) {
    const std::scoped_lock lock(mu_);
    std::string buf;
    std::uint64_t count = 0;
    for (const auto& p : payloads) {
        const std::string len = std::to_string(p.size());
        if (bytes_ + buf.size() + len.size() + p.size() + 2 > max_bytes_) {
            break;
        }
        buf += len;
        buf += '\n';
        buf += p;
        buf += '\n';
        ++count;
    }
    if (count == 0 || write_records(buf, count) != Append::Ok) {
        return 0;
    }
    return static_cast<std::size_t>(count);
}

Spool::Append Spool::write_records(const std::string& records, std::uint64_t count) {
    if (!open_tail_for_append()) {
        log::warning("spool " + dir_ + ": cannot open a segment: " + util::errno_text(errno));
        if (segments_.back().size == 0 && segments_.back().records == 0) {
            segments_.pop_back();
        }
        return Append::Error;
    }
    Segment& tail = segments_.back();
    if (const auto wrote = util::write_all(write_fd_.get(), records); !wrote) {
        if (::ftruncate(write_fd_.get(), static_cast<off_t>(tail.size)) != 0) {
            write_fd_.reset();  // a partial record stays; the next open truncates it
        }
        log::warning("spool " + dir_ + ": write failed: " + wrote.error().message);
        return Append::Error;
    }
    tail.size += records.size();
    tail.records += count;
    bytes_ += records.size();
    pending_ += count;
    return Append::Ok;
}

std::shared_ptr<Spool> Spool::open(const std::string& dir, std::uint64_t max_bytes) {
    static std::mutex registry_mu;
    static std::map<std::string, std::weak_ptr<Spool>> registry;
    const std::scoped_lock lock(registry_mu);
    auto& slot = registry[dir];
    if (auto existing = slot.lock()) {
        return existing;
    }
    auto made = std::make_shared<Spool>(dir, max_bytes);
    slot = made;
    return made;
}

std::optional<std::string> Spool::front() {
    const std::scoped_lock lock(mu_);
    return front_locked();
}

std::optional<std::string> Spool::front_locked() {
    if (head_) {
        return head_;
    }
    while (!segments_.empty()) {
        Segment& seg = segments_.front();
        if (seg.records == 0) {
            if (segments_.size() == 1) {
                return std::nullopt;
            }
            drop_front_segment();
            continue;
        }
        if (!read_fd_ || read_fd_id_ != seg.id) {
            read_fd_ = util::UniqueFd(::openat(dir_fd_.get(),
                                               seg_name(seg.id).c_str(),
                                               O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
            read_fd_id_ = seg.id;
        }
        std::array<char, kMaxHeader> hdr{};
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(kMaxHeader, seg.size - std::min(seg.size, read_offset_)));
        std::optional<std::pair<std::size_t, std::uint64_t>> h;
        if (read_fd_ && want > 0 && pread_all(read_fd_.get(), hdr.data(), want, read_offset_)) {
            h = parse_header(hdr.data(), want);
        }
        std::string payload;
        const std::uint64_t room = seg.size - std::min(seg.size, read_offset_);
        bool ok = h.has_value() && h->first < room && h->second <= room - h->first - 1;
        if (ok) {
            payload.resize(h->second + 1);
            ok = pread_all(
                     read_fd_.get(), payload.data(), payload.size(), read_offset_ + h->first) &&
                 payload.back() == '\n';
        }
        if (!ok) {
            log::warning("spool " + seg_path(seg.id) + ": unreadable, " +
                         std::to_string(seg.records) + " record(s) lost");
            lost_ += seg.records;
            drop_front_segment();
            write_cursor();
            continue;
        }
        payload.pop_back();
        head_size_ = h->first + h->second + 1;
        head_ = std::move(payload);
        return head_;
    }
    return std::nullopt;
}

void Spool::pop() {
    const std::scoped_lock lock(mu_);
    if (!head_ && !front_locked()) {
        return;
    }
    head_.reset();
    Segment& seg = segments_.front();
    read_offset_ += head_size_;
    seg.records -= std::min<std::uint64_t>(seg.records, 1);
    pending_ -= std::min<std::uint64_t>(pending_, 1);
    if (seg.records == 0) {
        // Fully delivered: its bytes go. The tail segment goes too; the next append starts anew.
        drop_front_segment();
    }
    write_cursor();
}

void Spool::sync() {
    // The fds are taken (or duplicated) under the lock; the waits happen outside it, so appends
    // and deliveries go on while the disk catches up.
    std::vector<util::UniqueFd> fds;
    {
        const std::scoped_lock lock(mu_);
        fds = std::move(unsynced_);
        unsynced_.clear();
        if (write_fd_) {
            fds.emplace_back(::fcntl(write_fd_.get(), F_DUPFD_CLOEXEC, 0));
        }
        fds.emplace_back(::fcntl(cursor_fd_.get(), F_DUPFD_CLOEXEC, 0));
    }
    for (const auto& fd : fds) {
        if (fd) {
            (void)::fdatasync(fd.get());
        }
    }
}

}  // namespace adock::outputs
