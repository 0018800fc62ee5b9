// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "alert/alert.hpp"

namespace adock {

/// Where detection hands the alerts it builds. Detection (rules/) knows only this: what happens
/// to an alert after it (gates, queues, delivery) is outputs/'s business, and a test or a
/// one-shot run can take the alerts without any of it.
class AlertSink {
public:
    AlertSink() = default;
    virtual ~AlertSink() = default;
    AlertSink(const AlertSink&) = delete;
    AlertSink& operator=(const AlertSink&) = delete;
    AlertSink(AlertSink&&) = delete;
    AlertSink& operator=(AlertSink&&) = delete;

    /// Takes one alert. Called on the engine thread; must not block it.
    virtual void dispatch(Alert&& alert) = 0;
};

}  // namespace adock
