// SPDX-License-Identifier: Apache-2.0
// Which of a process's namespaces are the host's (this plugin's own): a container process in the
// host's mount namespace has left its container (nsenter -t 1 -m from a --pid=host container).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace adock::proc {

/// The namespace kinds /proc/PID/ns names and rules may ask about.
[[nodiscard]] const std::set<std::string>& namespace_kinds();

/// The namespaces among `kinds` that process `pid` shares with the process reading them (the
/// plugin, which runs in the host's namespaces): `<proc_root>/PID/ns/KIND` against
/// `<proc_root>/self/ns/KIND`, compared by the link's text ("mnt:[4026531841]"). In the order of
/// `kinds`. nullopt when the process is gone or its links cannot be read. One readlink per kind
/// and process: no file is opened, nothing can block.
[[nodiscard]] std::optional<std::vector<std::string>> namespaces_shared_with_self(
    const std::string& proc_root, int pid, const std::set<std::string>& kinds);

}  // namespace adock::proc
