#include "engine/execute_rollback.h"

namespace sluice::engine {

Result<RollbackResult> ExecuteRollback(record::Workspace& ws, const RollbackRequest& request) {
  SLUICE_RETURN_IF_ERROR(ws.Sync(/*push=*/false));
  RollbackResult result;
  auto plan = PlanRollback(ws, request.env, request.app, request.to);
  if (!plan.ok()) return plan.status();
  result.plan = std::move(*plan);
  auto commit = WriteRollbackCommit(ws, result.plan, request.incident, "", request.author);
  if (!commit.ok()) return commit.status();
  result.commit = std::move(*commit);
  // Eight hex digits name the branch: short enough to type, and the branch
  // is new for every rollback commit.
  std::string branch = request.push ? ""
                                    : "sluice/rollback-" + request.env + "-" + request.app + "-" +
                                          result.commit.substr(0, 8);
  if (Status s = PushCommit(ws, result.commit, branch); !s.ok()) {
    if (s.IsConflict()) {
      return Status::Conflict(ws.branch() +
                              " moved while the rollback was written; run the command again");
    }
    return s;
  }
  result.pushed_to = request.push ? ws.branch() : branch;
  return result;
}

}  // namespace sluice::engine
