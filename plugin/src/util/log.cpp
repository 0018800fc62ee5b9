// SPDX-License-Identifier: Apache-2.0
#include "util/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

namespace adock::log {
namespace {

std::atomic<Level> g_level{Level::Info};
std::atomic<Target> g_target{Target::Stderr};
std::mutex g_mu;

int syslog_priority(Level level) {
    switch (level) {
        case Level::Debug:
            return LOG_DEBUG;
        case Level::Info:
            return LOG_INFO;
        case Level::Warning:
            return LOG_WARNING;
        case Level::Error:
            return LOG_ERR;
    }
    return LOG_INFO;
}

const char* level_name(Level level) {
    switch (level) {
        case Level::Debug:
            return "debug";
        case Level::Info:
            return "info";
        case Level::Warning:
            return "warning";
        case Level::Error:
            return "error";
    }
    return "info";
}

}  // namespace

void set_level(Level lvl) { g_level.store(lvl); }

void set_target(Target target) {
    if (target == Target::Syslog) {
        openlog("audisp-docker", LOG_PID, LOG_DAEMON);
    }
    g_target.store(target);
}

Level level() { return g_level.load(); }

void write(Level lvl, std::string_view message) {
    if (lvl < g_level.load()) {
        return;
    }
    const std::string text(message);
    if (g_target.load() == Target::Syslog) {
        syslog(syslog_priority(lvl), "%s", text.c_str());
        return;
    }
    std::string line = "audisp-docker: ";
    line += level_name(lvl);
    line += ": ";
    line += text;
    line += '\n';
    const std::scoped_lock lock(g_mu);
    std::size_t off = 0;
    while (off < line.size()) {
        const ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
        if (n <= 0) {
            break;
        }
        off += static_cast<std::size_t>(n);
    }
}

}  // namespace adock::log
