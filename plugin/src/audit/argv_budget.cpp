// SPDX-License-Identifier: Apache-2.0
#include "audit/argv_budget.hpp"

#include <algorithm>
#include <array>

#include "util/digest.hpp"

namespace adock::audit {
namespace {

/// The longest prefix of `s` of at most `n` bytes that does not end inside a UTF-8 sequence
/// (bytes that are not UTF-8 are cut where they are: at most 3 bytes are given back).
std::size_t utf8_cut(std::string_view s, std::size_t n) {
    if (n >= s.size()) {
        return s.size();
    }
    std::size_t k = n;
    for (int back = 0; back < 3 && k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0U) == 0x80U;
         ++back) {
        --k;
    }
    return (static_cast<unsigned char>(s[k]) & 0xC0U) == 0x80U ? n : k;
}

}  // namespace

std::string argv_sha256(const std::vector<std::string>& argv) {
    static constexpr char kNul = '\0';  // the separator
    util::Digest d(util::Digest::Kind::Sha256);
    for (std::size_t i = 0; i < argv.size(); ++i) {
        if (i > 0) {
            d.update(std::string_view(&kNul, 1));
        }
        d.update(argv[i]);
    }
    // libcrypto failing is environmental (ENOMEM); the cut still holds.
    return d.finish_hex().value_or("unavailable");
}

std::string join_argv(const std::vector<std::string>& argv) {
    std::string out;
    out.reserve(argv_bytes(argv));
    for (const auto& a : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        out += a;
    }
    return out;
}

std::size_t argv_bytes(const std::vector<std::string>& argv) {
    std::size_t n = 0;
    for (const auto& a : argv) {
        n += a.size() + 1;
    }
    return n;
}

BoundedArgv bound_argv(const std::vector<std::string>& argv,
                       ArgvBudget budget,
                       const std::string& whole_sha256,
                       std::size_t whole_argc) {
    BoundedArgv out;
    out.argc = std::max(argv.size(), whole_argc);
    std::size_t used = 0;
    bool cut = false;
    for (const auto& a : argv) {
        if (used + 1 > budget.total_bytes) {
            cut = true;  // no room left, not even for an empty argument
            break;
        }
        const std::size_t room = std::min(budget.arg_bytes, budget.total_bytes - used - 1);
        const std::size_t take = utf8_cut(a, room);
        cut = cut || take < a.size();
        out.argv.emplace_back(a, 0, take);
        used += take + 1;
    }
    if (!whole_sha256.empty()) {
        out.truncated = true;
        out.sha256 = whole_sha256;
    } else if (cut) {
        out.truncated = true;
        out.sha256 = argv_sha256(argv);
    }
    return out;
}

std::string bounded_text(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) {
        return std::string(s);
    }
    std::string out(s.substr(0, utf8_cut(s, max_bytes)));
    out += "\xe2\x80\xa6";  // …
    return out;
}

void bound_event(Event& ev, ArgvBudget budget) {
    if (argv_bytes(ev.argv) > budget.total_bytes ||
        std::any_of(ev.argv.begin(), ev.argv.end(), [&](const std::string& a) {
            return a.size() > budget.arg_bytes;
        })) {
        BoundedArgv b = bound_argv(ev.argv, budget, ev.argv_sha256, ev.argv_argc);
        ev.argv = std::move(b.argv);
        ev.argv_sha256 = std::move(b.sha256);
        ev.argv_argc = b.argc;
        ev.argv_truncated = true;
    }
    if (argv_bytes(ev.proctitle) > budget.total_bytes) {
        ev.proctitle = bound_argv(ev.proctitle, budget).argv;
    }
}

}  // namespace adock::audit
