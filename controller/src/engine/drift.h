#pragma once

// Drift detection (SPEC section 4, issue #5): for pins that are in sync in
// the record, ask the adapter what really runs (helm status / get values,
// terraform plan -detailed-exitcode) and record a `drift` event on the
// deployed commit when it differs. Drift never triggers an apply: Sluice
// records and shows it; a human (or a new commit) decides what to do.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "config/pin.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "core/result.h"
#include "process/runner.h"
#include "record/event.h"
#include "record/store.h"
#include "record/workspace.h"

namespace sluice::engine {

// Makes the adapter that observes a pin (adapters::MakeAdapter by default).
using AdapterFactory = std::function<Result<std::unique_ptr<adapters::Adapter>>(
    config::AdapterKind, process::CommandRunner&)>;

struct DriftOptions {
  // How often each in-sync pin is checked; zero disables periodic checks.
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  // At most this many adapter checks per pass (exec pins, which cannot
  // drift, do not count). Pins that are due wait for the next pass.
  size_t max_checks_per_pass = 4;
  // Check every in-sync pin now, whatever the interval and the bound
  // (`sluice reconcile --once --drift`).
  bool check_all_now = false;
  // Asked before each check; true stops the pass's checks early (the daemon
  // was woken by a webhook: a pending apply must not wait for drift checks).
  // May be empty.
  std::function<bool()> should_yield;
  // May be empty: adapters::MakeAdapter.
  AdapterFactory make_adapter;
  // Whether the policy in force of `env` at `head` says `drift: ignore`
  // (the reconciler's trust rule). Empty: no environment ignores drift.
  std::function<bool(const std::string& env, const std::string& head)> ignores_drift;
};

// What drift checking did for one (env, app) that needs attention.
struct DriftFinding {
  std::string env;
  std::string app;
  std::string commit;  // the deployed commit
  std::string digest;  // the pinned digest
  // drift (new or changed) | resolved | error
  std::string state;
  std::string reason;
};

struct DriftReport {
  size_t checks = 0;  // adapter checks run
  std::vector<DriftFinding> findings;
};

// The in-sync test of one (env, app), from the record alone (pure): the pin
// at the branch head is the deployed one (same blob) and the last event on
// the deployed commit is `verified` or `drift`. Pins that are applying,
// verifying or failed are the reconciler's business, not drift's.
bool IsInSyncForDrift(const std::string& head_blob, const std::string& deployed_blob,
                      const record::Event* last_on_deployed);

// What to record after a check, given the last event on the deployed commit
// (pure): a new `drift` event when drift starts or its detail changes; a
// resolving `drift` event when an unresolved drift is gone; nothing
// otherwise. nullopt: write nothing.
std::optional<record::Event> DriftEventToRecord(const record::Event* last_on_deployed,
                                                const adapters::Observation& observed,
                                                record::Event base);

// DriftChecker runs the drift checks of a controller pass. It remembers when
// it last checked each (env, app) (in memory: a restarted controller checks
// everything again, spread over passes) and reads the clock it is given.
//
// Not thread-safe: call Run from one thread at a time (the reconciler does,
// after the pass's applies). Dependencies are borrowed.
class DriftChecker {
 public:
  DriftChecker(record::Workspace& ws, record::RecordStore& record, process::CommandRunner& runner,
               const Clock& clock, CancelToken& cancel, DriftOptions options,
               std::string instance_id);

  // Checks the due in-sync pins at `head` (interval elapsed since their last
  // check; environments whose policy in force says `drift: ignore` skipped; never-checked ones
  // first, then the longest unchecked), at most max_checks_per_pass adapter checks unless
  // check_all_now. Records drift events on the deployed commits and pushes them. A check that fails
  // (helm cannot reach the cluster, terraform plan exits 1) is an `error`
  // finding and records nothing.
  DriftReport Run(const std::string& head);

  // Counts (env, app) as checked now: a pin this pass just applied runs
  // what was pinned, and is not asked again before the interval is over.
  void MarkChecked(const std::string& env, const std::string& app);

 private:
  struct Due {
    std::string env;
    std::string app;
    std::string deployed;
  };
  // Checks one pin; false when nothing ran (not in sync, exec, unreadable).
  bool CheckOne(const Due& due, const std::string& head, DriftReport& report);
  // True when the policy in force of `env` says `drift: ignore`.
  bool IgnoresDrift(const std::string& env, const std::string& head);

  record::Workspace& ws_;
  record::RecordStore& record_;
  process::CommandRunner& runner_;
  const Clock& clock_;
  CancelToken& cancel_;
  DriftOptions options_;
  std::string instance_id_;
  std::map<std::string, TimePoint> last_checked_;  // "env/app" -> last check
  // "env/app" -> the deployed commit at which its pin was exec or did not
  // parse: skipped until another commit is deployed.
  std::map<std::string, std::string> never_checked_;
};

}  // namespace sluice::engine
