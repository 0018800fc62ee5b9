// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <pthread.h>

namespace adock::util {

/// Names the calling thread (at most 15 bytes), so `top -H`, `ps -L` and `perf --sort comm`
/// tell the plugin's threads apart. Failure changes nothing the plugin does.
inline void name_this_thread(const char* name) noexcept {
    (void)::pthread_setname_np(::pthread_self(), name);
}

}  // namespace adock::util
