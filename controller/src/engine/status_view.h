#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "engine/workspace.h"

namespace sluice::engine {

struct PinRef {
  std::string digest;
  std::string version;
  std::string commit;
};

// One row of `sluice status` (SPEC section 7).
struct StatusRow {
  std::string env;
  std::string app;
  PinRef desired;
  PinRef deployed;                     // empty commit: never deployed
  std::string deployed_time;           // RFC 3339, from the `applied` event
  std::vector<std::string> approvers;  // from the `applied` event
  PinRef lkg;                          // empty commit: none
  // in-sync | waiting | blocked | applying | verifying | failed
  std::string state;
  std::vector<std::string> reasons;
};

// Computes the status of every (env, app) at the head of the tracked branch
// from the record in the workspace (call Workspace::Sync first). Filters by
// env/app when non-empty. Takes the workspace mutex.
Result<std::vector<StatusRow>> ComputeStatus(Workspace& ws, const std::string& env_filter,
                                             const std::string& app_filter);

}  // namespace sluice::engine
