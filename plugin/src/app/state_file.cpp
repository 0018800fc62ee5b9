// SPDX-License-Identifier: Apache-2.0
#include "app/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/log.hpp"

namespace adock::app {

void write_state_file(const std::string& path, const std::string& json) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(path);
    if (p.has_parent_path()) {
        fs::create_directories(p.parent_path(), ec);
    }
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        log::warning("cannot write state file " + tmp + ": " + std::strerror(errno));
        return;
    }
    std::size_t off = 0;
    bool ok = true;
    while (off < json.size()) {
        const ssize_t n = ::write(fd, json.data() + off, json.size() - off);
        if (n <= 0) {
            ok = false;
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        log::warning("cannot write state file " + path);
    }
}

}  // namespace adock::app
