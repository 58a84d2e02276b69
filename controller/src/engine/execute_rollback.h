#pragma once

#include <string>

#include "core/result.h"
#include "engine/rollback.h"
#include "git/repo.h"
#include "record/workspace.h"

namespace sluice::engine {

// What `sluice rollback ENV APP` asks for, parsed from its flags.
struct RollbackRequest {
  std::string env;
  std::string app;
  std::string to;        // a verified commit (id or unique prefix); "" for the LKG
  std::string incident;  // the Sluice-Incident trailer; "" for none
  git::Person author;    // who the commit names
  bool push = false;     // to the tracked branch itself, else to a branch of its own
};

// What a rollback wrote.
struct RollbackResult {
  RollbackPlan plan;
  std::string commit;     // the rollback commit (40 hex)
  std::string pushed_to;  // the tracked branch, or sluice/rollback-ENV-APP-<first 8 hex>
};

// The rollback use case: syncs `ws` (fetch, no push), plans the rollback
// (PlanRollback), writes its commit (WriteRollbackCommit) and pushes it to
// the tracked branch (request.push) or to a branch of its own. Errors, with
// messages for the user: those of Sync, PlanRollback (FailedPrecondition
// when there is nothing verified to go back to) and WriteRollbackCommit;
// Conflict "<branch> moved while the rollback was written; run the command
// again" when the push is refused as a non-fast-forward, else the push's
// own error. A commit written but not pushed stays unreferenced. Borrows
// `ws`; takes its mutex in each step, never across the network.
Result<RollbackResult> ExecuteRollback(record::Workspace& ws, const RollbackRequest& request);

}  // namespace sluice::engine
