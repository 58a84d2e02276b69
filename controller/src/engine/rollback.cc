#include "engine/rollback.h"

#include <spdlog/spdlog.h>

#include "approval/landing.h"
#include "config/pin.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "record/event.h"
#include "record/refs.h"
#include "reports/history.h"

namespace sluice::engine {
namespace {

bool VerifiedLocked(record::Workspace& ws, const std::string& commit, const std::string& env,
                    const std::string& app) {
  for (const auto& e : ws.TrustedEventsForLocked(commit, env, app)) {
    if (e.env == env && e.app == app && e.kind == record::EventKind::kVerified) return true;
  }
  return false;
}

// The pin's blob at `commit`, or "".
std::string PinBlob(const git::Repository& repo, const std::string& commit,
                    const std::string& pin_path) {
  auto b = repo.BlobId(commit, pin_path);
  return b.ok() ? *b : "";
}

// When what runs in (env, app) is its LKG `lkg` and the branch head pins it
// too (the deployed pin, the LKG's and the head's are one; before, this was
// "nothing to do"): the newest release verified before it whose pin
// differs, from the record (reports::ReadHistory). "" otherwise — a head
// pinning something else (a release pending or being applied) is rolled
// back to the LKG itself. NotFound when nothing verified before the LKG
// pins anything else. Takes the workspace mutex itself.
Result<std::string> VerifiedBeforeRunningLkg(record::Workspace& ws, const std::string& env,
                                             const std::string& app, const std::string& lkg,
                                             const std::string& pin_path) {
  std::string lkg_blob;
  {
    std::lock_guard lock(ws.mutex());
    auto deployed = ws.repo().ResolveRef(record::DeployedRef(env, app));
    auto head = ws.repo().ResolveRef("refs/remotes/origin/" + ws.branch());
    lkg_blob = PinBlob(ws.repo(), lkg, pin_path);
    if (!deployed.ok() || !head.ok() || lkg_blob.empty() ||
        PinBlob(ws.repo(), *deployed, pin_path) != lkg_blob ||
        PinBlob(ws.repo(), *head, pin_path) != lkg_blob) {
      return std::string();
    }
  }
  auto releases = reports::ReadHistory(ws, env, app);
  if (!releases.ok()) return releases.status();
  // Newest first: start after the LKG's own row when the record has it.
  size_t from = 0;
  for (size_t i = 0; i < releases->size(); ++i) {
    if ((*releases)[i].commit == lkg) {
      from = i + 1;
      break;
    }
  }
  std::lock_guard lock(ws.mutex());
  for (size_t i = from; i < releases->size(); ++i) {
    const reports::Release& r = (*releases)[i];
    if (!r.verified || r.commit == lkg) continue;
    std::string blob = PinBlob(ws.repo(), r.commit, pin_path);
    if (!blob.empty() && blob != lkg_blob && VerifiedLocked(ws, r.commit, env, app)) {
      return r.commit;
    }
  }
  return Status::NotFound("no release verified before it pins anything else");
}

}  // namespace

bool WasVerified(record::Workspace& ws, const std::string& commit, const std::string& env,
                 const std::string& app) {
  std::lock_guard lock(ws.mutex());
  return VerifiedLocked(ws, commit, env, app);
}

Result<RollbackPlan> PlanRollback(record::Workspace& ws, const std::string& env,
                                  const std::string& app, const std::string& to) {
  // When what runs is the LKG, the target comes from the record's history,
  // read before this function takes the workspace mutex.
  std::string before_running_lkg;
  std::string running_lkg;
  if (to.empty()) {
    std::string lkg;
    {
      std::lock_guard lock(ws.mutex());
      if (auto l = ws.repo().ResolveRef(record::LkgRef(env, app)); l.ok()) lkg = *l;
    }
    if (!lkg.empty()) {
      auto before = VerifiedBeforeRunningLkg(ws, env, app, lkg, config::PinPath(env, app));
      if (!before.ok()) {
        return Status::FailedPrecondition(
            "nothing to roll back to: " + env + "/" + app + " runs its last-known-good (" +
            ShortId(lkg) + "), and " + before.status().message() +
            "; fix forward with a new pin instead, or name a verified commit with --to (see "
            "`sluice history " +
            env + " " + app + "`)");
      }
      if (!before->empty()) {
        before_running_lkg = *before;
        running_lkg = lkg;
      }
    }
  }

  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  RollbackPlan plan;
  plan.env = env;
  plan.app = app;
  plan.pin_path = config::PinPath(env, app);
  auto head = repo.ResolveRef("refs/remotes/origin/" + ws.branch());
  if (!head.ok()) return head.status().WithContext("branch " + ws.branch());
  plan.head = *head;

  if (!before_running_lkg.empty()) {
    plan.target = before_running_lkg;
    plan.note = "what runs is the last-known-good itself (" + ShortId(running_lkg) +
                "): rolling back to the release verified before it";
  } else if (to.empty()) {
    auto lkg = repo.ResolveRef(record::LkgRef(env, app));
    if (!lkg.ok()) {
      return Status::FailedPrecondition(
          "nothing to roll back to: " + env + "/" + app +
          " has no last-known-good (no release was ever verified there); fix forward with a "
          "new pin instead");
    }
    plan.target = *lkg;
  } else {
    auto resolved = repo.GetCommit(to);
    if (!resolved.ok()) {
      return Status::InvalidArgument("--to " + to + ": no such commit in " + ws.url());
    }
    plan.target = resolved->id;
    if (!VerifiedLocked(ws, plan.target, env, app)) {
      return Status::FailedPrecondition(
          "--to " + to + ": " + env + "/" + app + " was never verified at " + ShortId(plan.target) +
          "; roll back only to a verified release (see `sluice status` for the LKG)");
    }
  }
  auto content = repo.ReadFile(plan.target, plan.pin_path);
  if (!content.ok()) {
    return Status::FailedPrecondition(plan.pin_path + " does not exist at " + ShortId(plan.target));
  }
  plan.pin_content = *content;
  config::Diagnostics diags;
  if (auto pin = config::ParsePin(plan.pin_content, plan.pin_path, diags)) {
    plan.digest = pin->artifact.digest;
    plan.version = pin->artifact.version;
  }
  if (auto current = repo.ReadFile(plan.head, plan.pin_path); current.ok()) {
    if (*current == plan.pin_content) {
      // A rollback commit is there already; if it is blocked (an unsigned
      // revert where on-call's signature is needed), it must be undone
      // first: only the commit that changed the pin is judged.
      std::string landing;
      if (auto l = approval::FindLandingCommit(repo, plan.head, plan.pin_path, plan.target);
          l.ok() && *l != plan.target) {
        landing = *l;
      }
      return Status::FailedPrecondition(
          env + "/" + app + " already pins " + (plan.version.empty() ? plan.digest : plan.version) +
          " (the content of " + ShortId(plan.target) + ") at the head of " + ws.branch() +
          kNothingToDo +
          "it is the controller's turn (`sluice status` says why it has not "
          "applied it)" +
          (landing.empty() ? std::string()
                           : ". If it is blocked for want of approval, undo that commit (git "
                             "revert " +
                                 ShortId(landing) + ", pushed) and run this again with --sign"));
    }
    config::Diagnostics d2;
    if (auto pin = config::ParsePin(*current, plan.pin_path, d2)) {
      plan.current_digest = pin->artifact.digest;
    }
  }
  return plan;
}

bool IsNothingToDo(const Status& s) {
  return s.code() == Status::Code::kFailedPrecondition &&
         s.message().find(kNothingToDo) != std::string::npos;
}

Result<std::string> WriteRollbackCommit(record::Workspace& ws, const RollbackPlan& plan,
                                        const std::string& incident, const std::string& why,
                                        const git::Person& author, const git::CommitSigner& sign) {
  std::string message = "Roll back " + plan.env + "/" + plan.app + " to " +
                        (plan.version.empty() ? plan.digest : plan.version) + "\n\n";
  message += "Restores " + plan.pin_path + " as verified at " + ShortId(plan.target) +
             (plan.current_digest.empty() ? "" : ", replacing " + plan.current_digest) + ".\n";
  if (!why.empty()) message += "\n" + why + "\n";
  message += "\nSluice-Rollback: " + plan.target + "\n";
  if (!incident.empty()) message += "Sluice-Incident: " + incident + "\n";
  std::lock_guard lock(ws.mutex());
  return ws.repo().CreateCommit(plan.head, {{plan.pin_path, plan.pin_content}}, message, author,
                                author, sign);
}

namespace {

// "on-call (carol@example.com, dave)" for each group of the rule.
std::string GroupsWithMembers(const config::ApprovalPolicy& rule,
                              const config::RepoSettings& settings) {
  std::vector<std::string> groups;
  for (const std::string& g : rule.from) {
    auto it = settings.groups.find(g);
    groups.push_back(g + " (" +
                     (it == settings.groups.end() ? std::string("not defined in sluice.yaml")
                                                  : Join(it->second, ", ")) +
                     ")");
  }
  return groups.empty() ? std::string("anyone") : Join(groups, " or ");
}

}  // namespace

std::string DescribeRollbackRule(const config::ApprovalPolicy& rule,
                                 const config::RepoSettings& settings) {
  if (rule.required <= 0) return "no approval";
  std::string out = std::to_string(rule.required) + " approval" + (rule.required == 1 ? "" : "s") +
                    " from " + GroupsWithMembers(rule, settings);
  switch (rule.evidence) {
    case config::Evidence::kSigned:
      return out + ", signed evidence: the rollback commit signed by the approver (--sign)";
    case config::Evidence::kForge:
      return out + ", forge evidence: an approving review of the rollback pull request";
    case config::Evidence::kForgeAndSigned:
      break;
  }
  return out +
         ", forge+signed evidence: an approving review of the rollback pull request and "
         "its merge signed by the approver";
}

std::string RollbackPushRefusal(const config::ApprovalPolicy& rule,
                                const config::RepoSettings& settings, const std::string& env,
                                bool signing) {
  if (rule.required <= 0) return "";
  const std::string groups = GroupsWithMembers(rule, settings);
  const std::string needs = env + "'s rollback rule needs " + DescribeRollbackRule(rule, settings);
  if (rule.evidence != config::Evidence::kSigned) {
    return needs +
           "; a commit pushed straight to the branch has no pull request, so the controller "
           "would block it: run without --push and have a member of " +
           groups + " approve and merge the pull request from the branch it prints";
  }
  if (rule.required > 1) {
    return needs +
           "; a commit carries one signature, so no single commit can meet it: lower "
           "rollback.approval.required to 1 in environments/" +
           env + "/environment.yaml (through review), or use forge evidence for rollbacks";
  }
  if (!signing) {
    return needs +
           ": rerun with --sign (your git SSH signing setup: gpg.format=ssh and "
           "user.signingkey) or --signing-key FILE; the signer must be in " +
           groups + ", with their key in signers of sluice.yaml";
  }
  return "";
}

Status PushCommit(record::Workspace& ws, const std::string& commit, const std::string& to_branch) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  const std::string local = "refs/sluice-tmp/push";
  SLUICE_RETURN_IF_ERROR(repo.SetRef(local, commit, "sluice: push"));
  std::string target = "refs/heads/" + (to_branch.empty() ? ws.branch() : to_branch);
  Status s = repo.Push({local + ":" + target});
  // The scratch ref and the tracking ref are the cache's own bookkeeping: a
  // failure there costs a later fetch, never the push, so it is logged.
  if (Status d = repo.DeleteRef(local); !d.ok()) {
    spdlog::warn("could not delete {} in the cache: {}", local, d.ToString());
  }
  if (s.ok() && to_branch.empty()) {
    if (Status t = repo.SetRef("refs/remotes/origin/" + ws.branch(), commit, "sluice: pushed");
        !t.ok()) {
      spdlog::warn("pushed {}, but could not move the cache's tracking ref: {}", ShortId(commit),
                   t.ToString());
    }
  }
  return s;
}

}  // namespace sluice::engine
