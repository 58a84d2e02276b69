#pragma once

#include <optional>
#include <string>

#include "approval/forge.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/result.h"
#include "engine/promotion.h"
#include "git/repo.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "verify/verifier.h"

namespace sluice::engine {

// What `sluice promote APP --from F --to T` asks for, parsed from its flags.
struct PromotionRequest {
  std::string app;
  std::string from;
  std::string to;
  std::string clone_path;         // the local clone's absolute path (the repository promoted in)
  std::string remote = "origin";  // fetched from, pushed to
  std::string branch = "main";    // the target branch: base of the promotion, target of the PR
  std::string preview_workdir;    // the gate preview's cache; "" for DefaultWorkdir(clone)-promote
  // The controllers' public keys (ssh-ed25519 lines): the plan and the gate
  // preview believe only record entries they signed. "" believes the
  // clone's record as it is.
  std::string controller_keys_file;
  bool push = false;  // push the promotion branch to `remote`
};

// The forge a promotion's pull request is opened through: `forge:` of the
// controller's configuration and its token (never from the repository).
struct ForgeAccess {
  config::ForgeSettings settings;
  std::string token;  // "" for anonymous access
};

// The outside world of ExecutePromotion, borrowed for the call: the gate
// preview's reconciler runs with runner, verifier, http and clock; the
// forge speaks through http and reads retry times from clock.
struct PromotionSeams {
  process::CommandRunner& runner;
  verify::Verifier& verifier;
  net::HttpClient& http;
  const Clock& clock;
};

// What a promotion wrote, for the CLI to print.
struct PromotionResult {
  std::string commit;  // the promotion commit, on refs/heads/<plan.branch>
  bool pushed = false;
  PromotionPreview preview;                       // the gate table as if merged
  std::optional<approval::OpenedPullRequest> pr;  // when opened
};

// The first half of the promotion use case, which writes nothing but the
// clone's remote-tracking refs: fetches request.branch (to
// refs/remotes/<remote>/<branch>) and the record (refs/notes/sluice,
// refs/sluice/*) from request.remote into `clone`, reads the controller
// keys when request.controller_keys_file is set, and plans the promotion
// on the fetched branch head (PlanPromotion). A refusal or nothing to
// promote is a plan with that outcome, not an error. Errors, with messages
// for the user: the fetch's (IOError, with context), NotFound when the
// branch does not exist on the remote, IOError when the keys cannot be
// read, InvalidArgument when they do not parse, PlanPromotion's.
Result<PromotionPlan> PreparePromotion(git::Repository& clone, const PromotionRequest& request);

// The second half, for a plan PreparePromotion made ready: commits the new
// pin on plan.base as the clone's git identity (message from
// templates/promotion-commit.md) on refs/heads/<plan.branch> — reusing the
// branch's commit when it is already exactly this promotion (a run again
// after a failed push or PR), moving the branch when everything on it is
// merged into plan.base —, evaluates the gate preview as the controller
// would (a throw-away workspace at request.preview_workdir fetching from
// the clone), pushes the branch when request.push or `forge` is set, and
// with `forge` opens the pull request through approval::MakeForge.
// Errors, with messages for the user (what is written stays written):
// the identity's, a template that does not render, FailedPrecondition when
// the branch holds other unmerged commits or is checked out, the commit's,
// Conflict when the remote has the branch with other commits, the push's,
// and the forge's ("branch ... is pushed, but the pull request was not
// opened: ..."). The preview's own failures are PromotionPreview::error,
// not errors. Borrows everything; not thread-safe with other writers of
// `clone`.
Result<PromotionResult> ExecutePromotion(git::Repository& clone, const PromotionPlan& plan,
                                         const PromotionRequest& request,
                                         const std::optional<ForgeAccess>& forge,
                                         const PromotionSeams& seams);

}  // namespace sluice::engine
