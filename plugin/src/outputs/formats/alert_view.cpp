// SPDX-License-Identifier: Apache-2.0
#include "outputs/formats/alert_view.hpp"

#include <cstdint>
#include <string_view>

#include "outputs/formats.hpp"
#include "outputs/formats/text.hpp"
#include "util/rfc3339.hpp"

namespace adock::outputs {

using detail::join_capped;
using detail::kEllipsis;
using detail::kUnlimited;
using detail::raw_cap_for;

namespace {

// The initiator fact's raw text: the argv joined up to what the widest fact shows (Slack's 2000).
constexpr std::size_t kInitiatorUnits = 2000;
constexpr std::size_t kInitiatorCandidatesShown = 8;

std::string auid_text(const std::optional<std::uint32_t>& auid) {
    if (!auid) {
        return "auid unknown";
    }
    return *auid == 4294967295U ? std::string("auid unset") : "auid " + std::to_string(*auid);
}

}  // namespace

namespace detail {

std::optional<std::string> normalized_time(const std::string& time, std::size_t fraction_digits) {
    const auto t = util::parse_rfc3339(time);
    if (!t || t->sec < -62135596800LL || t->sec > 253402300799LL) {  // years 1..9999
        return std::nullopt;
    }
    return util::format_utc(*t, fraction_digits);
}

std::string title_of(const Alert& a) {
    std::string t(1, '[');  // built by appending: GCC 12's -Wrestrict misfires on "[" + ...
    t += upper(severity_name(a.severity));
    t += "] ";
    t += a.rule_id;
    t += " on ";
    t += a.host;
    return t;
}

std::string process_text(const ProcessRef& p) {
    return p.exe + " (pid " + std::to_string(p.pid) + ")";
}

std::string container_id_or_host(const Alert& a) {
    return a.container ? a.container->id : std::string("host");
}

std::string container_text(const Alert& a) {
    if (!a.container) {
        return "host";
    }
    std::string s = a.container->id;
    if (a.container->name) {
        s += " (" + *a.container->name + ")";
    }
    if (a.container->image) {
        s += " image " + *a.container->image;
    }
    return s;
}

std::string file_text(const Alert& a) {
    return a.file ? a.file->operation + " " + a.file->path : std::string();
}

std::string seccomp_text(const Alert& a) {
    return a.seccomp ? a.seccomp->action + " " + a.seccomp->syscall : std::string();
}

std::string audit_text(const Alert& a) {
    std::string s = "serial " + std::to_string(a.serial);
    if (a.key) {
        s += ", key " + *a.key;
    }
    if (a.count) {
        s += ", " + std::to_string(*a.count) + " events";
    }
    return s;
}

std::vector<Fact> activity_facts(const Alert& a, std::size_t max_units) {
    std::vector<Fact> facts;
    facts.push_back({"Process", process_text(a.process)});
    facts.push_back(
        {"Command", join_capped(a.process.argv, " ", kUnlimited, raw_cap_for(max_units))});
    if (!a.ancestry.empty()) {
        facts.push_back({"Parent", process_text(a.ancestry.front())});
    }
    facts.push_back({"Container", container_text(a)});
    facts.push_back({"Initiator", initiator_text(a)});
    facts.push_back({"File", file_text(a)});
    facts.push_back({"Seccomp", seccomp_text(a)});
    return facts;
}

std::string image_repository(const std::string& image) {
    std::string repo = image.substr(0, image.find('@'));
    const auto colon = repo.rfind(':');
    const auto slash = repo.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        repo.resize(colon);
    }
    return repo;
}

}  // namespace detail

std::optional<std::int64_t> unix_nanos(const std::string& rfc3339) {
    const auto t = util::parse_rfc3339(rfc3339);
    constexpr std::int64_t kMaxSec = 9223372035LL;  // INT64_MAX / 1e9, minus the fraction
    if (!t || t->sec < 0 || t->sec > kMaxSec) {
        return std::nullopt;
    }
    return t->sec * 1000000000LL + static_cast<std::int64_t>(t->nanos);
}

std::string initiator_text(const Alert& a) {
    if (!a.initiator) {
        return {};
    }
    const InitiatorRef& i = *a.initiator;
    if (i.ambiguous) {
        std::string s = "ambiguous (" + std::to_string(i.candidates.size()) + " candidates";
        for (std::size_t k = 0; k < i.candidates.size() && k < kInitiatorCandidatesShown; ++k) {
            s += k == 0 ? ": pid " : ", pid ";
            s += std::to_string(i.candidates[k].pid);
        }
        if (i.candidates.size() > kInitiatorCandidatesShown) {
            s += ", ";
            s += kEllipsis;
        }
        return s + ")";
    }
    std::string s =
        i.argv.empty() ? i.exe : join_capped(i.argv, " ", kUnlimited, raw_cap_for(kInitiatorUnits));
    if (i.truncated) {
        s += " ";
        s += kEllipsis;
    }
    s += " (pid " + std::to_string(i.pid) + ", " + auid_text(i.auid);
    if (i.user) {
        s += ", user " + *i.user;
    }
    return s + ")";
}

}  // namespace adock::outputs
