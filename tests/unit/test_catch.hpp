// SPDX-License-Identifier: Apache-2.0
#pragma once
#ifdef AUDISP_DOCKER_CATCH2_V2
#include <catch2/catch.hpp>
#else
#include <catch2/catch_all.hpp>
#endif
