// SPDX-License-Identifier: Apache-2.0
// The kernel's audit status as `auditctl -s` reads it: AUDIT_GET over NETLINK_AUDIT (libaudit),
// which the kernel answers beside a running auditd. Needs CAP_AUDIT_CONTROL.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "app/metrics.hpp"
#include "util/unique_fd.hpp"

namespace adock::app {

class KernelAuditStatusReader {
public:
    /// Asks the kernel and waits at most `timeout` for its answer; nullopt with `error` set.
    [[nodiscard]] std::optional<KernelAuditStatus> query(std::chrono::milliseconds timeout,
                                                         std::string& error);

private:
    util::UniqueFd fd_;  ///< the audit netlink socket, opened on first use and kept
};

}  // namespace adock::app
