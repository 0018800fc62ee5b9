// SPDX-License-Identifier: Apache-2.0
#pragma once
#ifdef AUDISP_DOCKER_CATCH2_V2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_all.hpp>
#endif

#include <string>

#include "util/result.hpp"

// A failed CHECK on a util::Error shows its errno and message, not "{?}".
template <>
struct Catch::StringMaker<adock::util::Error> {
    static std::string convert(const adock::util::Error& e) {
        return "Error{" + std::to_string(e.errnum) + ", \"" + e.message + "\"}";
    }
};
