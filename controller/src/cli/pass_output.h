#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "engine/reconciler.h"

namespace sluice::cli {

// Whether `state` (AppOutcome::state) is a normal outcome of a pass (SPEC
// section 7): in-sync, applied, verified, rolled-back, blocked, waiting, and
// removed, drift, drift-resolved. "error" (could not be judged, applied or
// recorded), "failed" (apply or verification) and anything unknown are not.
bool IsNormalOutcome(std::string_view state);

// The exit code of `sluice reconcile --once` for a pass that ran: kExitOk
// when there are no pass-level problems and every outcome is normal,
// kExitError otherwise.
int PassExitCode(const engine::PassReport& report);

// Prints a pass report as text lines or one JSON object.
void PrintPassReport(std::ostream& out, const engine::PassReport& report,
                     const std::string& format);

// After a successful pass: records the controller's pass stamp
// (refs/sluice/pass, at most once a minute) so `sluice status` in any clone
// can tell whether the controller is alive. `interval` is 0 for
// `reconcile --once`. A failure is logged, never fatal: the pass itself ran.
void StampPass(engine::Workspace& ws, const engine::PassReport& report, TimePoint now,
               std::chrono::seconds interval, const std::string& instance_id);

}  // namespace sluice::cli
