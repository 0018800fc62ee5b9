// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace adock::util {

/// Appends `s` to `out` as the inside of a JSON string: quotes, backslashes and control
/// characters escaped, invalid UTF-8 replaced by U+FFFD. Every string from an audit record is
/// attacker-controlled, so this is the only way text reaches a JSON document.
void json_escape_into(std::string& out, std::string_view s);

/// Makes `s` valid UTF-8 (invalid sequences become U+FFFD) without any JSON escaping.
[[nodiscard]] std::string sanitize_utf8(std::string_view s);

/// A minimal streaming JSON writer: the caller is responsible for well-formed nesting; the
/// writer inserts commas. Used for alerts (hot enough to avoid a DOM).
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    JsonWriter& value(std::string_view v);

    JsonWriter& value(const char* v) { return value(std::string_view(v)); }

    JsonWriter& value(std::int64_t v);
    JsonWriter& value(std::uint64_t v);

    JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }

    /// Any other integer type (unsigned, unsigned long long, std::size_t where it is not
    /// std::uint64_t, long long, short, ...), written as the 64-bit one of its signedness: no
    /// caller needs a cast. The types above are exact matches and keep their own overload; bool
    /// is no integer here (it has its own); an enum still goes to value(int).
    template <std::integral T>

    requires(!std::same_as<T, bool>) JsonWriter& value(T v) {
        if constexpr (std::is_signed_v<T>) {
            return value(static_cast<std::int64_t>(v));
        } else {
            return value(static_cast<std::uint64_t>(v));
        }
    }

    JsonWriter& value(bool v);
    JsonWriter& null();
    /// Inserts already-serialized JSON as a value.
    JsonWriter& raw(std::string_view json);

private:
    void comma();
    std::string& out_;
    bool need_comma_ = false;
};

}  // namespace adock::util
