// SPDX-License-Identifier: Apache-2.0
#include "util/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "util/safe_file.hpp"

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

std::string escape(std::string_view message) {
    std::string out;
    out.reserve(message.size());
    static constexpr std::string_view kHex = "0123456789abcdef";
    for (const char ch : message) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\\') {
            out += "\\\\";
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += kHex[c >> 4U];
            out += kHex[c & 0xfU];
        } else {
            out += ch;
        }
    }
    return out;
}

void set_level(Level lvl) {
    g_level.store(lvl);
}

void set_target(Target target) {
    if (target == Target::Syslog) {
        openlog("audisp-docker", LOG_PID, LOG_DAEMON);
    }
    g_target.store(target);
}

Level level() {
    return g_level.load();
}

void write(Level lvl, std::string_view message) {
    if (lvl < g_level.load()) {
        return;
    }
    // One message, one line: a newline, CR, ESC or any other C0 or DEL in a path or a name from
    // the audit stream could otherwise forge a line of its own or rewrite the terminal.
    const std::string text = escape(message);
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
    (void)util::write_all(STDERR_FILENO, line);  // nowhere to report a failure to
}

}  // namespace adock::log
