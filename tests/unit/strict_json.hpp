// SPDX-License-Identifier: Apache-2.0
// A strict JSON check for tests (RFC 8259: one value, UTF-8, no trailing commas, no single
// quotes, no raw control bytes in strings, no leading zeros, nothing after the value).
// YAML::Load accepts all of those, so a payload test that only loads it as YAML cannot tell
// JSON from something an API would refuse.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace adock::test {

class StrictJson {
public:
    /// "" when `text` is one strict JSON value; otherwise what is wrong and where.
    static std::string check(std::string_view text) {
        StrictJson p(text);
        p.ws();
        if (!p.value(0)) {
            return p.error_;
        }
        p.ws();
        if (p.i_ != p.s_.size()) {
            return "trailing bytes at offset " + std::to_string(p.i_);
        }
        return "";
    }

private:
    explicit StrictJson(std::string_view s) : s_(s) {}

    bool fail(const char* what) {
        error_ = std::string(what) + " at offset " + std::to_string(i_);
        return false;
    }

    [[nodiscard]] bool at_end() const { return i_ >= s_.size(); }

    void ws() {
        while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
            ++i_;
        }
    }

    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) {
            return fail("bad literal");
        }
        i_ += word.size();
        return true;
    }

    bool value(int depth) {
        if (depth > 256) {
            return fail("nested too deep");
        }
        if (at_end()) {
            return fail("value expected");
        }
        switch (s_[i_]) {
            case '{':
                return object(depth);
            case '[':
                return array(depth);
            case '"':
                return string();
            case 't':
                return literal("true");
            case 'f':
                return literal("false");
            case 'n':
                return literal("null");
            default:
                return number();
        }
    }

    bool object(int depth) {
        ++i_;
        ws();
        if (!at_end() && s_[i_] == '}') {
            ++i_;
            return true;
        }
        for (;;) {
            ws();
            if (at_end() || s_[i_] != '"') {
                return fail("member name expected");
            }
            if (!string()) {
                return false;
            }
            ws();
            if (at_end() || s_[i_] != ':') {
                return fail("':' expected");
            }
            ++i_;
            ws();
            if (!value(depth + 1)) {
                return false;
            }
            ws();
            if (at_end()) {
                return fail("unterminated object");
            }
            if (s_[i_] == '}') {
                ++i_;
                return true;
            }
            if (s_[i_] != ',') {
                return fail("',' or '}' expected");
            }
            ++i_;
        }
    }

    bool array(int depth) {
        ++i_;
        ws();
        if (!at_end() && s_[i_] == ']') {
            ++i_;
            return true;
        }
        for (;;) {
            ws();
            if (!value(depth + 1)) {
                return false;
            }
            ws();
            if (at_end()) {
                return fail("unterminated array");
            }
            if (s_[i_] == ']') {
                ++i_;
                return true;
            }
            if (s_[i_] != ',') {
                return fail("',' or ']' expected");
            }
            ++i_;
        }
    }

    static bool hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    bool string() {
        ++i_;
        while (!at_end()) {
            const auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') {
                ++i_;
                return true;
            }
            if (c < 0x20) {
                return fail("raw control byte in a string");
            }
            if (c == '\\') {
                ++i_;
                if (at_end()) {
                    return fail("unterminated escape");
                }
                const char e = s_[i_];
                if (e == 'u') {
                    if (i_ + 4 >= s_.size() || !hex(s_[i_ + 1]) || !hex(s_[i_ + 2]) ||
                        !hex(s_[i_ + 3]) || !hex(s_[i_ + 4])) {
                        return fail("bad \\u escape");
                    }
                    i_ += 5;
                    continue;
                }
                if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return fail("bad escape");
                }
                ++i_;
                continue;
            }
            if (c < 0x80) {
                ++i_;
                continue;
            }
            // UTF-8: the lead byte says how many continuation bytes follow; no overlong forms,
            // no surrogates, nothing above U+10FFFF.
            std::size_t n = 0;
            unsigned min = 0;
            unsigned cp = 0;
            if ((c & 0xE0) == 0xC0) {
                n = 1, min = 0x80, cp = c & 0x1F;
            } else if ((c & 0xF0) == 0xE0) {
                n = 2, min = 0x800, cp = c & 0x0F;
            } else if ((c & 0xF8) == 0xF0) {
                n = 3, min = 0x10000, cp = c & 0x07;
            } else {
                return fail("invalid UTF-8 lead byte");
            }
            if (i_ + n >= s_.size()) {
                return fail("truncated UTF-8");
            }
            for (std::size_t k = 1; k <= n; ++k) {
                const auto cc = static_cast<unsigned char>(s_[i_ + k]);
                if ((cc & 0xC0) != 0x80) {
                    return fail("invalid UTF-8 continuation");
                }
                cp = (cp << 6) | (cc & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                return fail("invalid UTF-8 code point");
            }
            i_ += n + 1;
        }
        return fail("unterminated string");
    }

    bool digits() {
        const std::size_t start = i_;
        while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9') {
            ++i_;
        }
        return i_ > start;
    }

    bool number() {
        if (!at_end() && s_[i_] == '-') {
            ++i_;
        }
        if (at_end()) {
            return fail("number expected");
        }
        if (s_[i_] == '0') {
            ++i_;
        } else if (s_[i_] >= '1' && s_[i_] <= '9') {
            (void)digits();
        } else {
            return fail("value expected");
        }
        if (!at_end() && s_[i_] == '.') {
            ++i_;
            if (!digits()) {
                return fail("digits expected after '.'");
            }
        }
        if (!at_end() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (!at_end() && (s_[i_] == '+' || s_[i_] == '-')) {
                ++i_;
            }
            if (!digits()) {
                return fail("exponent digits expected");
            }
        }
        return true;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::string error_;
};

/// Loads a payload that must be strict JSON: throws (failing the test) with the reason when it
/// is not, then gives it as a YAML node (JSON is YAML) for the field checks.
inline YAML::Node load_json(std::string_view text) {
    if (const std::string why = StrictJson::check(text); !why.empty()) {
        throw std::runtime_error("not strict JSON: " + why + ": " +
                                 std::string(text.substr(0, 200)));
    }
    return YAML::Load(std::string(text));
}

}  // namespace adock::test
