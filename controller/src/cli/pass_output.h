#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "engine/reconciler.h"

namespace sluice::cli {

// Whether `state` is a normal outcome of a pass (SPEC
// section 7): in-sync, applied, verified, rolled-back, blocked, waiting, and
// removed, drift, drift-resolved. "error" (could not be judged, applied or
// recorded) and "failed" (apply or verification) are not.
bool IsNormalOutcome(record::Outcome state);

// The exit code of `sluice reconcile --once` for a pass that ran: kExitOk
// when there are no pass-level problems and every outcome is normal,
// kExitError otherwise.
int PassExitCode(const record::PassReport& report);

// Prints a pass report as text lines or one JSON object.
void PrintPassReport(std::ostream& out, const record::PassReport& report,
                     const std::string& format);

}  // namespace sluice::cli
