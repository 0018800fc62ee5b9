// SPDX-License-Identifier: Apache-2.0
#include "app/options.hpp"

#include <stdexcept>

namespace adock::app {

std::string usage() {
    return "usage: audisp-docker --config FILE [--input PATH] [--rules-dir DIR] [--check [--format "
           "text|json]]\n"
           "                    [--scan] [--test-output NAME] [--log-stderr]\n"
           "       audisp-docker --config FILE [--input PATH] --seccomp-profile IMAGE|CONTAINER\n"
           "  --config FILE    configuration (YAML)\n"
           "  --input PATH     replay a saved audit log instead of reading the stream on stdin;\n"
           "                   a replay describes the past: it reads no /proc and hashes no\n"
           "                   file of this host unless the config sets processes.use_proc\n"
           "                   or integrity.enabled explicitly\n"
           "  --rules-dir DIR  detection rules directory (overrides rules_dir in the config);\n"
           "                   without one installed the built-in catalogue is used\n"
           "  --check          validate the configuration and rules, print problems, exit 0 or 1\n"
           "  --format FORMAT  with --check: text (file:line:col: message, the default) or json\n"
           "                   (one object on stdout: ok, diagnostics with code, file, line,\n"
           "                   col, message)\n"
           "  --test-output NAME  send a sample alert to one output now and report what its\n"
           "                   endpoint answered (exit 0 delivered, 1 not)\n"
           "  --scan           compare the integrity baseline with the disk once (integrity_drift\n"
           "                   alerts to the outputs), update it, exit 0 (no difference) or 2\n"
           "  --seccomp-profile IMAGE|CONTAINER  print on stdout a seccomp profile (OCI JSON,\n"
           "                   default SCMP_ACT_ERRNO) allowing the syscalls the SECCOMP records\n"
           "                   show the image's containers (or one container, by name, id or id\n"
           "                   prefix) made, and on stderr what was seen how often; learned from\n"
           "                   the stream of --input, or without it from the live plugin's\n"
           "                   seccomp_learn_file (written on SIGUSR1 and at stop); exit 0, 1 (no\n"
           "                   SECCOMP record of a container, unreadable input) or 2 (no such\n"
           "                   image or container)\n"
           "  signals: HUP reload, USR1 state file and reopen outputs, USR2 integrity scan\n"
           "  --log-stderr     log to stderr (default: syslog when run by auditd)\n"
           "  -c FILE, -i PATH short for --config FILE, --input PATH\n"
           "  --help, -h       this text; --version prints the version\n";
}

Options parse_options(const std::vector<std::string>& args) {
    Options o;
    bool format_given = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= args.size()) {
                throw std::invalid_argument(std::string(name) + " needs a value");
            }
            return args[++i];
        };
        if (a == "--config" || a == "-c") {
            o.config_path = value("--config");
        } else if (a == "--input" || a == "-i") {
            o.input_path = value("--input");
        } else if (a == "--rules-dir") {
            o.rules_dir = value("--rules-dir");
        } else if (a == "--check") {
            o.check = true;
        } else if (a == "--format") {
            const std::string f = value("--format");
            if (f != "text" && f != "json") {
                throw std::invalid_argument("--format: expected text or json, got '" + f + "'");
            }
            o.check_json = f == "json";
            format_given = true;
        } else if (a == "--test-output") {
            o.test_output = value("--test-output");
        } else if (a == "--seccomp-profile") {
            o.seccomp_profile = value("--seccomp-profile");
            if (o.seccomp_profile->empty()) {
                throw std::invalid_argument(
                    "--seccomp-profile needs an image or container, not ''");
            }
        } else if (a == "--scan") {
            o.scan = true;
        } else if (a == "--log-stderr") {
            o.log_stderr = true;
        } else if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--version") {
            o.version = true;
        } else {
            throw std::invalid_argument("unknown argument '" + a + "'");
        }
    }
    if (format_given && !o.check) {
        throw std::invalid_argument("--format is an option of --check");
    }
    if (o.seccomp_profile && (o.check || o.scan || o.test_output)) {
        throw std::invalid_argument(
            "--seccomp-profile cannot be combined with --check, --scan or --test-output");
    }
    if (!o.help && !o.version && o.config_path.empty()) {
        throw std::invalid_argument("--config FILE is required");
    }
    return o;
}

}  // namespace adock::app
