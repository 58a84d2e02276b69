#include "engine/judge.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>

#include "approval/landing.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "record/refs.h"
#include "trust/coverage.h"

namespace sluice::engine {
namespace {

std::string FirstLine(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// "window: closed until Tue 10:00; approval: 1 of 2" — every non-passing gate.
std::string Reasons(const std::vector<gates::GateResult>& results) {
  std::string out;
  for (const auto& r : results) {
    if (r.verdict == gates::Verdict::kPass) continue;
    if (!out.empty()) out += "; ";
    out += r.name + ": " + r.reason;
  }
  return out;
}

// The trust options with the policy walk kept in the controller's workdir,
// one directory per tracked branch: `plan --branch <pull request>` on the
// controller's workdir must not leave a walk of that branch where the
// controller's own (of main) is kept, or the controller would find its head
// "rewritten" (not a descendant of the pull request's head) and stop.
trust::TrustOptions TrustWithCache(trust::TrustOptions t, const std::string& workdir,
                                   const std::string& branch) {
  if (t.cache_dir.empty() && !workdir.empty()) {
    std::string name;
    for (unsigned char c : branch) {
      if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
        name += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        name += hex;
      }
    }
    t.cache_dir = workdir + "/trust/branch-" + name;
  }
  return t;
}

}  // namespace

Judge::Judge(record::Workspace& ws, record::RecordStore& record, process::CommandRunner& runner,
             net::HttpClient& http, const Clock& clock, CancelToken& cancel,
             const OwnRollbacks& own_rollbacks, JudgeOptions options)
    : ws_(ws),
      record_(record),
      runner_(runner),
      http_(http),
      clock_(clock),
      cancel_(cancel),
      own_rollbacks_(own_rollbacks),
      options_(std::move(options)),
      registry_(http, clock, options_.registry),
      gatherer_(ws, http, runner, registry_, options_.scan_cache_entries),
      policies_(
          ws.mutex(), ws.repo(),
          [this](const config::ApprovalPolicy& rule, const config::RepoSettings& settings,
                 const std::string& commit, const std::vector<std::string>& paths) {
            return ApproveCommit(rule, settings, commit, paths);
          },
          TrustWithCache(options_.trust, ws.workdir(), ws.branch())) {}

PolicyInForce Judge::PolicyFor(const std::string& env, const std::string& head) {
  // Trust rule 1: the newest version of the policy files in the branch's
  // first-parent history whose edit was approved under the version before
  // it. Nothing pushed to the record takes part.
  PolicyInForce pif = policies_.Resolve(env, head);
  for (const auto& ignored : pif.ignored) {
    spdlog::debug("{}: {}", env, trust::DescribeIgnored(ignored));
  }
  return pif;
}

Judgement Judge::EvaluateImpl(const std::string& env, const std::string& app,
                              const std::string& candidate, const std::string& head,
                              const std::string& text, const PolicyInForce& pif, TimePoint now,
                              const approval::ApprovalEvidence* open_change) {
  Judgement j;
  const std::string path = config::PinPath(env, app);
  config::Diagnostics diags;
  j.pin = config::ParsePin(text, path, diags);
  if (!j.pin) {
    j.reason = config::FormatDiagnostics(diags);
    j.results = {{"config", gates::Verdict::kBlock, FirstLine(j.reason), {}}};
    return j;
  }
  if (!pif.error.empty() || !pif.policy || !pif.settings) {
    j.reason = pif.error.empty() ? "no policy in force" : pif.error;
    j.results = {{"policy", gates::Verdict::kBlock, j.reason, {}}};
    return j;
  }

  // An open request's pin is written by whoever opened it, reviewed or not:
  // the controller does not contact the registry it names (the registry
  // gate is judged once the change lands).
  std::optional<config::EnvironmentPolicy> open_policy;
  if (open_change && pif.policy->gates.registry_verify_digest) {
    open_policy = *pif.policy;
    open_policy->gates.registry_verify_digest = false;
  }
  gates::Candidate c{
      env, app, candidate, &*j.pin, open_policy ? &*open_policy : &*pif.policy, &*pif.settings};
  j.evidence = gatherer_.Gather(c, pif.commit, head, &cancel_);
  const std::string deployed = record_.Ref(record::DeployedRef(env, app)).value_or("");

  // A rollback restores a pin verified in this environment: it takes the
  // fast path (no window, freeze, soak) but its own approval rule.
  j.evidence.rollback = DetectRollback(env, app, candidate, path, *j.pin);
  std::optional<config::ApprovalPolicy> approval_rule;
  if (j.evidence.rollback) {
    approval_rule = RollbackApprovalRule(*pif.policy);
  } else if (pif.policy->approval && pif.policy->approval->required > 0) {
    approval_rule = *pif.policy->approval;
  }

  // Approval is judged from evidence (forge reviews, signatures) with the
  // groups and signers of the settings in force.
  std::string landing;
  const bool own_rollback =
      !open_change && j.evidence.rollback && own_rollbacks_.Contains(candidate);
  if (open_change) {
    if (approval_rule && approval_rule->required > 0 &&
        approval_rule->evidence != config::Evidence::kForge) {
      // A signature is judged on the merge commit, which does not exist yet.
      j.approval = approval::ApprovalDecision{
          {"approval",
           gates::Verdict::kWait,
           "waiting: approval is judged on the signed merge commit (evidence: signed)",
           {}},
          {}};
    } else if (approval_rule && approval_rule->required > 0) {
      j.approval = approval::JudgeApproval(*approval_rule, *pif.settings, *open_change);
      // An open request lacking approval is waiting for its reviewers, not
      // blocked (a forge that cannot answer still blocks).
      if (j.approval->result.verdict == gates::Verdict::kBlock && open_change->error.empty()) {
        j.approval->result.verdict = gates::Verdict::kWait;
        j.approval->result.reason = "waiting for review: " + j.approval->result.reason;
      }
    }
  } else if (own_rollback) {
    j.approval = approval::ApprovalDecision{
        {"approval",
         gates::Verdict::kPass,
         "rollback committed by this controller after a failed verification (onFailure: "
         "rollback in the policy in force)",
         {{"rollback", j.evidence.rollback->target}}},
        {}};
  } else if (approval_rule && approval_rule->required > 0) {
    j.approval = CheckApproval(*approval_rule, *pif.settings, candidate, path, deployed, &landing);
  }
  j.landing = landing;
  if (pif.policy->emergency && !j.evidence.rollback && !open_change) {
    j.evidence.emergency =
        CheckEmergency(*pif.policy, *pif.settings, landing, candidate, path, deployed);
  }
  const bool approved = !j.approval || j.approval->result.verdict == gates::Verdict::kPass;

  // Trust rule 2: in a protected environment, every change since what was
  // applied last to a file this deploy reads must itself be approved.
  if (approval_rule && approval_rule->required > 0 && approved && !open_change) {
    const std::string base = deployed.empty() ? pif.first_commit : deployed;
    j.evidence.coverage = CheckCoverage(env, *j.pin, path, *approval_rule, *pif.settings, base,
                                        candidate, own_rollback, j.approval ? landing : "");
  }
  if (j.approval) j.evidence.approval = j.approval->result;

  // Trust rule 3: custom gates run repository code, so only once approval
  // (and its coverage) passed, and from the commit of the policy in force.
  if (!pif.policy->gates.custom.empty() && !open_change) {
    if (approved &&
        (!j.evidence.coverage || j.evidence.coverage->verdict == gates::Verdict::kPass)) {
      j.evidence.custom = gatherer_.RunCustomGates(c, pif.commit, &cancel_);
    } else {
      for (const config::CustomGate& gate : pif.policy->gates.custom) {
        gates::CustomGateEvidence e;
        e.name = gate.name;
        e.error = "not run until the approval gate passes (custom gates run repository code)";
        j.evidence.custom.push_back(std::move(e));
      }
    }
  }
  j.results = gates::EvaluateGates(c, j.evidence, now);
  if (open_change) {
    std::erase_if(j.results,
                  [](const gates::GateResult& r) { return r.name.rfind("custom:", 0) == 0; });
  }
  j.verdict = gates::Overall(j.results);
  j.reason = Reasons(j.results);
  return j;
}

gates::GateResult Judge::CheckCoverage(const std::string& env, const config::Pin& pin,
                                       const std::string& pin_path,
                                       const config::ApprovalPolicy& rule,
                                       const config::RepoSettings& settings,
                                       const std::string& base, const std::string& candidate,
                                       bool own_rollback, const std::string& approved_landing) {
  trust::CoverageResult cov = trust::CheckCoverage(
      ws_.mutex(), ws_.repo(), rule, settings, base, candidate,
      trust::DeployReadPaths(pin, pin_path, config::PolicyPath(env)),
      [this](const config::ApprovalPolicy& r, const config::RepoSettings& s,
             const std::string& commit,
             const std::vector<std::string>& paths) { return ApproveCommit(r, s, commit, paths); },
      [&](const std::string& commit) {
        // Approved already: this controller's own rollback, or the landing
        // commit whose approval the approval gate just judged.
        return (own_rollback && commit == candidate) ||
               (!approved_landing.empty() && commit == approved_landing);
      },
      options_.trust.max_depth);
  return gates::GateResult{"coverage",
                           cov.ok ? gates::Verdict::kPass : gates::Verdict::kBlock,
                           cov.reason,
                           {{"since", base}}};
}

std::string Judge::LandingOf(const std::string& candidate, const std::string& pin_path,
                             const std::string& deployed) {
  std::lock_guard lock(ws_.mutex());
  auto found = approval::FindLandingCommit(ws_.repo(), candidate, pin_path, deployed);
  return found.ok() ? *found : std::string();
}

std::unique_ptr<approval::Forge> Judge::ForgeFor(std::string* error) {
  // The forge comes from the controller's configuration only (SPEC 1.3
  // rule 5): sluice.yaml cannot name one.
  if (!options_.forge) return nullptr;
  auto made = approval::MakeForge(*options_.forge, http_, options_.forge_token, &clock_);
  if (!made.ok()) {
    *error = made.status().message();
    return nullptr;
  }
  return std::move(*made);
}

approval::ApprovalDecision Judge::CheckApproval(const config::ApprovalPolicy& policy,
                                                const config::RepoSettings& settings,
                                                const std::string& candidate,
                                                const std::string& pin_path,
                                                const std::string& stop_at,
                                                std::string* landing_commit) {
  std::string forge_error;
  std::unique_ptr<approval::Forge> forge = ForgeFor(&forge_error);
  // The checker takes the repository lock for its reads only, never across
  // the forge's HTTP calls or ssh-keygen: environments judge in parallel.
  approval::ApprovalChecker checker(ws_.repo(), forge.get(), runner_, options_.extra_signers,
                                    &ws_.mutex());
  approval::ApprovalEvidence ev = checker.Gather(policy, settings, candidate, pin_path, stop_at);
  if (!forge_error.empty() && ev.error.empty() && policy.evidence != config::Evidence::kSigned) {
    ev.error = "forge: " + forge_error;
  }
  if (landing_commit) *landing_commit = ev.landing_commit;
  return approval::JudgeApproval(policy, settings, ev);
}

std::string Judge::ApproveCommit(const config::ApprovalPolicy& rule,
                                 const config::RepoSettings& settings, const std::string& commit,
                                 const std::vector<std::string>& paths) {
  if (rule.required <= 0) return "";
  if (own_rollbacks_.Contains(commit)) return "";
  std::string forge_error;
  std::unique_ptr<approval::Forge> forge = ForgeFor(&forge_error);
  approval::ApprovalChecker checker(ws_.repo(), forge.get(), runner_, options_.extra_signers,
                                    &ws_.mutex());
  approval::ApprovalEvidence ev = checker.GatherFor(rule, settings, commit, paths);
  if (!forge_error.empty() && ev.error.empty() && rule.evidence != config::Evidence::kSigned) {
    ev.error = "forge: " + forge_error;
  }
  approval::ApprovalDecision d = approval::JudgeApproval(rule, settings, ev);
  if (d.result.verdict == gates::Verdict::kPass) return "";
  return d.result.reason;
}

std::optional<gates::EmergencyEvidence> Judge::CheckEmergency(
    const config::EnvironmentPolicy& policy, const config::RepoSettings& settings,
    const std::string& landing, const std::string& candidate, const std::string& pin_path,
    const std::string& stop_at) {
  std::string commit = landing;
  std::vector<std::string> incidents;
  {
    std::lock_guard lock(ws_.mutex());
    if (commit.empty()) {
      auto found = approval::FindLandingCommit(ws_.repo(), candidate, pin_path, stop_at);
      if (!found.ok()) return std::nullopt;
      commit = *found;
    }
    auto info = ws_.repo().GetCommit(commit);
    if (!info.ok()) return std::nullopt;
    incidents = info->Trailer("Sluice-Incident");
  }
  if (incidents.empty()) return std::nullopt;
  // The emergency's approval: one of the emergency approvers, by the same
  // kind of evidence the environment asks for releases.
  config::ApprovalPolicy emergency;
  emergency.required = 1;
  emergency.from = policy.emergency->approvers;
  emergency.evidence = policy.approval ? policy.approval->evidence : config::Evidence::kSigned;
  emergency.separate_author = true;
  approval::ApprovalDecision d =
      CheckApproval(emergency, settings, candidate, pin_path, stop_at, nullptr);
  if (d.result.verdict != gates::Verdict::kPass) {
    spdlog::warn("emergency {} named on {} is not approved by {}: {}", incidents.front(),
                 ShortId(commit), NamesOrNobody(policy.emergency->approvers), d.result.reason);
    return std::nullopt;
  }
  return gates::EmergencyEvidence{incidents.front(), d.approvers};
}

config::ApprovalPolicy RollbackApprovalRule(const config::EnvironmentPolicy& policy) {
  config::ApprovalPolicy rule;
  if (policy.rollback.approval) {
    rule = *policy.rollback.approval;
  } else if (policy.approval && policy.approval->required > 0) {
    rule.required = 1;
    rule.from = {"on-call"};
    rule.evidence = policy.approval->evidence;
  }
  // separateAuthor never applies to a rollback: what it restores was
  // approved and verified before, so the on-call engineer who writes the
  // rollback commit (and signs it: `sluice rollback --sign`) is its approver.
  rule.separate_author = false;
  return rule;
}

std::optional<gates::RollbackEvidence> Judge::DetectRollback(const std::string& env,
                                                             const std::string& app,
                                                             const std::string& candidate,
                                                             const std::string& pin_path,
                                                             const config::Pin& pin) {
  std::lock_guard lock(ws_.mutex());
  git::Repository& repo = ws_.repo();
  auto blob = repo.BlobId(candidate, pin_path);
  if (!blob.ok()) return std::nullopt;
  auto same_pin = [&](const std::string& commit) {
    auto b = repo.BlobId(commit, pin_path);
    return b.ok() && *b == *blob;
  };
  // Back to the LKG: `sluice rollback`, `git revert` of the bad pin, or a
  // hand-restored file all land here.
  if (auto lkg = repo.ResolveRef(record::LkgRef(env, app)); lkg.ok() && same_pin(*lkg)) {
    auto deployed = repo.ResolveRef(record::DeployedRef(env, app));
    if (deployed.ok() && same_pin(*deployed)) return std::nullopt;  // nothing to restore
    return gates::RollbackEvidence{*lkg, pin.artifact.digest};
  }
  // Back to an older verified commit named by the landing commit's trailer.
  auto deployed = repo.ResolveRef(record::DeployedRef(env, app));
  auto landing =
      approval::FindLandingCommit(repo, candidate, pin_path, deployed.ok() ? *deployed : "");
  if (!landing.ok()) return std::nullopt;
  auto info = repo.GetCommit(*landing);
  if (!info.ok()) return std::nullopt;
  for (const auto& target : info->Trailer("Sluice-Rollback")) {
    auto t = repo.GetCommit(target);
    if (!t.ok() || !same_pin(t->id)) continue;
    for (const auto& e : ws_.TrustedEventsForLocked(t->id, env, app)) {
      if (e.env == env && e.app == app && e.kind == record::EventKind::kVerified) {
        return gates::RollbackEvidence{t->id, pin.artifact.digest};
      }
    }
  }
  return std::nullopt;
}

}  // namespace sluice::engine
