// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/app.hpp"

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        adock::app::Options opts;
        try {
            opts = adock::app::parse_options(args);
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "audisp-docker: %s\n%s", e.what(), adock::app::usage().c_str());
            return 2;
        }
        return adock::app::run(opts);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "audisp-docker: fatal: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "audisp-docker: fatal: unknown error\n");
    }
    return 1;
}
