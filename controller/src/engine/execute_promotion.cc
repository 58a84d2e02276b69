#include "engine/execute_promotion.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "core/cancel.h"
#include "core/strings.h"
#include "crypto/ssh_key.h"
#include "engine/reconciler.h"
#include "git/incremental.h"
#include "record/refs.h"
#include "record/trust.h"
#include "record/workspace.h"

namespace sluice::engine {
namespace {

// The gate table of the promotion as `sluice plan` computes it: the clone
// (where the promotion branch now exists, beside the mirrored record) is the
// repository a throw-away controller workspace fetches from, and the branch
// is its tracked branch. Same Plan/Judge code as the controller; writes
// nothing but that workspace's cache.
PromotionPreview Preview(const PromotionRequest& request, const PromotionPlan& plan,
                         const std::string& commit, const PromotionSeams& seams) {
  PromotionPreview preview;
  preview.commit = commit;
  preview.at = seams.clock.Now();
  std::string workdir = request.preview_workdir.empty()
                            ? record::DefaultWorkdir(request.clone_path) + "-promote"
                            : request.preview_workdir;
  record::TrustOptions trust;
  trust.controller_keys_file = request.controller_keys_file;
  auto ws = record::Workspace::Open(workdir, request.clone_path, plan.branch, trust);
  if (!ws.ok()) {
    preview.error = ws.status().message();
    return preview;
  }
  CancelToken cancel;
  Reconciler reconciler(**ws, seams.runner, seams.verifier, seams.http, seams.clock, cancel, {});
  auto rows = reconciler.Plan(plan.to, plan.app, preview.at);
  if (!rows.ok()) {
    preview.error = rows.status().message();
    return preview;
  }
  // Who must approve: the policy in force at the promotion branch's head,
  // found by the same rule the controller judges with.
  if (auto head = (*ws)->Head(); head.ok()) {
    preview.approval = ApprovalRequirement(reconciler.PolicyFor(plan.to, *head), plan.to);
  } else {
    preview.approval = "unknown: " + head.status().message();
  }
  for (auto& r : *rows) {
    if (r.env == plan.to && r.app == plan.app) preview.row = std::move(r);
  }
  // Judged before any review, the branch commit looks like a direct push;
  // say instead what the merge will need.
  if (preview.row) {
    for (auto& g : preview.row->gates) {
      if (g.name == "approval" && g.verdict == gates::Verdict::kBlock) {
        g.reason = "not approved yet: needs " + preview.approval;
      }
    }
  }
  if (!preview.row)
    preview.error =
        "the controller sees no pending change for " + plan.to + "/" + plan.app + " on the branch";
  return preview;
}

// Whether `tip` is exactly the commit this promotion would write: one
// commit on the plan's base changing only the pin, to the same content.
bool IsSamePromotion(const git::Repository& r, const std::string& tip, const PromotionPlan& plan) {
  auto info = r.GetCommit(tip);
  if (!info.ok() || info->parents != std::vector<std::string>{plan.base}) return false;
  auto content = r.ReadFile(tip, plan.pin_path);
  if (!content.ok() || *content != plan.new_content) return false;
  auto diff = r.DiffTrees(plan.base, tip, "");
  return diff.ok() && diff->size() == 1 && (*diff)[0].path == plan.pin_path;
}

// The keys of --controller-keys; IOError when the file cannot be read.
Result<std::vector<crypto::PublicKey>> ReadControllerKeys(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Status::IOError("cannot read --controller-keys " + path);
  return crypto::ParsePublicKeys(text.str(), path);
}

// The commit of the promotion on refs/heads/<plan.branch>: the branch's own
// when it already is this promotion, else a new one (the branch moved to it).
Result<std::string> CommitPromotion(git::Repository& r, const PromotionPlan& plan,
                                    const PromotionRequest& request, const std::string& message,
                                    const git::Person& who) {
  const std::string branch_ref = "refs/heads/" + plan.branch;
  if (auto existing = r.ResolveRef(branch_ref); existing.ok()) {
    // Run again after a failed push or PR: the same commit, nothing new.
    if (IsSamePromotion(r, *existing, plan)) return *existing;
    // A branch of an earlier promotion of this digest may be moved only
    // when everything on it is already on the target branch.
    auto merged = r.IsAncestor(*existing, plan.base);
    if (!merged.ok() || !*merged) {
      return Status::FailedPrecondition(
          "branch " + plan.branch + " already exists with commits that are not on " +
          request.branch + " (an open promotion of this digest?); finish or delete it first: " +
          "git branch -D " + plan.branch);
    }
    if (r.CurrentBranch() == plan.branch) {
      return Status::FailedPrecondition("branch " + plan.branch +
                                        " is checked out; switch to another branch first");
    }
  }
  auto created = r.CreateCommit(plan.base, {{plan.pin_path, plan.new_content}}, message, who, who);
  if (!created.ok()) return created.status();
  SLUICE_RETURN_IF_ERROR(r.SetRef(branch_ref, *created, "sluice promote"));
  return *created;
}

// Opens the pull request of `plan` through `forge`, its title the commit
// message's subject and its body templates/promotion-pr.md.
Result<approval::OpenedPullRequest> OpenPullRequest(
    const git::Repository& r, const PromotionPlan& plan, const PromotionRequest& request,
    const ForgeAccess& forge, const std::string& message, const PromotionPreview& preview,
    const PromotionSeams& seams) {
  auto client = approval::MakeForge(forge.settings, seams.http, forge.token, &seams.clock);
  if (!client.ok()) return client.status();
  auto body = RenderPromotionPr(PromotionTemplate(r, plan.base, "promotion-pr.md"), plan, preview);
  if (!body.ok()) {
    return Status::InvalidArgument(body.status().message() + " (templates/promotion-pr.md)");
  }
  std::string title = message.substr(0, message.find('\n'));
  auto opened = (*client)->OpenPullRequest({title, *body, plan.branch, request.branch});
  if (!opened.ok()) {
    return Status::FailedPrecondition(
        "branch " + plan.branch +
        " is pushed, but the pull request was not opened: " + opened.status().message());
  }
  return *opened;
}

}  // namespace

Result<PromotionPlan> PreparePromotion(git::Repository& clone, const PromotionRequest& request) {
  // The record as the controller pushed it: the judgement is made from what
  // it recorded, not from anything local.
  const std::string tracking = "refs/remotes/" + request.remote + "/" + request.branch;
  // Under refs/sluice/, only the names the controller writes: another name
  // there is the remote's pusher's and could collide with the record's.
  if (Status s = git::FetchListingUpdates(
          clone,
          {"+refs/heads/" + request.branch + ":" + tracking,
           std::string("+") + record::kNotesRef + ":" + record::kNotesRef,
           "+refs/sluice/*:refs/sluice/*"},
          nullptr, request.remote,
          [](std::string_view name) {
            return name.substr(0, std::string_view(record::kSluicePrefix).size()) !=
                       record::kSluicePrefix ||
                   record::IsRecordRefName(name);
          });
      !s.ok()) {
    return s.WithContext("fetch the branch and the record from " + request.remote);
  }
  auto base = clone.ResolveRef(tracking);
  if (!base.ok()) {
    return Status::NotFound("branch " + request.branch + " does not exist on " + request.remote +
                            " (choose the target branch with --branch)");
  }
  std::optional<std::vector<crypto::PublicKey>> keys;
  if (!request.controller_keys_file.empty()) {
    auto read = ReadControllerKeys(request.controller_keys_file);
    if (!read.ok()) return read.status();
    keys = std::move(*read);
  }
  return PlanPromotion(clone, *base, request.app, request.from, request.to,
                       keys ? &*keys : nullptr);
}

Result<PromotionResult> ExecutePromotion(git::Repository& clone, const PromotionPlan& plan,
                                         const PromotionRequest& request,
                                         const std::optional<ForgeAccess>& forge,
                                         const PromotionSeams& seams) {
  if (plan.outcome != PromotionPlan::Outcome::kReady) {
    return Status::InvalidArgument("promotion of " + plan.app + " to " + plan.to +
                                   " is not ready: " + plan.reason);
  }
  auto who = clone.DefaultIdentity();
  if (!who.ok()) return who.status();
  auto message =
      RenderPromotionCommit(PromotionTemplate(clone, plan.base, "promotion-commit.md"), plan);
  if (!message.ok()) {
    return Status::InvalidArgument(message.status().message() + " (templates/promotion-commit.md)");
  }
  PromotionResult result;
  auto commit = CommitPromotion(clone, plan, request, *message, *who);
  if (!commit.ok()) return commit.status();
  result.commit = std::move(*commit);

  result.preview = Preview(request, plan, result.commit, seams);

  if (request.push || forge) {
    const std::string branch_ref = "refs/heads/" + plan.branch;
    Status s = clone.Push({branch_ref + ":" + branch_ref}, request.remote);
    if (!s.ok()) {
      if (s.IsConflict()) {
        return Status::Conflict(request.remote + " already has a branch " + plan.branch +
                                " with other commits; delete it there or merge it, then run "
                                "again (" +
                                s.message() + ")");
      }
      return s;
    }
    // The clone's view of the remote is bookkeeping: a failure there costs
    // a later fetch, never the push, so it is logged.
    if (Status t = clone.SetRef("refs/remotes/" + request.remote + "/" + plan.branch, result.commit,
                                "sluice promote");
        !t.ok()) {
      spdlog::warn("pushed {}, but could not move the clone's tracking ref: {}",
                   ShortId(result.commit), t.ToString());
    }
    result.pushed = true;
  }

  if (forge) {
    auto opened = OpenPullRequest(clone, plan, request, *forge, *message, result.preview, seams);
    if (!opened.ok()) return opened.status();
    result.pr = std::move(*opened);
  }
  return result;
}

}  // namespace sluice::engine
