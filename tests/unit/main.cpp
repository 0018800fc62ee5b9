// SPDX-License-Identifier: Apache-2.0
#ifdef AUDISP_DOCKER_CATCH2_V2
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
