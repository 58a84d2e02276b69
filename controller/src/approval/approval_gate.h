#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "approval/forge.h"
#include "config/policy.h"
#include "config/settings.h"
#include "gates/gate.h"
#include "git/repo.h"
#include "process/runner.h"

namespace sluice::approval {

// One approval that was offered as evidence: a forge review or a signature.
struct Approval {
  std::string who;  // forge login, or the signer's email
  std::string how;  // "github review 80 on 6dcb09b5b578", "ssh signature ED25519 key SHA256:..."
  bool signature = false;  // true: from the merge commit's signature; false: from the forge
};

// The facts about a candidate's approval, gathered by ApprovalChecker (I/O)
// and judged by EvaluateApproval (pure).
struct ApprovalEvidence {
  std::string landing_commit;  // the commit that brought the pin change (merge or push)
  bool via_pr = false;         // the forge knows a merged PR/MR for landing_commit
  std::string pr;              // "#7 https://github.com/shop/environments/pull/7"
  std::string author;          // login of the PR/MR author
  std::string head_sha;        // the PR/MR head the forge says was merged
  std::vector<std::string> change_authors;       // emails of the commits the change brought
  std::vector<Approval> approvals;               // approvals bound to what landed (not yet
                                                 // filtered by group or authorship)
  std::vector<ForgeRejection> rejected;          // reviews the forge shows that do not count
  std::optional<std::string> signer;             // verified SSH signer of landing_commit (email)
  std::string signature_problem;                 // why the signature does not count, if it doesn't
  std::vector<std::string> claimed_in_trailers;  // hand-typed `Approved-by:` values (ignored)
  bool rate_limited = false;
  std::optional<TimePoint> retry_at;  // when the forge's rate limit resets, if known
  std::string error;                  // evidence could not be gathered (fail closed)
  std::string pushed_by;              // "Name <email>": committer of landing_commit
};

// Gathers approval evidence for one candidate: finds the landing commit,
// asks the forge (when the policy's evidence includes forge) and verifies the
// landing commit's SSH signature (when it includes signed).
//
// `forge` may be null (no `forge:` in sluice.yaml): forge evidence then
// records an error. `extra_signers` are allowed_signers lines pinned in the
// controller's own configuration; they are trusted in addition to the
// `signers` of the settings in force. All references must outlive the
// checker. Not thread-safe (uses `repo`).
class ApprovalChecker {
 public:
  // `repo_mutex`, when not null, is locked around every read of `repo` and
  // released across forge HTTP calls and `ssh-keygen` runs, so that other
  // environments can read the repository meanwhile.
  ApprovalChecker(const git::Repository& repo, Forge* forge, process::CommandRunner& runner,
                  std::vector<std::string> extra_signers, std::mutex* repo_mutex = nullptr);

  // Never fails: a problem is recorded in the evidence's `error` (and the
  // gate then blocks) or `rate_limited` (and the gate waits).
  // `settings_in_force` must be the sluice.yaml of the policy in force
  // (trust rule), never the candidate's own.
  ApprovalEvidence Gather(const config::ApprovalPolicy& policy,
                          const config::RepoSettings& settings_in_force,
                          const std::string& candidate, const std::string& pin_path,
                          const std::string& stop_at);

  // The approval evidence of one commit, judged as a landing commit: the
  // forge's pull request that it merged (whose approved head must carry the
  // same content at each of `paths`), and its own signature. Used for the
  // trust rule (SPEC section 1.3): an edit of the policy files, or of a file
  // a deploy reads, takes effect only when the commit that made it is
  // approved. Never fails; problems land in `error` as for Gather.
  ApprovalEvidence GatherFor(const config::ApprovalPolicy& policy,
                             const config::RepoSettings& settings_in_force,
                             const std::string& commit, const std::vector<std::string>& paths);

 private:
  // Runs `fn` with the repository lock held (when there is one).
  template <class Fn>
  auto WithRepo(Fn&& fn) const {
    if (repo_mutex_ == nullptr) return fn();
    std::lock_guard lock(*repo_mutex_);
    return fn();
  }

  const git::Repository& repo_;
  Forge* forge_;
  process::CommandRunner& runner_;
  std::vector<std::string> extra_signers_;
  std::mutex* repo_mutex_;
};

// The approval gate's decision and who approved.
struct ApprovalDecision {
  gates::GateResult result;            // name "approval"
  std::vector<std::string> approvers;  // counted approvers, for the event's `approvers`
};

// Judges `ev` against `policy` with the groups of `settings_in_force`
// (SPEC §3). Pure: no I/O, no clock, thread-safe.
//  - required <= 0: pass.
//  - rate limited: wait ("waiting: forge rate limited until ...").
//  - error: block with the error.
//  - counts DISTINCT approvers who are members of a group in policy.from:
//    forge approvals by login (case-insensitive), the signature by email;
//    with separate_author the PR author and the change authors never count.
//  - forge: forge approvals >= required. signed: the verified signer counts
//    as one approver (a commit carries one signature). forge+signed: both
//    the forge count and a counted signer are needed.
//  - no PR and no valid signature: block "direct push by <committer>
//    without approval". `Approved-by:` trailers count for nothing.
ApprovalDecision JudgeApproval(const config::ApprovalPolicy& policy,
                               const config::RepoSettings& settings_in_force,
                               const ApprovalEvidence& ev);

// JudgeApproval(...).result.
gates::GateResult EvaluateApproval(const config::ApprovalPolicy& policy,
                                   const config::RepoSettings& settings_in_force,
                                   const ApprovalEvidence& ev);

}  // namespace sluice::approval
