#pragma once

#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "engine/rollback.h"
#include "git/repo.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "record/workspace.h"
#include "verify/verifier.h"

namespace sluice::engine {

// What `sluice rollback ENV APP` asks for, parsed from its flags.
struct RollbackRequest {
  std::string env;
  std::string app;
  std::string to;        // a verified commit (id or unique prefix); "" for the LKG
  std::string incident;  // the Sluice-Incident trailer; "" for none
  git::Person author;    // who the commit names
  bool push = false;     // to the tracked branch itself, else to a branch of its own
  // Signs the rollback commit (--sign, --signing-key): under `signed`
  // evidence the signature of a member of the rollback rule's groups is the
  // approval. Null: unsigned.
  git::CommitSigner sign;
};

// The outside world of ExecuteRollback, borrowed for the call: the policy
// in force is found with the controller's own code (a Reconciler over the
// workspace), and ssh-keygen verifies the signed commit through `runner`.
struct RollbackSeams {
  process::CommandRunner& runner;
  verify::Verifier& verifier;
  net::HttpClient& http;
  const Clock& clock;
};

// What a rollback wrote, or why it wrote nothing.
struct RollbackResult {
  RollbackPlan plan;
  std::string commit;     // the rollback commit (40 hex); "" when refused
  std::string pushed_to;  // the tracked branch, or sluice/rollback-ENV-APP-<first 8 hex>
  // The rollback rule of the policy in force, as DescribeRollbackRule says
  // it; "" when the policy in force could not be read (policy_error says why).
  std::string needs;
  std::string policy_error;
  bool approval_required = false;
  // With --push under a rule that needs approval: how the controller will
  // judge the commit's approval ("merge signed by carol@example.com (1 of 1,
  // on-call)").
  std::string approval;
  // Set when nothing was pushed because the controller would block the
  // commit (RollbackPushRefusal, or the signed commit judged as the
  // controller will): what is missing and what to do. `commit` is then ""
  // or the unpushed, unreferenced signed commit.
  std::string refused;
};

// The rollback use case: syncs `ws` (fetch, no push), plans the rollback
// (PlanRollback), finds the rollback rule of the policy in force at the
// branch head (as the controller does), and with request.push refuses before
// writing anything when a pushed commit could never meet it
// (RollbackPushRefusal). Then writes its commit (WriteRollbackCommit, signed
// with request.sign); with request.push under a rule that needs approval,
// judges the commit's approval as the controller will (the signer must be a
// member of the rule's groups with a key in signers) and refuses to push a
// commit that would be blocked. Pushes to the tracked branch (request.push)
// or to a branch of its own. Errors, with messages for the user: those of
// Sync, PlanRollback (FailedPrecondition when there is nothing verified to
// go back to) and WriteRollbackCommit (signing included); Conflict "<branch>
// moved while the rollback was written; run the command again" when the
// push is refused as a non-fast-forward, else the push's own error. A
// refusal is a result with `refused` set, not an error. A commit written
// but not pushed stays unreferenced. Borrows `ws` and `seams`; takes the
// workspace mutex in each step, never across the network or ssh-keygen.
Result<RollbackResult> ExecuteRollback(record::Workspace& ws, const RollbackRequest& request,
                                       const RollbackSeams& seams);

}  // namespace sluice::engine
