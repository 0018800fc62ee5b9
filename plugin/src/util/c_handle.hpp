// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

namespace adock::util {

/// Calls the C release function `Fn` on a non-null pointer. Stateless, so a CHandle stays
/// pointer-sized (a function-pointer deleter would double it).
template <auto Fn>
struct CDeleter {
    template <class T>
    void operator()(T* p) const noexcept {
        static_cast<void>(Fn(p));
    }
};

/// Owner of a C library object: `CHandle<curl_slist, &curl_slist_free_all>`.
template <class T, auto Fn>
using CHandle = std::unique_ptr<T, CDeleter<Fn>>;

}  // namespace adock::util
