// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "config/config.hpp"

namespace adock::config {

/// Strict typed access to YAML nodes with positions in every error (shared by the config and
/// the detection-rule loaders).
class YamlReader {
public:
    explicit YamlReader(std::string file) : file_(std::move(file)) {}

    [[nodiscard]] const std::string& file() const { return file_; }

    [[noreturn]] void fail(const YAML::Node& node,
                           const std::string& msg,
                           const char* code = "invalid") const {
        const YAML::Mark m = node.Mark();
        throw ConfigError(
            file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, msg, code);
    }

    [[nodiscard]] std::string str(const YAML::Node& n, const std::string& what) const {
        if (!n.IsScalar()) {
            fail(n, what + ": expected a string", "wrong_type");
        }
        return n.Scalar();
    }

    [[nodiscard]] bool boolean(const YAML::Node& n, const std::string& what) const {
        if (!n.IsScalar()) {
            fail(n, what + ": expected true or false", "wrong_type");
        }
        const std::string& s = n.Scalar();
        if (s == "true" || s == "yes" || s == "on") {
            return true;
        }
        if (s == "false" || s == "no" || s == "off") {
            return false;
        }
        fail(n, what + ": expected true or false, got '" + s + "'", "wrong_type");
    }

    template <class T>
    [[nodiscard]] T integer(const YAML::Node& n, const std::string& what, T min, T max) const {
        static_assert(std::is_integral_v<T>);
        if (!n.IsScalar()) {
            fail(n, what + ": expected a number", "wrong_type");
        }
        long long v = 0;
        try {
            std::size_t pos = 0;
            v = std::stoll(n.Scalar(), &pos, 10);
            if (pos != n.Scalar().size()) {
                fail(n, what + ": expected a whole number, got '" + n.Scalar() + "'", "wrong_type");
            }
        } catch (const std::logic_error&) {
            fail(n, what + ": expected a whole number, got '" + n.Scalar() + "'", "wrong_type");
        }
        if (v < static_cast<long long>(min) || v > static_cast<long long>(max)) {
            fail(n,
                 what + ": " + n.Scalar() + " is out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]",
                 "out_of_range");
        }
        return static_cast<T>(v);
    }

    [[nodiscard]] std::vector<std::string> str_list(const YAML::Node& n,
                                                    const std::string& what) const {
        std::vector<std::string> out;
        if (n.IsScalar()) {
            out.push_back(n.Scalar());
            return out;
        }
        if (!n.IsSequence()) {
            fail(n, what + ": expected a list of strings", "wrong_type");
        }
        for (const auto& item : n) {
            out.push_back(str(item, what));
        }
        return out;
    }

    /// Walks a mapping with a handler per known key; unknown keys are errors.
    void mapping(
        const YAML::Node& n,
        const std::string& what,
        const std::map<std::string, std::function<void(const YAML::Node&)>>& handlers) const {
        if (!n.IsMap()) {
            fail(n, what + ": expected a mapping", "wrong_type");
        }
        for (const auto& kv : n) {
            const std::string key = kv.first.Scalar();
            auto it = handlers.find(key);
            if (it == handlers.end()) {
                const YAML::Mark m = kv.first.Mark();
                ConfigError e(file_,
                              m.line >= 0 ? m.line + 1 : 0,
                              m.column >= 0 ? m.column + 1 : 0,
                              "unknown key '" + key + "' in " + what,
                              "unknown_key");
                std::vector<std::string> known;
                known.reserve(handlers.size());
                for (const auto& h : handlers) {
                    known.push_back(h.first);
                }
                e.set_known_keys(std::move(known));
                throw e;
            }
            it->second(kv.second);
        }
    }

private:
    std::string file_;
};

/// Parses YAML text, turning parser errors into ConfigError with the position.
[[nodiscard]] YAML::Node parse_yaml(const std::string& text, const std::string& file);

}  // namespace adock::config
