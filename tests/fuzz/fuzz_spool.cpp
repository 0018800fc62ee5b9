// SPDX-License-Identifier: Apache-2.0
// Spool segments as whoever can write the spool directory leaves them: the input is a segment
// file (its first 34 bytes, when they look like one, the cursor). Opening and draining must end,
// in bounded time, with every record returned no larger than the segment and nothing counted
// twice.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_common.hpp"
#include "outputs/spool.hpp"
#include "util/log.hpp"

namespace {

const std::string& dir() {
    static const std::string d = [] {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "adock-fuzz-spool-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::abort();
        }
        adock::log::set_level(adock::log::Level::Error);
        return tmpl;
    }();
    return d;
}

void put(const std::string& path, const char* data, std::size_t size) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::abort();
    }
    std::size_t off = 0;
    while (off < size) {
        const ssize_t n = ::write(fd, data + off, size - off);
        if (n <= 0) {
            std::abort();
        }
        off += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 256 * 1024) {
        return 0;
    }
    const std::string& d = dir();
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(d, ec)) {
        std::filesystem::remove(e.path(), ec);
    }
    const char* bytes = reinterpret_cast<const char*>(data);
    std::size_t seg_from = 0;
    if (size >= 34 && bytes[16] == ' ' && bytes[33] == '\n') {
        put(d + "/cursor", bytes, 34);
        seg_from = 34;
    }
    put(d + "/0000000000000001.seg", bytes + seg_from, size - seg_from);
    try {
        adock::outputs::Spool s(d, 1 << 20, 4096);
        const std::uint64_t pending = s.pending();
        adock::fuzz::require(pending <= size, "no more records than bytes");
        std::uint64_t got = 0;
        while (auto r = s.front()) {
            adock::fuzz::require(r->size() <= size, "a record within its segment");
            s.pop();
            adock::fuzz::require(++got <= pending, "each record once");
        }
        (void)s.append("after");
        adock::fuzz::require(s.front() == std::optional<std::string>("after"),
                             "appends after damage");
    } catch (const std::runtime_error&) {
        // a directory it refuses: fine
    }
    return 0;
}
