// SPDX-License-Identifier: Apache-2.0
#include "app/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "util/errno_text.hpp"

namespace adock::app {

Signals::Signals() {
    sigset_t mask;
    sigemptyset(&mask);
    for (const int s : {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGCHLD, SIGPIPE}) {
        sigaddset(&mask, s);
    }
    if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
        throw std::runtime_error("pthread_sigmask failed");
    }
    fd_.reset(signalfd(-1, &mask, SFD_CLOEXEC));
    if (!fd_) {
        throw std::runtime_error(std::string("signalfd: ") + util::errno_text(errno));
    }
}

std::optional<Signals::Received> Signals::read() const {
    signalfd_siginfo si{};
    if (::read(fd_.get(), &si, sizeof si) != static_cast<ssize_t>(sizeof si)) {
        return std::nullopt;
    }
    return Received{static_cast<int>(si.ssi_signo), static_cast<pid_t>(si.ssi_pid)};
}

}  // namespace adock::app
