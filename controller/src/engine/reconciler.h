#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "approval/approval_gate.h"
#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "core/result.h"
#include "engine/apply.h"
#include "engine/drift.h"
#include "engine/evidence_gatherer.h"
#include "engine/judge.h"
#include "engine/order.h"
#include "engine/pull_request_checks.h"
#include "evidence/registry.h"
#include "gates/gate.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "record/event.h"
#include "record/pass_report.h"
#include "record/store.h"
#include "record/workspace.h"
#include "trust/policy_in_force.h"
#include "verify/verifier.h"

namespace sluice::engine {

struct ReconcileOptions {
  std::string instance_id;  // written into every event
  size_t parallelism = 4;   // environments reconciled at once
  // The forge and its token, from the controller's own configuration only
  // (SPEC 1.3 rule 5; sluice.yaml cannot name one). No forge: `forge`
  // evidence blocks, saying so.
  std::optional<config::ForgeSettings> forge;
  std::string forge_token;
  // allowed_signers lines pinned in the controller's own configuration,
  // trusted for `signed` evidence in addition to sluice.yaml's signers.
  std::vector<std::string> extra_signers;
  // The registry client's options, its answer cache included (cache_ttl,
  // cache_entries).
  evidence::RegistryOptions registry;
  // Bound of the scan-report cache (EvidenceGatherer); 0 turns it off.
  size_t scan_cache_entries = EvidenceGatherer::kDefaultScanCacheEntries;
  // Called after the `applying` event is pushed and before the adapter starts
  // (tests use it to observe the record mid-apply). May be empty.
  std::function<void(const std::string& env, const std::string& app)> before_apply;
  // Drift checks of in-sync pins, run after each pass's applies (engine/drift.h).
  DriftOptions drift;
  // Makes the adapter of a pin, for applies and drift checks (tests inject a
  // fake). May be empty: adapters::MakeAdapter.
  AdapterFactory make_adapter;
  // Sees every event after it is recorded (RecordStore's EventObserver): the
  // controller hands them to the notifier. Runs on reconcile threads, so it
  // must be thread-safe and must not block. May be empty.
  record::EventObserver on_event;
  // The trust rule's settings from the controller's configuration
  // (trust.bootstrap: where trust starts).
  trust::TrustOptions trust;
  // High availability (SPEC section 8): whether this replica may act on
  // `env` now. Asked for each environment with a change before anything of
  // it is judged, recorded or applied, again before each further change of
  // it in the same pass, and before each drift check; false skips the rest
  // of it (another replica owns it, or ownership cannot be proved) and
  // leaves the pass unsettled, so the next pass looks again. Called from
  // reconcile threads: thread-safe. Empty: every environment (one
  // controller per workdir).
  std::function<bool(const std::string& env)> should_apply;
  // Called once the pass is done with an environment should_apply admitted
  // (after its last change, also on errors and cancellation; right after
  // the answer for a drift check), so the HA layer can let go of what it
  // kept for it (a hold against releasing it to another replica). May be
  // empty.
  std::function<void(const std::string& env)> done_with_env;
  // High availability: whether this replica still holds `env` (a live proof,
  // Ownership::Fence), asked before an apply's outcome is recorded (after the
  // adapter, after verification). False: nothing more is recorded for that
  // apply, and the environment's new owner resolves its `applying` by the
  // crash-recovery rule (docs/operations.md). Sets *why. Thread-safe. Empty:
  // always.
  std::function<bool(const std::string& env, std::string* why)> still_owner;
  // High availability: whether this replica posts the pull request statuses
  // of `env` (forge.statuses; engine/pull_request_checks.h). Not a proof,
  // only a way to keep replicas from posting the same status twice: its
  // owner posts it. Empty: every environment.
  std::function<bool(const std::string& env)> posts_statuses_for;
  // High availability: asked before resuming an interrupted apply (an
  // `applying` without outcome) that another replica (`started_by`, its
  // controller.id) wrote, with the adapter's longest run
  // (adapters::LongestApply). nullopt: resume now (crash-recovery rule);
  // otherwise why not yet: nothing is recorded or applied, the change stays
  // `applying` and the pass unsettled, so a later pass asks again
  // (Ownership::MayResume). Thread-safe. Empty: resume at once.
  std::function<std::optional<std::string>(const std::string& env, const std::string& started_by,
                                           std::chrono::milliseconds longest)>
      may_resume;
};

// The gate table of one pending change, as `sluice plan` shows it.
struct PlanRow {
  std::string env;
  std::string app;
  std::string commit;
  std::string digest;
  std::string version;
  gates::Verdict verdict = gates::Verdict::kBlock;
  std::vector<gates::GateResult> gates;
  // Edits of the environment's policy files that took no effect (trust
  // rule 1), one line each: "edit of … in c0ffee… ignored: …".
  std::vector<std::string> policy_notes;
  // deploy.dependsOn of the pin, and the change's place (1-based) in the
  // order its environment's pending changes would be handled.
  std::vector<std::string> depends_on;
  size_t order = 0;
};

// Reconciler runs controller passes (SPEC section 4): fetch, read desired pins
// at the branch head, compare with the recorded deployed state, and for each
// changed (env, app): gates, apply, verify, record. Environments run in
// parallel (bounded); within one environment applies run one at a time.
//
// Not thread-safe: call RunOnce from one thread at a time. All dependencies
// are borrowed and must outlive the reconciler.
class Reconciler {
 public:
  Reconciler(record::Workspace& ws, process::CommandRunner& runner, verify::Verifier& verifier,
             net::HttpClient& http, const Clock& clock, CancelToken& cancel,
             ReconcileOptions options);

  // The gate table of every pending change at the head of the tracked branch
  // (or a PR branch), evaluated as of `at`, without applying or recording
  // anything. Filters by env/app when non-empty.
  Result<std::vector<PlanRow>> Plan(const std::string& env_filter, const std::string& app_filter,
                                    TimePoint at);

  // The policy in force of `env` at `head` (trust rule, SPEC section 1.3,
  // rule 1), with the edits that took no effect. Thread-safe with itself.
  PolicyInForce PolicyFor(const std::string& env, const std::string& head) {
    return judge_.PolicyFor(env, head);
  }
  // Reads the history PolicyFor needs for every env of `envs` in one walk
  // (trust::PolicyResolver::Prefetch). Optional.
  void PrefetchPolicies(const std::vector<std::string>& envs, const std::string& head) {
    judge_.PrefetchPolicies(envs, head);
  }

  // One pass. An error means the pass could not run (fetch failed, branch
  // missing); blocked and waiting changes are normal outcomes. A pass that
  // commits a rollback itself (onFailure: rollback) runs a follow-up pass at
  // once so the rollback is applied without waiting.
  Result<record::PassReport> RunOnce();

  // The evidence caches, which live as long as the reconciler so that every
  // pass of a controller shares them. Thread-safe (unlike RunOnce): the
  // metrics endpoint reads it while a pass runs.
  EvidenceCacheStats EvidenceCaches() const { return judge_.EvidenceCaches(); }

  // The record store every pass writes through (the daemon's pass stamps go
  // through it too: ControllerOptions::record).
  record::RecordStore& record_store() { return record_; }

 private:
  Result<record::PassReport> RunPass();
  void ReconcileEnv(const std::string& env, const std::string& head,
                    std::vector<record::AppOutcome>& out, size_t& pins_read);
  // Judges the candidate of (env, app), records a blocked or waiting
  // verdict, or hands an approved change to the Applier.
  // `hold` says, given the candidate commit, whether a dependency
  // (deploy.dependsOn) holds the change; may be empty.
  using HoldCheck = std::function<std::optional<DependencyHold>(const std::string& candidate)>;
  record::AppOutcome ReconcileApp(const std::string& env, const std::string& app,
                                  const std::string& head, const PolicyInForce& pif,
                                  size_t& pins_read, const HoldCheck& hold);
  // Runs the due drift checks (engine/drift.h) and adds their findings.
  void AddDriftChecks(record::PassReport& report);
  record::Event NewEvent(const std::string& env, const std::string& app, const std::string& commit,
                         record::EventKind kind) const;

  record::Workspace& ws_;
  record::RecordStore record_;
  const Clock& clock_;
  CancelToken& cancel_;
  ReconcileOptions options_;
  OwnRollbacks own_rollbacks_;  // rollback commits this reconciler pushed
  Judge judge_;
  Applier applier_;
  std::unique_ptr<DriftChecker> drift_;
  // Gate results on pull requests: with a forge whose statuses are on.
  std::unique_ptr<approval::Forge> status_forge_;
  std::unique_ptr<PullRequestChecker> pull_requests_;

  std::atomic<bool> rerun_{false};    // an apply pushed a commit to apply at once
  std::atomic<bool> skipped_{false};  // should_apply said no to an env this pass

  std::string last_head_;
  bool last_pass_settled_ = false;  // nothing waiting/blocked/errored after the last pass
  // The head whose ignored sluice.yaml keys (forge:, secret files: SPEC 1.3
  // rule 5) were last logged, so each head warns once. RunOnce only.
  std::string warned_ignored_at_;
};

// A per-process instance id: "<hostname>-<pid>".
std::string DefaultInstanceId();

}  // namespace sluice::engine
