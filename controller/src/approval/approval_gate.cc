#include "approval/approval_gate.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "approval/landing.h"
#include "approval/signature.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace sluice::approval {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string_view EvidenceName(config::Evidence e) {
  switch (e) {
    case config::Evidence::kForge:
      return "forge";
    case config::Evidence::kSigned:
      return "signed";
    case config::Evidence::kForgeAndSigned:
      break;
  }
  return "forge+signed";
}

bool WantsForge(config::Evidence e) { return e != config::Evidence::kSigned; }
bool WantsSigned(config::Evidence e) { return e != config::Evidence::kForge; }

}  // namespace

// --- gathering ---------------------------------------------------------------

ApprovalChecker::ApprovalChecker(const git::Repository& repo, Forge* forge,
                                 process::CommandRunner& runner,
                                 std::vector<std::string> extra_signers, std::mutex* repo_mutex)
    : repo_(repo),
      forge_(forge),
      runner_(runner),
      extra_signers_(std::move(extra_signers)),
      repo_mutex_(repo_mutex) {}

ApprovalEvidence ApprovalChecker::Gather(const config::ApprovalPolicy& policy,
                                         const config::RepoSettings& settings_in_force,
                                         const std::string& candidate, const std::string& pin_path,
                                         const std::string& stop_at) {
  Result<std::string> landing =
      WithRepo([&] { return FindLandingCommit(repo_, candidate, pin_path, stop_at); });
  if (!landing.ok()) {
    ApprovalEvidence ev;
    ev.error =
        "cannot find the commit that changed " + pin_path + ": " + landing.status().message();
    return ev;
  }
  return GatherFor(policy, settings_in_force, *landing, {pin_path});
}

ApprovalEvidence ApprovalChecker::GatherFor(const config::ApprovalPolicy& policy,
                                            const config::RepoSettings& settings_in_force,
                                            const std::string& commit,
                                            const std::vector<std::string>& paths) {
  ApprovalEvidence ev;
  ev.landing_commit = commit;
  const std::string* landing = &ev.landing_commit;
  Result<git::CommitInfo> info = WithRepo([&] { return repo_.GetCommit(commit); });
  if (!info.ok()) {
    ev.error = info.status().ToString();
    return ev;
  }
  ev.pushed_by = info->committer.name + " <" + info->committer.email + ">";
  ev.claimed_in_trailers = info->Trailer("Approved-by");
  ev.change_authors = WithRepo([&] { return AuthorsOfChange(repo_, commit); });

  if (WantsForge(policy.evidence)) {
    if (forge_ == nullptr) {
      ev.error = "approval evidence \"" + std::string(EvidenceName(policy.evidence)) +
                 "\" needs a forge: set forge: {type, api, repo, tokenFile} in the controller's "
                 "--config (never in sluice.yaml)";
      return ev;
    }
    Result<ForgeApproval> fa = forge_->ApprovalsFor(*landing);
    if (!fa.ok()) {
      ev.error = fa.status().message();
      return ev;
    }
    if (fa->rate_limited) {
      ev.rate_limited = true;
      ev.retry_at = fa->retry_at;
      return ev;
    }
    if (fa->found) {
      ev.via_pr = true;
      ev.pr = fa->number + (fa->url.empty() ? "" : " " + fa->url);
      ev.author = fa->author;
      ev.head_sha = fa->head_sha;
      // The forge binds approvals to its head; bind that head to what landed.
      // A merge commit must merge exactly that head, and what landed at each
      // path must be what the approved head carried (an "evil merge" that
      // edits the pin while merging is not what was reviewed).
      std::string mismatch;
      if (info->parents.size() >= 2 && info->parents[1] != fa->head_sha) {
        mismatch = "the merge commit merges " + ShortId(info->parents[1]) + ", not that head";
      } else if (fa->head_sha != *landing) {
        mismatch = WithRepo([&]() -> std::string {
          if (!repo_.GetCommit(fa->head_sha).ok()) return "";
          for (const std::string& path : paths) {
            Result<std::string> at_head = repo_.BlobId(fa->head_sha, path);
            Result<std::string> landed = repo_.BlobId(*landing, path);
            std::string h = at_head.ok() ? *at_head : "";
            std::string l = landed.ok() ? *landed : "";
            if (h != l) return path + " as it landed differs from " + path + " at that head";
          }
          return "";
        });
      }
      for (const ForgeApprover& a : fa->approvers) {
        if (mismatch.empty()) {
          ev.approvals.push_back({a.login, a.how, false});
        } else {
          ev.rejected.push_back(
              {a.login, "approval was for head " + ShortId(fa->head_sha) + " but " + mismatch});
        }
      }
      ev.rejected.insert(ev.rejected.end(), fa->rejected.begin(), fa->rejected.end());
    }
  }

  if (WantsSigned(policy.evidence)) {
    Result<CommitSignature> sig = WithRepo([&] { return ExtractCommitSignature(repo_, *landing); });
    if (!sig.ok()) {
      ev.error = sig.status().message();
      return ev;
    }
    std::vector<std::string> signers = settings_in_force.signers;
    signers.insert(signers.end(), extra_signers_.begin(), extra_signers_.end());
    SshSignatureVerifier verifier(runner_);
    Result<SignatureCheck> check = verifier.Verify(*sig, signers);
    if (!check.ok()) {
      ev.error = check.status().message();
      return ev;
    }
    if (check->verified) {
      ev.signer = check->principal;
      ev.approvals.push_back({check->principal,
                              "ssh signature of " + ShortId(*landing) +
                                  (check->key.empty() ? "" : " (" + check->key + ")"),
                              true});
    } else {
      ev.signature_problem = check->problem;
    }
  }
  return ev;
}

// --- judging -----------------------------------------------------------------

ApprovalDecision JudgeApproval(const config::ApprovalPolicy& policy,
                               const config::RepoSettings& settings_in_force,
                               const ApprovalEvidence& ev) {
  ApprovalDecision d;
  gates::GateResult& r = d.result;
  r.name = "approval";
  r.evidence["evidence"] = std::string(EvidenceName(policy.evidence));
  r.evidence["required"] = std::to_string(policy.required);
  r.evidence["from"] = Join(policy.from, ",");
  if (!ev.landing_commit.empty()) r.evidence["landingCommit"] = ev.landing_commit;
  if (!ev.pushed_by.empty()) r.evidence["pushedBy"] = ev.pushed_by;
  if (ev.via_pr) {
    r.evidence["pr"] = ev.pr;
    r.evidence["prAuthor"] = ev.author;
    r.evidence["head"] = ev.head_sha;
  }
  if (!ev.change_authors.empty()) r.evidence["changeAuthors"] = Join(ev.change_authors, ",");
  if (ev.signer) r.evidence["signer"] = *ev.signer;
  if (!ev.signature_problem.empty()) r.evidence["signature"] = ev.signature_problem;
  if (!ev.claimed_in_trailers.empty()) {
    r.evidence["claimedInTrailers"] = Join(ev.claimed_in_trailers, ",");
  }

  if (policy.required <= 0) {
    r.verdict = gates::Verdict::kPass;
    r.reason = "no approval required";
    return d;
  }
  if (ev.rate_limited) {
    r.verdict = gates::Verdict::kWait;
    r.reason = "waiting: forge rate limited" +
               (ev.retry_at ? " until " + FormatRfc3339(*ev.retry_at) : std::string());
    r.until = ev.retry_at;
    return d;
  }
  if (!ev.error.empty()) {
    r.verdict = gates::Verdict::kBlock;
    r.reason = "approval evidence unavailable: " + ev.error;
    r.evidence["error"] = ev.error;
    return d;
  }

  // Membership comes from the settings in force only (trust rule).
  std::map<std::string, std::string> group_of;  // lower-cased member -> group
  std::vector<std::string> notes;
  for (const std::string& g : policy.from) {
    auto it = settings_in_force.groups.find(g);
    if (it == settings_in_force.groups.end()) {
      notes.push_back("group " + g + " is not defined in sluice.yaml");
      continue;
    }
    for (const std::string& m : it->second) group_of.emplace(Lower(m), g);
  }
  const std::string from_text = Join(policy.from, " or ");
  std::set<std::string> change_authors;
  for (const auto& a : ev.change_authors) change_authors.insert(Lower(a));
  const bool separate = policy.separate_author;

  struct Counted {
    std::string who;
    std::string group;
    std::string how;
  };
  std::vector<Counted> forge_counted;
  std::set<std::string> seen;
  for (const Approval& a : ev.approvals) {
    if (a.signature) continue;
    const std::string key = Lower(a.who);
    if (seen.count(key)) continue;
    if (separate && !ev.author.empty() && key == Lower(ev.author)) {
      notes.push_back(a.who + " opened " + ev.pr.substr(0, ev.pr.find(' ')) +
                      " and cannot approve it");
      continue;
    }
    if (separate && change_authors.count(key)) {
      notes.push_back(a.who + " authored the change and cannot approve it");
      continue;
    }
    auto g = group_of.find(key);
    if (g == group_of.end()) {
      notes.push_back(a.who + " approved but is not in " + from_text);
      continue;
    }
    seen.insert(key);
    forge_counted.push_back({a.who, g->second, a.how});
  }
  for (const ForgeRejection& rej : ev.rejected) notes.push_back(rej.login + "'s " + rej.why);

  std::optional<Counted> signer_counted;
  if (WantsSigned(policy.evidence)) {
    if (ev.signer) {
      const std::string key = Lower(*ev.signer);
      auto g = group_of.find(key);
      if (separate && change_authors.count(key)) {
        notes.push_back(*ev.signer + " signed the merge but authored the change");
      } else if (separate && !ev.author.empty() && key == Lower(ev.author)) {
        notes.push_back(*ev.signer + " signed the merge but opened it");
      } else if (g == group_of.end()) {
        notes.push_back(*ev.signer + " signed the merge but is not in " + from_text);
      } else {
        std::string how;
        for (const Approval& a : ev.approvals) {
          if (a.signature) how = a.how;
        }
        signer_counted = Counted{*ev.signer, g->second, how};
      }
    } else if (!ev.signature_problem.empty()) {
      notes.push_back("merge " + ShortId(ev.landing_commit) + " " + ev.signature_problem);
    }
  }

  // Evidence for the record: who counted and how, who did not and why.
  std::vector<std::string> counted_text;
  for (const Counted& c : forge_counted) counted_text.push_back(c.who + " (" + c.how + ")");
  if (signer_counted)
    counted_text.push_back(signer_counted->who + " (" + signer_counted->how + ")");
  if (!counted_text.empty()) r.evidence["approvers"] = Join(counted_text, "; ");
  if (!notes.empty()) r.evidence["notCounted"] = Join(notes, "; ");

  const std::string trailer_note =
      ev.claimed_in_trailers.empty() ? "" : "; Approved-by: trailers are not evidence";
  const bool signature_valid = ev.signer.has_value();
  auto block = [&](std::string reason) {
    r.verdict = gates::Verdict::kBlock;
    r.reason = std::move(reason) + trailer_note;
    return d;
  };

  // A change that came neither through a pull request nor with a valid
  // signature is a direct push; say who pushed it.
  const bool no_pr = !WantsForge(policy.evidence) || !ev.via_pr;
  if (no_pr && !signature_valid &&
      (WantsForge(policy.evidence) || ev.signature_problem == "not signed")) {
    std::string why;
    if (WantsSigned(policy.evidence) && !ev.signature_problem.empty()) {
      why = " (" + ShortId(ev.landing_commit) + " " + ev.signature_problem + ")";
    }
    return block("direct push by " + ev.pushed_by + " without approval" + why);
  }

  auto groups_of = [](const std::vector<Counted>& cs) {
    std::vector<std::string> gs;
    for (const Counted& c : cs) {
      if (std::find(gs.begin(), gs.end(), c.group) == gs.end()) gs.push_back(c.group);
    }
    return Join(gs, ", ");
  };
  auto with_groups = [](const std::vector<Counted>& cs) {
    std::vector<std::string> out;
    for (const Counted& c : cs) out.push_back(c.who + " (" + c.group + ")");
    return Join(out, ", ");
  };
  auto partial = [&](const std::vector<Counted>& cs, std::vector<std::string> extra) {
    std::string text =
        std::to_string(cs.size()) + " of " + std::to_string(policy.required) + " approvals";
    if (!cs.empty()) text += ": " + with_groups(cs);
    std::vector<std::string> all = notes;
    all.insert(all.end(), extra.begin(), extra.end());
    if (!all.empty()) text += (cs.empty() ? ": " : "; ") + Join(all, "; ");
    return text;
  };

  const size_t need = static_cast<size_t>(policy.required);
  std::vector<Counted> approvers;
  std::string pass_reason;
  switch (policy.evidence) {
    case config::Evidence::kForge: {
      if (forge_counted.size() < need) return block(partial(forge_counted, {}));
      approvers = forge_counted;
      std::vector<std::string> names;
      for (const Counted& c : forge_counted) names.push_back(c.who);
      pass_reason = "approved by " + Join(names, ", ") + " (" + std::to_string(names.size()) +
                    " of " + std::to_string(need) + ", " + groups_of(forge_counted) + ")";
      break;
    }
    case config::Evidence::kSigned: {
      std::vector<Counted> cs;
      if (signer_counted) cs.push_back(*signer_counted);
      if (cs.size() < need) {
        std::vector<std::string> extra;
        if (need > 1 && signer_counted) {
          extra.push_back("signed evidence gives one approver per merge commit");
        }
        return block(partial(cs, extra));
      }
      approvers = cs;
      pass_reason = "merge signed by " + signer_counted->who + " (1 of " + std::to_string(need) +
                    ", " + signer_counted->group + ")";
      break;
    }
    case config::Evidence::kForgeAndSigned: {
      std::vector<std::string> missing;
      if (!ev.via_pr) missing.push_back("no merged pull request for " + ShortId(ev.landing_commit));
      if (!signer_counted) missing.push_back("no valid signature by a member of " + from_text);
      if (forge_counted.size() < need || !missing.empty()) {
        return block(partial(forge_counted, missing));
      }
      approvers = forge_counted;
      std::vector<std::string> names;
      for (const Counted& c : forge_counted) names.push_back(c.who);
      pass_reason = "approved by " + Join(names, ", ") + " (" + std::to_string(names.size()) +
                    " of " + std::to_string(need) + ", " + groups_of(forge_counted) +
                    "); merge signed by " + signer_counted->who;
      if (std::none_of(approvers.begin(), approvers.end(), [&](const Counted& c) {
            return Lower(c.who) == Lower(signer_counted->who);
          })) {
        approvers.push_back(*signer_counted);
      }
      break;
    }
  }
  r.verdict = gates::Verdict::kPass;
  r.reason = pass_reason;
  for (const Counted& c : approvers) d.approvers.push_back(c.who);
  return d;
}

gates::GateResult EvaluateApproval(const config::ApprovalPolicy& policy,
                                   const config::RepoSettings& settings_in_force,
                                   const ApprovalEvidence& ev) {
  return JudgeApproval(policy, settings_in_force, ev).result;
}

}  // namespace sluice::approval
