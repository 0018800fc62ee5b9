// SPDX-License-Identifier: Apache-2.0
#include "app/audit_status.hpp"

#include <libaudit.h>
#include <linux/netlink.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "util/errno_text.hpp"

namespace adock::app {

std::optional<KernelAuditStatus> KernelAuditStatusReader::query(std::chrono::milliseconds timeout,
                                                                std::string& error) {
    error.clear();
    if (!fd_) {
        fd_.reset(::audit_open());
        if (!fd_) {
            error = std::string("audit netlink socket: ") + util::errno_text(errno);
            return std::nullopt;
        }
    }
    // Answers left from a query that timed out are read and thrown away first.
    audit_reply stale{};
    while (::audit_get_reply(fd_.get(), &stale, GET_REPLY_NONBLOCKING, 0) > 0) {
    }
    if (::audit_request_status(fd_.get()) <= 0) {
        error = std::string("AUDIT_GET: ") + util::errno_text(errno);
        if (errno == EPERM) {
            error += " (needs CAP_AUDIT_CONTROL in the initial user namespace)";
        }
        fd_.reset();
        return std::nullopt;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            error = "AUDIT_GET: no answer within " + std::to_string(timeout.count()) + " ms";
            return std::nullopt;
        }
        pollfd p{fd_.get(), POLLIN, 0};
        const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
            continue;  // the deadline check above ends it
        }
        audit_reply rep{};
        if (::audit_get_reply(fd_.get(), &rep, GET_REPLY_NONBLOCKING, 0) <= 0) {
            continue;
        }
        if (rep.type == NLMSG_ERROR && rep.error != nullptr && rep.error->error != 0) {
            error = std::string("AUDIT_GET: ") + util::errno_text(-rep.error->error);
            return std::nullopt;
        }
        if (rep.type == AUDIT_GET && rep.status != nullptr) {
            KernelAuditStatus s;
            s.enabled = rep.status->enabled;
            s.failure = rep.status->failure;
            s.pid = rep.status->pid;
            s.rate_limit = rep.status->rate_limit;
            s.backlog_limit = rep.status->backlog_limit;
            s.lost = rep.status->lost;
            s.backlog = rep.status->backlog;
            return s;
        }
    }
}

}  // namespace adock::app
