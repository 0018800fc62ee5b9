// SPDX-License-Identifier: Apache-2.0
#include "app/privileges.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "util/errno_text.hpp"

namespace adock::app {

bool drop_privileges(std::string& report, bool keep_audit_control) {
    if (capng_get_caps_process() != 0) {
        report = "cannot read the process's capabilities";
        return false;
    }
    // CAP_AUDIT_CONTROL last, and only when asked for: the kernel answers AUDIT_GET (the audit
    // status) to no one else.
    constexpr std::array<unsigned, 3> kKeep{CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_AUDIT_CONTROL};
    std::array<bool, kKeep.size()> held{};
    for (std::size_t i = 0; i < kKeep.size(); ++i) {
        held[i] = capng_have_capability(CAPNG_PERMITTED, kKeep[i]) != 0;
    }
    held.back() = held.back() && keep_audit_control;
    // Dropping from the bounding set needs CAP_SETPCAP; an unprivileged run has nothing to drop.
    const bool bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) != 0;
    const auto select = bounding ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS;
    capng_clear(select);
    report.clear();
    for (std::size_t i = 0; i < kKeep.size(); ++i) {
        if (!held[i]) {
            continue;
        }
        const auto where = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED |
                                                     (bounding ? CAPNG_BOUNDING_SET : 0));
        if (capng_update(CAPNG_ADD, where, kKeep[i]) != 0) {
            report = "cannot keep a capability";
            return false;
        }
        if (!report.empty()) {
            report += ",";
        }
        const char* name = capng_capability_to_name(kKeep[i]);
        report += name != nullptr ? name : "?";
    }
    if (const int rc = capng_apply(select); rc != 0) {
        report = "capng_apply failed (" + std::to_string(rc) + ")";
        return false;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        report = std::string("PR_SET_NO_NEW_PRIVS: ") + util::errno_text(errno);
        return false;
    }
    report = "capabilities: " + (report.empty() ? std::string("none") : report) +
             (bounding ? "" : " (bounding set unchanged: no CAP_SETPCAP)") + "; no_new_privs set";
    return true;
}

}  // namespace adock::app
