// SPDX-License-Identifier: Apache-2.0
// Least privilege: after drop_privileges() a process holds CAP_DAC_READ_SEARCH and
// CAP_SYS_PTRACE at most (effective, permitted, bounding), and no_new_privs. Runs in a child:
// dropping is for good.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "app/privileges.hpp"
#include "test_catch.hpp"

namespace {

/// The value of a /proc/self/status line ("CapEff:\t0000000000080004" -> "0000000000080004").
std::string status_field(const std::string& status, const std::string& key) {
    const auto at = status.find("\n" + key + ":");
    if (at == std::string::npos) {
        return {};
    }
    const auto start = status.find_first_not_of(" \t", at + key.size() + 2);
    return status.substr(start, status.find('\n', start) - start);
}

std::string read_status() {
    std::ifstream in("/proc/self/status");
    std::ostringstream ss;
    ss << "\n" << in.rdbuf();
    return ss.str();
}

}  // namespace

namespace {

/// drop_privileges() in a child; what it reported and the child's capability sets afterwards.
std::string drop_in_child(bool keep_audit_control) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        std::string report;
        const bool ok = adock::app::drop_privileges(report, keep_audit_control);
        const std::string st = read_status();
        const std::string out = std::string(ok ? "ok" : "failed") + "|" + report + "|" +
                                status_field(st, "CapEff") + "|" + status_field(st, "CapPrm") +
                                "|" + status_field(st, "CapBnd") + "|" +
                                status_field(st, "CapAmb") + "|" + status_field(st, "NoNewPrivs");
        (void)!::write(fds[1], out.data(), out.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string got;
    char buf[512];
    ssize_t n = 0;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
        got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    return got;
}

}  // namespace

TEST_CASE("drop_privileges keeps dac_read_search and sys_ptrace only, and sets no_new_privs",
          "[app][privileges]") {
    const bool root = ::geteuid() == 0;
    const std::string got = drop_in_child(false);
    INFO(got);
    CHECK(got.starts_with("ok|"));
    CHECK(got.ends_with("|1"));  // NoNewPrivs
    if (root) {
        // bit 2 CAP_DAC_READ_SEARCH, bit 19 CAP_SYS_PTRACE
        CHECK(got.find("|0000000000080004|0000000000080004|0000000000080004|0000000000000000|") !=
              std::string::npos);
        CHECK(got.find("capabilities: dac_read_search,sys_ptrace;") != std::string::npos);
    }
}

TEST_CASE("drop_privileges keeps audit_control too when the kernel audit status is queried",
          "[app][privileges]") {
    const bool root = ::geteuid() == 0;
    const std::string got = drop_in_child(true);
    INFO(got);
    CHECK(got.starts_with("ok|"));
    CHECK(got.ends_with("|1"));
    if (root) {
        // + bit 30 CAP_AUDIT_CONTROL
        CHECK(got.find("|0000000040080004|0000000040080004|0000000040080004|0000000000000000|") !=
              std::string::npos);
        CHECK(got.find("capabilities: dac_read_search,sys_ptrace,audit_control;") !=
              std::string::npos);
    }
}
