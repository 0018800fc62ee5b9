// SPDX-License-Identifier: Apache-2.0
#include <fnmatch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "test_catch.hpp"
#include "util/glob.hpp"

using adock::util::glob_matches;
using adock::util::has_glob_chars;

namespace {

bool reference(const std::string& pattern, const std::string& subject) {
    return ::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0;
}

}  // namespace

TEST_CASE("glob_matches answers what fnmatch answers, on the shipped kinds of pattern", "[glob]") {
    // Positive controls beside the negative ones: the pre-filter must not refuse a match.
    CHECK(glob_matches("/usr/*bin/runc", "/usr/sbin/runc"));
    CHECK(glob_matches("/usr/*bin/runc", "/usr/bin/runc"));
    CHECK_FALSE(glob_matches("/usr/*bin/runc", "/usr/bin/runc.bak"));
    CHECK_FALSE(glob_matches("/usr/*bin/runc", "/usr/bin/true"));
    CHECK(glob_matches("/usr/*bin/containerd-shim*", "/usr/bin/containerd-shim-runc-v2"));
    CHECK(glob_matches("/usr/libexec/docker/*", "/usr/libexec/docker/cli-plugins/docker-buildx"));
    CHECK(glob_matches("/lib/systemd/system/docker.*", "/lib/systemd/system/docker.socket"));
    CHECK_FALSE(glob_matches("/lib/systemd/system/docker.*", "/lib/systemd/system/docker"));
    // '*' stands for none or more: head and tail may meet but not overlap.
    CHECK(glob_matches("ab*ba", "abba"));
    CHECK_FALSE(glob_matches("ab*ba", "aba"));
    // Escapes, brackets, an unclosed bracket (literal), a class holding ']'.
    CHECK(glob_matches("a\\*c", "a*c"));
    CHECK_FALSE(glob_matches("a\\*c", "abc"));
    CHECK(glob_matches("[ab]x", "bx"));
    CHECK(glob_matches("x[ab", "x[ab"));
    CHECK(glob_matches("[]a]z", "]z"));
    CHECK(glob_matches("[!a]", "b"));
    CHECK_FALSE(glob_matches("[!a]", "a"));
    // A plain pattern is compared as text; fnmatch sees the text before a NUL.
    CHECK(glob_matches("/usr/bin/runc", "/usr/bin/runc"));
    CHECK_FALSE(glob_matches("/usr/bin/runc", "/usr/bin/run"));
    CHECK(glob_matches("*c", std::string("abc\0xyz", 7)));
    CHECK(has_glob_chars("a*"));
    CHECK(has_glob_chars("a\\b"));
    CHECK_FALSE(has_glob_chars("/usr/bin/runc"));
}

TEST_CASE("glob_matches agrees with fnmatch on generated patterns and subjects", "[glob]") {
    // Patterns and subjects over a small alphabet with every special character, so that the
    // pre-filter's head and tail meet brackets, escapes and stars in every position.
    const std::string pattern_chars = "ab/.*?[]!\\-";
    const std::string subject_chars = "ab/.*?[]!\\-";
    std::mt19937 rng(20261205);
    std::uniform_int_distribution<std::size_t> plen(0, 8);
    std::uniform_int_distribution<std::size_t> slen(0, 9);
    std::uniform_int_distribution<std::size_t> pc(0, pattern_chars.size() - 1);
    std::uniform_int_distribution<std::size_t> sc(0, subject_chars.size() - 1);
    std::size_t matches = 0;
    std::size_t disagreements = 0;
    std::string first_disagreement;
    for (int i = 0; i < 200000; ++i) {
        std::string pattern;
        for (std::size_t n = plen(rng); n > 0; --n) {
            pattern += pattern_chars[pc(rng)];
        }
        std::string subject;
        // Half of the subjects are built from the pattern, so that matches are common.
        if (i % 2 == 0) {
            for (const char c : pattern) {
                if (c == '*') {
                    for (std::size_t n = slen(rng) % 3; n > 0; --n) {
                        subject += subject_chars[sc(rng)];
                    }
                } else if (c == '?' || c == '[' || c == ']' || c == '!') {
                    subject += subject_chars[sc(rng)];
                } else if (c != '\\') {
                    subject += c;
                }
            }
        } else {
            for (std::size_t n = slen(rng); n > 0; --n) {
                subject += subject_chars[sc(rng)];
            }
        }
        const bool want = reference(pattern, subject);
        matches += want ? 1 : 0;
        if (glob_matches(pattern, subject) != want) {
            if (disagreements++ == 0) {
                first_disagreement = "pattern '" + pattern + "' subject '" + subject + "'";
            }
        }
    }
    INFO(first_disagreement);
    CHECK(disagreements == 0);
    CHECK(matches > 10000);  // the comparison saw many matches, not only refusals
}
