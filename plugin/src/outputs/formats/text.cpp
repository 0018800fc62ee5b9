// SPDX-License-Identifier: Apache-2.0
#include "outputs/formats/text.hpp"

#include <cctype>
#include <string>

#include "outputs/display.hpp"
#include "util/json.hpp"

namespace adock::outputs::detail {
namespace {

// CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that start
// emphasis, code, links, images, headings, lists, quotes, tables or HTML.
constexpr std::string_view kTeamsSpecials = "\\`*_~#+-.!|<>[](){}";
constexpr std::string_view kDiscordSpecials = "\\*_~`|>#-[]()<";

/// `first` then `rest`, built by appending: GCC 12's -Wrestrict misfires on "\\" + std::string.
std::string joined(char first, std::string_view rest) {
    std::string s(1, first);
    s += rest;
    return s;
}

}  // namespace

std::string escape_code_point(std::string_view cp, Escape e) {
    if (e == Escape::None) {
        return std::string(cp);
    }
    if (is_bidi_control(cp)) {
        return std::string(kReplacement);
    }
    if (cp.size() != 1) {
        return std::string(cp);
    }
    const char c = cp[0];
    const auto u = static_cast<unsigned char>(c);
    if (e == Escape::Line) {
        return u < 0x20U || u == 0x7FU ? std::string(" ") : std::string(cp);
    }
    if (auto shown = display_replacement(cp)) {  // CR, LF, ESC, any C0, DEL: their pictures
        return *shown;
    }
    switch (e) {
        case Escape::Line:
        case Escape::Display:
            return std::string(cp);
        case Escape::TeamsMarkdown:
            return kTeamsSpecials.find(c) != std::string_view::npos ? joined('\\', cp)
                                                                    : std::string(cp);
        case Escape::DiscordMarkdown:
            if (c == '@') {
                return joined('@', kZeroWidth);
            }
            return kDiscordSpecials.find(c) != std::string_view::npos ? joined('\\', cp)
                                                                      : std::string(cp);
        case Escape::DiscordMentions:
            return c == '@' ? joined('@', kZeroWidth) : std::string(cp);
        case Escape::None:
            break;
    }
    return std::string(cp);
}

std::size_t units_of(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u & 0xC0U) != 0x80U) {
            n += (u & 0xF8U) == 0xF0U ? 2 : 1;
        }
    }
    return n;
}

std::size_t json_bytes(std::string_view s) {
    std::size_t n = 0;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            n += 2;
        } else if (u < 0x20U || u == 0x7FU) {
            n += 6;  // \u00XX
        } else {
            ++n;
        }
    }
    return n;
}

std::string fit(std::string_view s, std::size_t max_units, std::size_t max_bytes, Escape e) {
    const std::string clean = util::sanitize_utf8(s);
    const std::size_t ellipsis_units = units_of(kEllipsis);
    const std::size_t ellipsis_bytes = kEllipsis.size();
    const bool ellipsis_fits = max_units >= ellipsis_units && max_bytes >= ellipsis_bytes;
    std::string out;
    std::size_t units = 0;
    std::size_t bytes = 0;
    std::size_t cut = 0;  // longest prefix of `out` after which the ellipsis still fits
    std::size_t i = 0;
    while (i < clean.size()) {
        std::size_t j = i + 1;
        while (j < clean.size() && (static_cast<unsigned char>(clean[j]) & 0xC0U) == 0x80U) {
            ++j;
        }
        const std::string piece = escape_code_point(std::string_view(clean).substr(i, j - i), e);
        const std::size_t pu = units_of(piece);
        const std::size_t pb = json_bytes(piece);
        if (pu > max_units - units || pb > max_bytes - bytes) {
            out.resize(cut);
            if (ellipsis_fits) {
                out += kEllipsis;
            }
            return out;
        }
        out += piece;
        units += pu;
        bytes += pb;
        if (ellipsis_fits && units <= max_units - ellipsis_units &&
            bytes <= max_bytes - ellipsis_bytes) {
            cut = out.size();
        }
        i = j;
    }
    return out;
}

std::string join_capped(const std::vector<std::string>& v,
                        std::string_view sep,
                        std::size_t max_items,
                        std::size_t raw_cap) {
    std::string out;
    std::size_t n = 0;
    for (const auto& s : v) {
        if (n == max_items) {
            out += sep;
            out += kEllipsis;
            out += "(+" + std::to_string(v.size() - n) + ")";
            break;
        }
        if (n > 0) {
            out += sep;
        }
        out.append(s, 0, std::min(s.size(), raw_cap + 1));
        ++n;
        if (out.size() > raw_cap) {
            break;
        }
    }
    return out;
}

std::string join_all(const std::vector<std::string>& v, std::size_t max_units) {
    return join_capped(v, ", ", kUnlimited, raw_cap_for(max_units));
}

std::string upper(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

}  // namespace adock::outputs::detail
