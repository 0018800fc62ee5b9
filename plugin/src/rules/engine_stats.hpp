// SPDX-License-Identifier: Apache-2.0
// The engine's counters, apart from the engine so that what reports them (the state file, the
// metrics file) need not know the engine.
#pragma once

namespace adock::rules {

/// image_diff: alerts compared with their container's image (integrity/image_diff_worker.hpp).
struct ImageDiffStats {
    unsigned long long compared = 0;
    unsigned long long unknown = 0;  ///< ... with verdict unknown
    unsigned long long dropped = 0;  ///< the worker's queue was full: sent without image_diff
};

struct EngineStats {
    unsigned long long events = 0;
    unsigned long long exec_events = 0;
    unsigned long long rule_tests = 0;  ///< rules tested against events (after the index)
    unsigned long long matches = 0;
    unsigned long long suppressed = 0;            ///< matched, then an exception applied
    unsigned long long aggregated = 0;            ///< matches folded into an aggregate alert
    unsigned long long content_checks = 0;        ///< handed to the integrity monitor
    unsigned long long content_skipped = 0;       ///< no monitor (integrity off, or a replay)
    unsigned long long attributed_container = 0;  ///< execs attributed to a container
    unsigned long long attributed_host = 0;       ///< execs attributed to the host
    unsigned long long attributed_unknown = 0;    ///< execs whose attribution nothing tells
    unsigned long long runtime_clones = 0;        ///< runtime self re-executions recognised
    unsigned long long identities_learned = 0;    ///< replays: runtime files learned from execs
    unsigned long long names_waited = 0;          ///< alerts held for a container's names
    unsigned long long rate_limited = 0;          ///< alerts held back by the per-source rate limit
    unsigned long long rate_summaries = 0;  ///< alerts that report what the rate limit held back
    unsigned long long syscall_names_uncached = 0;  ///< syscall numbers libaudit does not name
    /// path rules matched through another name (dev/inode)
    unsigned long long identity_matches = 0;
    unsigned long long spec_waits = 0;         ///< runtime execs held for their container's spec
    unsigned long long spec_wait_dropped = 0;  ///< ... not held: the bound was full
    unsigned long long spec_unanswered = 0;    ///< ... whose spec was not read in time
    unsigned long long image_diffs = 0;        ///< alerts sent to be compared with their image
};

}  // namespace adock::rules
