// SPDX-License-Identifier: Apache-2.0
#include "util/json.hpp"

#include <array>
#include <charconv>

namespace adock::util {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    if (c0 < 0x80) {
        return 1;
    }
    std::size_t len = 0;
    unsigned min_cp = 0;
    unsigned cp = 0;
    if ((c0 & 0xE0U) == 0xC0U) {
        len = 2;
        cp = c0 & 0x1FU;
        min_cp = 0x80;
    } else if ((c0 & 0xF0U) == 0xE0U) {
        len = 3;
        cp = c0 & 0x0FU;
        min_cp = 0x800;
    } else if ((c0 & 0xF8U) == 0xF0U) {
        len = 4;
        cp = c0 & 0x07U;
        min_cp = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0U) != 0x80U) {
            return 0;
        }
        cp = (cp << 6U) | (c & 0x3FU);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

}  // namespace

void json_escape_into(std::string& out, std::string_view s) {
    static constexpr std::array<char, 16> kHex = {
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t len = utf8_sequence_length(s, i);
            if (len == 0) {
                out += kReplacement;
                ++i;
            } else {
                out.append(s.substr(i, len));
                i += len;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    out += "\\u00";
                    out += kHex[c >> 4U];
                    out += kHex[c & 0xFU];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(s.substr(i, len));
            i += len;
        }
    }
    return out;
}

void JsonWriter::comma() {
    if (need_comma_) {
        out_ += ',';
    }
}

JsonWriter& JsonWriter::begin_object() {
    comma();
    out_ += '{';
    need_comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    out_ += '}';
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    comma();
    out_ += '[';
    need_comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    out_ += ']';
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    comma();
    out_ += '"';
    json_escape_into(out_, k);
    out_ += "\":";
    need_comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view v) {
    comma();
    out_ += '"';
    json_escape_into(out_, v);
    out_ += '"';
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::int64_t v) {
    comma();
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), end);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t v) {
    comma();
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), end);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::value(bool v) {
    comma();
    out_ += v ? "true" : "false";
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::null() {
    comma();
    out_ += "null";
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
    comma();
    out_ += json;
    need_comma_ = true;
    return *this;
}

}  // namespace adock::util
