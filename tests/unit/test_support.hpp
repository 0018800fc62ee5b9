// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the unit tests: file reading, scratch directories, and a sink that collects
// alerts in memory.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alert/alert.hpp"
#include "audit/event.hpp"
#include "audit/framer.hpp"
#include "audit/parser.hpp"
#include "config/config.hpp"
#include "outputs/sink.hpp"
#include "rules/loader.hpp"

namespace adock::test {

/// A successful execve(2) event (x86_64) of `exe` by `pid`, child of `ppid`, as the parser
/// makes it: comm from the file's name, the shipped rules' exec key.
inline audit::Event exec_event(int pid,
                               int ppid,
                               const std::string& exe,
                               std::vector<std::string> argv) {
    audit::Event e;
    e.serial = static_cast<std::uint64_t>(pid) * 10;
    e.sec = 1795338855;
    e.has_syscall = true;
    e.arch = 0xc000003e;
    e.syscall = 59;
    e.success = true;
    e.pid = pid;
    e.ppid = ppid;
    e.exe = exe;
    e.comm = exe.substr(exe.rfind('/') + 1).substr(0, 15);
    e.has_execve = true;
    e.argv = std::move(argv);
    e.key = "adock_exec";
    return e;
}

/// A scratch directory from mkdtemp, removed with its contents.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "adock-test-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;

    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    [[nodiscard]] std::string operator/(const std::string& name) const {
        return (path_ / name).string();
    }

private:
    std::filesystem::path path_;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Collects alerts in memory.
class CollectSink : public outputs::Sink {
public:
    explicit CollectSink(std::vector<Alert>& out, Severity min_severity = Severity::Info)
        : out_(out) {
        cfg_.min_severity = min_severity;
    }

    [[nodiscard]] const std::string& name() const override { return cfg_.name; }

    [[nodiscard]] const config::OutputConfig& config() const override { return cfg_; }

    bool submit(const outputs::AlertMessage& m) override {
        out_.push_back(*m.alert);
        return true;
    }

    void start() override {}

    void stop(std::chrono::milliseconds /*deadline*/) override {}

    [[nodiscard]] outputs::SinkStats stats() const override { return {}; }

private:
    config::OutputConfig cfg_ = [] {
        config::OutputConfig c;
        c.name = "collect";
        return c;
    }();
    std::vector<Alert>& out_;
};

/// Unicode code points in valid UTF-8 (what chat APIs count as characters).
inline std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) {
        n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
    }
    return n;
}

/// Every scalar of a parsed payload, keys included, recursively: where hostile text could show.
inline void yaml_texts(const YAML::Node& n, std::vector<std::string>& out) {
    if (n.IsScalar()) {
        out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
        for (const auto& x : n) {
            yaml_texts(x, out);
        }
    } else if (n.IsMap()) {
        for (const auto& kv : n) {
            yaml_texts(kv.first, out);
            yaml_texts(kv.second, out);
        }
    }
}

/// The alerts of one rule, in order.
inline std::vector<const Alert*> alerts_of(const std::vector<Alert>& alerts,
                                           const std::string& rule) {
    std::vector<const Alert*> hits;
    for (const auto& a : alerts) {
        if (a.rule_id == rule) {
            hits.push_back(&a);
        }
    }
    return hits;
}

/// The `file:line:col: message` a rules text is rejected with, or "no error".
inline std::string rule_error(const std::string& text) {
    try {
        (void)rules::load_rules_texts({{"r.yaml", text}});
    } catch (const config::ConfigError& e) {
        return e.format();
    }
    return "no error";
}

}  // namespace adock::test
