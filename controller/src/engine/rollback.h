#pragma once

#include <optional>
#include <string>

#include "config/policy.h"
#include "config/settings.h"
#include "core/result.h"
#include "record/workspace.h"

namespace sluice::engine {

// What a rollback restores: the pin file of (env, app) as it was at a commit
// verified in that environment.
struct RollbackPlan {
  std::string env;
  std::string app;
  std::string head;    // the branch head the rollback commit goes on
  std::string target;  // the verified commit whose pin is restored
  std::string pin_path;
  std::string pin_content;  // the pin file at `target`
  std::string digest;       // its digest
  std::string version;
  std::string current_digest;  // the pin's digest at `head` (what is being rolled back)
  // Set when the running release is itself the LKG and the target is the
  // verified release before it: says so, for the user.
  std::string note;
};

// Plans a rollback of (env, app) to the last-known-good, or to `to` (a
// commit id or unique prefix) which must carry a `verified` event for
// (env, app) in the record. When the running release (the deployed ref) is
// itself the LKG — it passed verification but is bad — and the branch head
// pins it too, the target is the newest release verified before it whose
// pin differs (SPEC section 5), found in the record by reports::ReadHistory;
// with a head pinning anything else (a release pending or being applied),
// the LKG itself. FailedPrecondition with a
// clear message when there is nothing verified to go back to, when `to` was
// never verified there, or when the head already pins that content. Takes
// the workspace mutex; call Workspace::Sync first.
Result<RollbackPlan> PlanRollback(record::Workspace& ws, const std::string& env,
                                  const std::string& app, const std::string& to);

// Marks PlanRollback's "the head already pins that content" error.
inline constexpr char kNothingToDo[] = "; nothing to do: ";

// Whether `s` is PlanRollback's error for a head that already pins the
// target's content: nothing to do, not a failure (`sluice rollback` exits 0,
// as `sluice promote` does with nothing to promote).
bool IsNothingToDo(const Status& s);

// Writes the rollback commit on top of plan.head (no working tree touched):
// the pin file restored, message "Roll back <env>/<app> to <version>" with
// trailers Sluice-Rollback: <target> and, when set, Sluice-Incident: <id>.
// `why` (optional) goes into the body. With `sign`, the commit is signed
// (git::CommitSigner; `sluice rollback --sign`). Returns the new commit id.
Result<std::string> WriteRollbackCommit(record::Workspace& ws, const RollbackPlan& plan,
                                        const std::string& incident, const std::string& why,
                                        const git::Person& author,
                                        const git::CommitSigner& sign = nullptr);

// The rollback rule as one sentence for the user: "1 approval from on-call
// (carol@example.com), signed evidence: the rollback commit signed by the
// approver (--sign)", or "no approval" when `rule` requires none. Pure.
std::string DescribeRollbackRule(const config::ApprovalPolicy& rule,
                                 const config::RepoSettings& settings);

// Why a rollback commit of `env` pushed straight to the tracked branch
// (`sluice rollback --push`) could never pass `rule`, the policy's rollback
// rule, said before anything is written, with what to do instead; "" when
// it can (no approval needed, or signed evidence and `signing`). Forge
// evidence needs a reviewed pull request, which a pushed commit lacks;
// signed evidence needs the commit signed (--sign or --signing-key) by one
// member of the rule's groups, and one signature is one approver. Pure.
std::string RollbackPushRefusal(const config::ApprovalPolicy& rule,
                                const config::RepoSettings& settings, const std::string& env,
                                bool signing);

// Pushes `commit` to the tracked branch (when `to_branch` is empty) or to
// refs/heads/<to_branch>. Conflict when the branch moved meanwhile.
Status PushCommit(record::Workspace& ws, const std::string& commit, const std::string& to_branch);

// True when the note of `commit` holds a `verified` event for (env, app).
bool WasVerified(record::Workspace& ws, const std::string& commit, const std::string& env,
                 const std::string& app);

}  // namespace sluice::engine
