// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <optional>

#include "util/unique_fd.hpp"

namespace adock::app {

/// The signals the plugin acts on (TERM, INT, HUP, USR1, USR2) plus CHLD and PIPE, blocked in
/// the constructing thread and read through one signalfd: no logic runs in a handler. Construct
/// it before any thread starts, so that every thread inherits the mask.
class Signals {
public:
    Signals();

    struct Received {
        int signo = 0;
        pid_t sender = 0;  ///< ssi_pid: SIGTERM is honoured only from the parent (auditd)
    };

    [[nodiscard]] int fd() const { return fd_.get(); }

    /// One pending signal, or nullopt when none could be read.
    [[nodiscard]] std::optional<Received> read() const;

private:
    util::UniqueFd fd_;
};

}  // namespace adock::app
