#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/pin.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "engine/checkouts.h"
#include "engine/drift.h"
#include "engine/judge.h"
#include "process/runner.h"
#include "record/event.h"
#include "record/pass_report.h"
#include "record/steps.h"
#include "record/store.h"
#include "record/workspace.h"
#include "verify/verifier.h"

namespace sluice::engine {

// What an apply ended as, and whether it pushed a commit the controller
// must apply at once (the automatic rollback of onFailure: rollback).
struct Applied {
  record::AppOutcome outcome;
  bool rerun = false;
};

// Applier runs one approved change through its states (SPEC section 4):
// `applying` pushed before the adapter starts, the adapter, `applied`,
// verification, then `verified` (the LKG advances) or `failed` (and, under
// onFailure: rollback, a rollback commit pushed). Each state is recorded
// before the next step. Thread-safe for different environments; everything
// borrowed must outlive it.
class Applier {
 public:
  Applier(record::Workspace& ws, record::RecordStore& record, process::CommandRunner& runner,
          verify::Verifier& verifier, const Clock& clock, CancelToken& cancel,
          OwnRollbacks& own_rollbacks, AdapterFactory make_adapter,
          std::function<void(const std::string& env, const std::string& app)> before_apply,
          std::function<bool(const std::string& env, std::string* why)> still_owner = {});

  // Applies `pin` as announced by `base` (an `applying` event with the gates,
  // approvers and landing filled in). `resumed_after_crash`: the record has
  // an `applying` without an outcome for this commit (the caller closed it
  // as interrupted): the adapter is asked what runs before applying again.
  //
  // deploy.strategy (SPEC 1.4): a canary runs the adapter once per weight
  // step, verification after each (`step` events before and after); a pause
  // step ends the apply as waiting until the pause is over; a blue-green
  // release deploys to the idle slot, verifies it, then switches. A failed
  // step under onFailure: rollback returns the traffic to the old release
  // first (weight 0 / switch back), then records `failed` and commits the
  // rollback. `resume` (from the record) continues an unfinished release at
  // its next step without writing a new `applying`.
  Applied Apply(const record::Event& base, const config::Pin& pin, const PolicyInForce& pif,
                bool resumed_after_crash, const record::StepProgress* resume = nullptr);

 private:
  // After a failed verification under `onFailure: rollback`: commits and
  // pushes the rollback to the LKG. Returns a line for the record, and
  // whether the rollback was pushed.
  std::pair<std::string, bool> CommitAutomaticRollback(const std::string& env,
                                                       const std::string& app,
                                                       const std::string& why);

  // Blue-green: the slot the deployed release of (env, app) switched to, or
  // "" when none is recorded.
  std::string LiveSlot(const std::string& env, const std::string& app);

  // The outcome of an apply on `env` may be recorded by this replica (see
  // ReconcileOptions::still_owner); nullopt when it may, else why not.
  std::optional<std::string> Fenced(const std::string& env) const;

  record::Workspace& ws_;
  record::RecordStore& record_;
  process::CommandRunner& runner_;
  verify::Verifier& verifier_;
  const Clock& clock_;
  CancelToken& cancel_;
  OwnRollbacks& own_rollbacks_;
  AdapterFactory make_adapter_;
  std::function<void(const std::string& env, const std::string& app)> before_apply_;
  std::function<bool(const std::string& env, std::string* why)> still_owner_;
  Checkouts checkouts_;  // one kept per environment
};

}  // namespace sluice::engine
