#pragma once

#include <ostream>
#include <string>

#include "engine/reconciler.h"

namespace sluice::cli {

// Prints a pass report as text lines or one JSON object.
void PrintPassReport(std::ostream& out, const record::PassReport& report,
                     const std::string& format);

// After a successful pass: records the controller's pass stamp
// (refs/sluice/pass, at most once a minute) so `sluice status` in any clone
// can tell whether the controller is alive. `interval` is 0 for
// `reconcile --once`. A failure is logged, never fatal: the pass itself ran.
void StampPass(record::Workspace& ws, const record::PassReport& report, TimePoint now,
               std::chrono::seconds interval, const std::string& instance_id);

}  // namespace sluice::cli
