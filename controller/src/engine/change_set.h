#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "record/pass_report.h"
#include "record/workspace.h"

namespace sluice::engine {

// The environments a pass at `head` reconciles: the pipeline of sluice.yaml.
// A sluice.yaml that cannot be read or parsed is a `problem`, and the
// directories under environments/ are used instead so the controller keeps
// serving; `plan` treats that problem as an error.
struct Environments {
  std::vector<std::string> names;
  std::string problem;                    // "" when sluice.yaml was read
  Status error;                           // the same problem as a Status (plan fails on it)
  std::vector<std::string> ignored_keys;  // keys sluice.yaml may not set (SPEC 1.3 rule 5)
};
Environments ListEnvironments(record::Workspace& ws, const std::string& head);

// The apps of `env` whose pin at `head` differs from the one deployed, or
// that were never deployed, sorted. One tree diff per distinct deployed
// commit finds them without reading unchanged pins. Deployed apps whose pin
// file is gone are added to `removed` (Sluice does not uninstall).
Result<std::vector<std::string>> ChangedApps(record::Workspace& ws, const std::string& env,
                                             const std::string& head,
                                             std::vector<record::AppOutcome>& removed);

// Moves the apps whose pin at `head` is their LKG's (rollbacks) to the
// front, keeping the order otherwise: restoring a verified release beats
// any new change.
void RollbacksFirst(record::Workspace& ws, const std::string& env, const std::string& head,
                    std::vector<std::string>& apps);

}  // namespace sluice::engine
