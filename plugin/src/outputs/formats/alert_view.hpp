// SPDX-License-Identifier: Apache-2.0
// The alert view: the labelled facts of an alert that the chat and pager payloads show
// (outputs/formats/*.cpp), as raw display text. Raw means attacker-controlled and not yet
// escaped or cut: each payload passes every fact through detail::fit for its own sink.
// initiator_text and unix_nanos, declared in outputs/formats.hpp, live here too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "alert/alert.hpp"

namespace adock::outputs::detail {

/// The client name every payload gives as its sender.
inline constexpr const char* kClient = "audisp-docker";

/// "[CRITICAL] <rule id> on <host>".
[[nodiscard]] std::string title_of(const Alert& a);

/// "<exe> (pid <pid>)".
[[nodiscard]] std::string process_text(const ProcessRef& p);

/// The container's id, or "host" outside one.
[[nodiscard]] std::string container_id_or_host(const Alert& a);

/// "<id> (<name>) image <image>" with the parts known, or "host".
[[nodiscard]] std::string container_text(const Alert& a);

/// "<operation> <path>", empty without a file.
[[nodiscard]] std::string file_text(const Alert& a);

/// "<action> <syscall>", empty without a seccomp record.
[[nodiscard]] std::string seccomp_text(const Alert& a);

/// "serial <n>, key <key>, <count> events" with the parts known.
[[nodiscard]] std::string audit_text(const Alert& a);

/// One labelled fact: its label ("Process") and its raw text (empty: the alert has none).
struct Fact {
    const char* label;  ///< a literal: the payload adds its own punctuation
    std::string text;   ///< raw, as the other facts here
};

/// The facts every chat and pager message shows about what ran, where and for whom, in this
/// order: Process, Command (the argv read up to raw_cap_for(max_units) bytes), Parent (only with
/// an ancestry), Container, Initiator, File, Seccomp. `max_units`: the payload's cut of a fact.
[[nodiscard]] std::vector<Fact> activity_facts(const Alert& a, std::size_t max_units);

/// repository of an image reference: "reg:5000/app:1.2@sha256:…" → "reg:5000/app".
[[nodiscard]] std::string image_repository(const std::string& image);

/// The alert's time in a form every API parses, or nullopt when it is no RFC 3339 time.
[[nodiscard]] std::optional<std::string> normalized_time(const std::string& time,
                                                         std::size_t fraction_digits);

}  // namespace adock::outputs::detail
