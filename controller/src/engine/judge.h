#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "approval/approval_gate.h"
#include "approval/forge.h"
#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "core/bounded_cache.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "engine/evidence_gatherer.h"
#include "evidence/registry.h"
#include "gates/gate.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "record/store.h"
#include "record/workspace.h"
#include "trust/policy_in_force.h"

namespace sluice::engine {

// The policy in force for an environment (trust rule, SPEC section 1.3).
using trust::PolicyInForce;

// The rollback commits this controller pushed itself (onFailure: rollback):
// the Applier adds them, the Judge lets them through the approval gate.
// Thread-safe.
class OwnRollbacks {
 public:
  void Add(const std::string& commit) {
    std::lock_guard lock(mu_);
    commits_.insert(commit);
  }
  bool Contains(const std::string& commit) const {
    std::lock_guard lock(mu_);
    return commits_.count(commit) > 0;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> commits_;
};

// What the Judge needs from the controller's own configuration (never from
// the repository: SPEC 1.3 rule 5).
struct JudgeOptions {
  // The forge and its token. No forge: `forge` evidence blocks, saying so.
  std::optional<config::ForgeSettings> forge;
  std::string forge_token;
  // allowed_signers lines trusted for `signed` evidence besides sluice.yaml's.
  std::vector<std::string> extra_signers;
  // The registry client's options, its answer cache included.
  evidence::RegistryOptions registry;
  // Bound of the scan-report cache; 0 turns it off.
  size_t scan_cache_entries = EvidenceGatherer::kDefaultScanCacheEntries;
  // Where trust starts (trust.bootstrap) and how far the walks go.
  trust::TrustOptions trust;
};

// Everything that decides whether a candidate may be applied now: the pin
// parsed, the policy in force, evidence, rollback detection, approval (or
// the rollback rule), the emergency, and every gate. No record is written.
struct Judgement {
  std::optional<config::Pin> pin;
  gates::Evidence evidence;
  std::optional<approval::ApprovalDecision> approval;
  std::vector<gates::GateResult> results;
  gates::Verdict verdict = gates::Verdict::kBlock;
  std::string reason;   // every non-passing gate, or the config/policy error
  std::string landing;  // the landing commit, when a gate had to find it ("" otherwise)
};

// The evidence caches of one Judge, for metrics.
struct EvidenceCacheStats {
  CacheStats registry;  // manifests known to exist (RegistryClient)
  CacheStats scan;      // parsed scan reports by tree id (EvidenceGatherer)
};

// Judge is the trust rule's single place (SPEC 1.3) and the gates' caller:
// which policy is in force (rule 1), whether the change and every edit of
// what the deploy reads were approved (rules 2 and 5), custom gates only
// after approval (rule 3), and the evidence for rollbacks and emergencies.
// Evaluate is thread-safe: environments are judged in parallel. Everything
// borrowed must outlive the Judge.
class Judge {
 public:
  Judge(record::Workspace& ws, record::RecordStore& record, process::CommandRunner& runner,
        net::HttpClient& http, const Clock& clock, CancelToken& cancel,
        const OwnRollbacks& own_rollbacks, JudgeOptions options);

  // The policy in force of `env` at `head`, with the edits that took no
  // effect (trust rule 1).
  PolicyInForce PolicyFor(const std::string& env, const std::string& head);
  // Reads the history PolicyFor needs for every env of `envs` in one walk.
  void PrefetchPolicies(const std::vector<std::string>& envs, const std::string& head) {
    policies_.Prefetch(envs, head);
  }

  // Judges the pin `text` of (env, app) at `candidate` (head: the branch head
  // the pass reads) under `pif`, as of `now`.
  Judgement Evaluate(const std::string& env, const std::string& app, const std::string& candidate,
                     const std::string& head, const std::string& text, const PolicyInForce& pif,
                     TimePoint now) {
    return EvaluateImpl(env, app, candidate, head, text, pif, now, nullptr);
  }

  // Judges the pin `text` of (env, app) at `change_head`, the head of an
  // open pull/merge request, as if it were merged into `head` (gate results
  // on the pull request): the approval gate counts `open_change`'s approvals
  // (gathered from the forge for that head) under the policy in force;
  // coverage (trust rule 2), the emergency rule, the registry gate and
  // custom gates are judged after the merge only (custom gates run
  // repository code; the registry is a host the request's author names),
  // so they take no part. Never applied, never recorded.
  Judgement EvaluateOpenChange(const std::string& env, const std::string& app,
                               const std::string& change_head, const std::string& head,
                               const std::string& text, const PolicyInForce& pif, TimePoint now,
                               const approval::ApprovalEvidence& open_change) {
    return EvaluateImpl(env, app, change_head, head, text, pif, now, &open_change);
  }

  // The commit that brought the pin at `candidate` (walking back no further
  // than `deployed`); "" when it cannot be told (the record then leaves
  // `landing` out and readers walk the history themselves).
  std::string LandingOf(const std::string& candidate, const std::string& pin_path,
                        const std::string& deployed);

  EvidenceCacheStats EvidenceCaches() const {
    return {registry_.CacheStatistics(), gatherer_.ScanCacheStatistics()};
  }

 private:
  Judgement EvaluateImpl(const std::string& env, const std::string& app,
                         const std::string& candidate, const std::string& head,
                         const std::string& text, const PolicyInForce& pif, TimePoint now,
                         const approval::ApprovalEvidence* open_change);
  // Whether `commit` itself carries approval under `rule` (trust rule: an
  // edit of the policy files, or of a file a deploy reads). "" when it does,
  // otherwise why not.
  std::string ApproveCommit(const config::ApprovalPolicy& rule,
                            const config::RepoSettings& settings, const std::string& commit,
                            const std::vector<std::string>& paths);
  // The controller's forge (JudgeOptions::forge), or null: none is
  // configured, or it cannot be made (`*error` set).
  std::unique_ptr<approval::Forge> ForgeFor(std::string* error);
  // Approval evidence for `candidate` judged by `policy` (with the groups and
  // signers of the settings in force).
  approval::ApprovalDecision CheckApproval(const config::ApprovalPolicy& policy,
                                           const config::RepoSettings& settings,
                                           const std::string& candidate,
                                           const std::string& pin_path, const std::string& stop_at,
                                           std::string* landing_commit);
  // Whether `candidate`'s pin restores a pin verified in (env, app): the
  // LKG's, or that of the verified commit named by a Sluice-Rollback trailer
  // on the commit that landed it (a `sluice rollback` or a `git revert`).
  std::optional<gates::RollbackEvidence> DetectRollback(const std::string& env,
                                                        const std::string& app,
                                                        const std::string& candidate,
                                                        const std::string& pin_path,
                                                        const config::Pin& pin);
  // An emergency named by the landing commit's Sluice-Incident trailer and
  // approved by the policy's emergency approvers, or nullopt.
  std::optional<gates::EmergencyEvidence> CheckEmergency(const config::EnvironmentPolicy& policy,
                                                         const config::RepoSettings& settings,
                                                         const std::string& landing,
                                                         const std::string& candidate,
                                                         const std::string& pin_path,
                                                         const std::string& stop_at);
  // Trust rule 2: every change since `base` to a file the deploy of `pin`
  // reads was approved under `rule`.
  gates::GateResult CheckCoverage(const std::string& env, const config::Pin& pin,
                                  const std::string& pin_path, const config::ApprovalPolicy& rule,
                                  const config::RepoSettings& settings, const std::string& base,
                                  const std::string& candidate, bool own_rollback,
                                  const std::string& approved_landing);

  record::Workspace& ws_;
  record::RecordStore& record_;
  process::CommandRunner& runner_;
  net::HttpClient& http_;
  const Clock& clock_;
  CancelToken& cancel_;
  const OwnRollbacks& own_rollbacks_;
  JudgeOptions options_;
  evidence::RegistryClient registry_;
  EvidenceGatherer gatherer_;
  trust::PolicyResolver policies_;
};

// Who must approve a rollback under `policy`: `rollback.approval` when set;
// otherwise, where releases need approval, one member of `on-call` with the
// same kind of evidence; otherwise nobody (required = 0). separate_author is
// always false: a rollback restores a release approved and verified before,
// so its author (the signer of a `sluice rollback --sign` commit) may approve
// it (docs/approvals.md).
config::ApprovalPolicy RollbackApprovalRule(const config::EnvironmentPolicy& policy);

}  // namespace sluice::engine
