#include "engine/execute_rollback.h"

#include "approval/approval_gate.h"
#include "core/cancel.h"
#include "core/strings.h"
#include "engine/judge.h"
#include "engine/reconciler.h"

namespace sluice::engine {

Result<RollbackResult> ExecuteRollback(record::Workspace& ws, const RollbackRequest& request,
                                       const RollbackSeams& seams) {
  SLUICE_RETURN_IF_ERROR(ws.Sync(/*push=*/false));
  RollbackResult result;
  auto plan = PlanRollback(ws, request.env, request.app, request.to);
  if (!plan.ok()) return plan.status();
  result.plan = std::move(*plan);

  // The rollback rule of the policy in force at the head the commit goes on,
  // found by the controller's own code (trust rule 1).
  CancelToken cancel;
  Reconciler reconciler(ws, seams.runner, seams.verifier, seams.http, seams.clock, cancel, {});
  trust::PolicyInForce pif = reconciler.PolicyFor(request.env, result.plan.head);
  std::optional<config::ApprovalPolicy> rule;
  if (pif.error.empty() && pif.policy && pif.settings) {
    rule = RollbackApprovalRule(*pif.policy);
    result.needs = DescribeRollbackRule(*rule, *pif.settings);
    result.approval_required = rule->required > 0;
  } else {
    result.policy_error = pif.error.empty() ? "no policy in force" : pif.error;
  }
  if (request.push && rule) {
    result.refused =
        RollbackPushRefusal(*rule, *pif.settings, request.env, static_cast<bool>(request.sign));
    if (!result.refused.empty()) return result;
  }

  auto commit =
      WriteRollbackCommit(ws, result.plan, request.incident, "", request.author, request.sign);
  if (!commit.ok()) return commit.status();
  result.commit = std::move(*commit);

  // Judged as the controller will judge it, before it reaches the branch: a
  // signer outside the rule's groups, or a key not in signers, would leave
  // the environment blocked on the bad release.
  if (request.push && rule && rule->required > 0) {
    approval::ApprovalChecker checker(ws.repo(), nullptr, seams.runner, {}, &ws.mutex());
    approval::ApprovalDecision d = approval::JudgeApproval(
        *rule, *pif.settings,
        checker.GatherFor(*rule, *pif.settings, result.commit, {result.plan.pin_path}));
    if (d.result.verdict != gates::Verdict::kPass) {
      result.refused = "the signed rollback commit " + ShortId(result.commit) +
                       " would be blocked (" + d.result.reason + "); " + request.env +
                       "'s rollback rule needs " + result.needs +
                       ". Nothing was pushed: sign with the key of a member of the group (listed "
                       "in signers of sluice.yaml), or run without --push for a pull request";
      return result;
    }
    result.approval = d.result.reason;
  }

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
