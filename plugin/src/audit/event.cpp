// SPDX-License-Identifier: Apache-2.0
#include "audit/event.hpp"

#include <libaudit.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "util/rfc3339.hpp"

namespace adock::audit {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

bool Event::is_exec() const {
    // execve is 59 on x86_64 and 11 on i386; execveat 322 / 358. Use libaudit names to be
    // arch-neutral.
    if (!has_syscall) {
        return false;
    }
    if (has_execve) {
        return true;
    }
    const std::string name = syscall_name(arch, syscall);
    return name == "execve" || name == "execveat";
}

std::optional<std::string> decode_value(std::string_view raw) {
    if (raw == "(null)") {
        return std::nullopt;
    }
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
        return std::string(raw.substr(1, raw.size() - 2));
    }
    if (raw.size() % 2 == 0 && !raw.empty()) {
        std::string out;
        out.reserve(raw.size() / 2);
        for (std::size_t i = 0; i < raw.size(); i += 2) {
            const int hi = hex_digit(raw[i]);
            const int lo = hex_digit(raw[i + 1]);
            if (hi < 0 || lo < 0) {
                return std::string(raw);
            }
            out += static_cast<char>((hi << 4) | lo);
        }
        return out;
    }
    return std::string(raw);
}

std::vector<std::string> split_nul(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const auto nul = s.find('\0', start);
        if (nul == std::string_view::npos) {
            if (start < s.size()) {
                out.emplace_back(s.substr(start));
            }
            break;
        }
        out.emplace_back(s.substr(start, nul - start));
        start = nul + 1;
    }
    return out;
}

std::string syscall_name(std::uint32_t arch, int syscall) {
    const int machine = audit_elf_to_machine(arch);
    if (machine >= 0) {
        if (const char* n = audit_syscall_to_name(syscall, machine)) {
            return n;
        }
    }
    return "unknown(" + std::to_string(syscall) + ")";
}

std::optional<int> syscall_number(std::uint32_t arch, std::string_view name) {
    const int machine = audit_elf_to_machine(arch);
    if (machine < 0) {
        return std::nullopt;
    }
    const std::string owned(name);
    const int n = audit_name_to_syscall(owned.c_str(), machine);
    if (n < 0) {
        return std::nullopt;
    }
    return n;
}

std::string rfc3339(std::int64_t sec, std::uint32_t milli) {
    return util::rfc3339(sec, milli);
}

}  // namespace adock::audit
