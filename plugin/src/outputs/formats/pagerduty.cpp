// SPDX-License-Identifier: Apache-2.0
// PagerDuty Events API v2 trigger (https://events.pagerduty.com/v2/enqueue), sent WITHOUT
// routing_key: the body starts with {"event_action":"trigger" so the sender can splice
// "routing_key":"…", in after the '{'.
//
// Limits: 512 KB per event; summary 1024, source, component, group and class 255 each (one line
// of plain text: Escape::Line), dedup_key 255 (incident_key). custom_details has its own budget
// of 256 KB of string bytes (pagerduty_details.cpp), so the body stays under ~300 KB.
#include <string>

#include "outputs/formats.hpp"
#include "outputs/formats/alert_view.hpp"
#include "outputs/formats/pagerduty_details.hpp"
#include "outputs/formats/text.hpp"
#include "util/json.hpp"

namespace adock::outputs {

using detail::container_id_or_host;
using detail::Escape;
using detail::fit;
using detail::kClient;
using detail::normalized_time;

namespace {

const char* pagerduty_severity(Severity s) {
    switch (s) {
        case Severity::Critical:
            return "critical";
        case Severity::High:
            return "error";
        case Severity::Medium:
            return "warning";
        case Severity::Low:
        case Severity::Info:
            return "info";
    }
    return "info";
}

// PagerDuty: 512 KB per event, summary 1024, dedup_key 255. custom_details gets 256 KB of string
// bytes; the rest of the body is bounded by the item caps, so it stays under ~300 KB.
constexpr std::size_t kPagerDutySummaryMax = 1024;
constexpr std::size_t kPagerDutyFieldMax = 255;

}  // namespace

std::string pagerduty_payload(const Alert& a) {
    const std::string summary_text = a.rule_id + " on " + a.host + ": " + a.summary;
    std::string out;
    util::JsonWriter w(out);
    w.begin_object();
    w.key("event_action").value("trigger");  // first: the sender splices routing_key in before it
    w.key("dedup_key").value(incident_key(a));
    w.key("client").value(kClient);
    w.key("payload").begin_object();
    w.key("summary").value(fit(summary_text, kPagerDutySummaryMax, Escape::Line));
    w.key("source").value(a.host.empty() ? std::string("unknown")
                                         : fit(a.host, kPagerDutyFieldMax, Escape::Line));
    w.key("severity").value(pagerduty_severity(a.severity));
    if (const auto t = normalized_time(a.time, 3)) {
        w.key("timestamp").value(*t);
    }
    w.key("component").value(fit(container_id_or_host(a), kPagerDutyFieldMax, Escape::Line));
    w.key("group").value(fit(a.rule_id, kPagerDutyFieldMax, Escape::Line));
    w.key("class").value(fit(a.rule_id, kPagerDutyFieldMax, Escape::Line));

    w.key("custom_details");
    detail::write_pagerduty_details(w, a);
    w.end_object();
    w.end_object();
    return out;
}

}  // namespace adock::outputs
