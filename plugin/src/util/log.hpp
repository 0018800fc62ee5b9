// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace adock::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

/// Where log lines go. Stderr is the default (auditd captures nothing, but a terminal or a test
/// does); syslog is used in plugin mode. Never stdout: stdout may carry alerts.
enum class Target { Stderr, Syslog };

void set_level(Level level);
void set_target(Target target);
[[nodiscard]] Level level();

/// `message` as one printable line: a backslash becomes `\\`, C0 controls (newline, CR, tab, ESC)
/// and DEL become `\xNN`; other bytes (UTF-8) pass. write() applies it to every message.
[[nodiscard]] std::string escape(std::string_view message);

void write(Level level, std::string_view message);

inline void debug(std::string_view m) {
    write(Level::Debug, m);
}

inline void info(std::string_view m) {
    write(Level::Info, m);
}

inline void warning(std::string_view m) {
    write(Level::Warning, m);
}

inline void error(std::string_view m) {
    write(Level::Error, m);
}

}  // namespace adock::log
