// SPDX-License-Identifier: Apache-2.0
// The incident key (outputs/formats.hpp): PagerDuty's dedup_key and Opsgenie's alias, the same
// for every alert of one incident (the gate's incident_identity), hashed.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "outputs/formats.hpp"
#include "outputs/formats/text.hpp"
#include "outputs/gate.hpp"
#include "util/digest.hpp"

namespace adock::outputs {

using detail::Escape;
using detail::fit;

namespace {

constexpr std::array<char, 16> kHexDigits{
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

/// FNV-1a, only for the case libcrypto cannot digest (out of memory): a stable key still beats
/// none, which would open a new incident for every alert.
std::string fnv1a_hex(std::string_view data) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    std::string out;
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += kHexDigits.at((h >> static_cast<unsigned>(shift)) & 0xFU);
    }
    return out;
}

// PagerDuty's dedup_key limit; the rule id gets what the prefix and hash leave.
constexpr std::size_t kIncidentKeyMax = 255;
constexpr std::size_t kIncidentHashChars = 32;
constexpr std::string_view kIncidentPrefix = "audisp-docker/";

}  // namespace

std::string incident_key(const Alert& a) {
    const std::string identity = incident_identity(a);  // the gate's dedup key, hashed
    const auto hash = util::sha256_hex(identity);
    const std::string digest = hash ? hash->substr(0, kIncidentHashChars) : fnv1a_hex(identity);
    const std::size_t room = kIncidentKeyMax - kIncidentPrefix.size() - 1 - kIncidentHashChars;
    // A rule id from a rule file, but the key is shown as is: controls become spaces there too.
    return std::string(kIncidentPrefix) + fit(a.rule_id, room, Escape::Line) + "/" + digest;
}

}  // namespace adock::outputs
