// SPDX-License-Identifier: Apache-2.0
// The audit record types the framer keeps and the parser reads, numbered as the kernel numbers
// them (<linux/audit.h>): one list for both.
#pragma once

#include <linux/audit.h>

namespace adock::audit {

inline constexpr int kTypeConfigChange = AUDIT_CONFIG_CHANGE;
inline constexpr int kTypeSyscall = AUDIT_SYSCALL;
inline constexpr int kTypePath = AUDIT_PATH;
inline constexpr int kTypeSockaddr = AUDIT_SOCKADDR;
inline constexpr int kTypeCwd = AUDIT_CWD;
inline constexpr int kTypeExecve = AUDIT_EXECVE;
inline constexpr int kTypeEoe = AUDIT_EOE;
inline constexpr int kTypeBprmFcaps = AUDIT_BPRM_FCAPS;
inline constexpr int kTypeSeccomp = AUDIT_SECCOMP;
inline constexpr int kTypeProctitle = AUDIT_PROCTITLE;
inline constexpr int kTypeOpenat2 = AUDIT_OPENAT2;

}  // namespace adock::audit
