// SPDX-License-Identifier: Apache-2.0
// Least privilege after start-up: the plugin keeps uid 0 (its files and the runtimes' state are
// root-owned) but only the capabilities it uses, with no way to gain more.
#pragma once

#include <string>

namespace adock::app {

/// What drop_privileges() keeps, and why:
/// - CAP_SYS_PTRACE: /proc/PID/exe, /proc/PID/root and the like of processes of other users or
///   with more capabilities than ours (the kernel's ptrace access check, PTRACE_MODE_READ);
/// - CAP_DAC_READ_SEARCH: reading files and searching directories whose mode does not let their
///   owner in, or owned by others (container layers, runtime state).
/// - CAP_AUDIT_CONTROL, only with `keep_audit_control`: the kernel audit status query (AUDIT_GET,
///   as auditctl -s) of the coverage watch (coverage.kernel_status). It also allows changing audit
///   rules, so it is dropped when the query is off.
/// Everything else goes, from the effective, permitted, inheritable and ambient sets and the
/// bounding set: no CAP_DAC_OVERRIDE (the plugin writes only its own root-owned files), no
/// CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID, CAP_AUDIT_READ (auditd feeds the stream on stdin).
inline constexpr const char* kKeptCapabilities = "cap_dac_read_search,cap_sys_ptrace";

/// Drops to the capabilities above (those of them the process has) and sets PR_SET_NO_NEW_PRIVS.
/// Must run before any thread is started: capabilities are per thread. Without CAP_SETPCAP (an
/// unprivileged replay) the bounding set is left as it is. True when done; `report` says what
/// was kept or what failed.
[[nodiscard]] bool drop_privileges(std::string& report, bool keep_audit_control);

}  // namespace adock::app
