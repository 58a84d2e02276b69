#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "core/cancel.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/status.h"
#include "core/waiter.h"
#include "record/pass_report.h"
#include "record/store.h"
#include "record/workspace.h"

namespace sluice::engine {

// The shortest time between the starts of two passes when webhooks wake the
// loop; well under the one-second goal for a rollback to start (SPEC 5).
inline constexpr std::chrono::milliseconds kMinPassSpacing{500};
// How long after a wait's end (a window's opening, a soak's completion) the
// pass that acts on it starts: the gates judge "at or after" to the second.
inline constexpr std::chrono::milliseconds kWaitEndSlack{1000};

struct ControllerOptions {
  // The wait between the end of one pass and the start of the next; each
  // wait gets up to 10% jitter on top.
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  // Written into pass stamps (as ReconcileOptions::instance_id into events).
  std::string instance_id;
  // After a pass that could not run (the remote is down, the disk full), the
  // next try comes after retry_first (or the interval, when shorter), doubling with each failure in
  // a row up to the larger of the interval and retry_max, each with jitter (a random time between
  // half the delay and all of it), so a blip is over in seconds and a long outage is not hammered.
  // A webhook still wakes the loop at once; the first pass that runs resets it.
  std::chrono::milliseconds retry_first{std::chrono::seconds(5)};
  std::chrono::milliseconds retry_max{std::chrono::minutes(5)};
  // The store the passes write through (Reconciler::record_store): the pass
  // stamp goes with its next flush instead of a push of its own that holds
  // the workspace between passes. Null: the stamp is pushed at once.
  record::RecordStore* record = nullptr;
  // Seeds the jitter; tests fix it.
  std::uint32_t jitter_seed = std::random_device{}();
  // Sees each pass that ran: its report, how long it took and when it ended
  // (on the controller's clock). For metrics; called on the loop's thread
  // before the pass stamp is written. May be empty.
  std::function<void(const record::PassReport& report, std::chrono::duration<double> took,
                     TimePoint end)>
      on_pass;
  // Sees each pass that could not run (the pass function's error), likewise.
  // May be empty.
  std::function<void(const Status& error, std::chrono::duration<double> took, TimePoint end)>
      on_failed_pass;
};

// Controller is the daemon's loop (`sluice controller`): a pass at start,
// then one every `interval` (plus jitter) after the previous one ended, until
// `stop` is cancelled. `stop.Wake()` (a webhook) ends the wait early: the
// next pass starts at once, but no sooner than kMinPassSpacing after the
// previous one started; wakes that arrive during a pass or that spacing
// coalesce into that one pass. A pass that fails is observed, logged and
// tried again with exponential backoff (ControllerOptions::retry_first). A pass whose report has a
// `next_due` (a window opens, a soak completes before the interval is up)
// is followed by one at that time (plus kWaitEndSlack), so waits end on time.
//
// After each pass that ran, the controller's pass stamp (record::RecordPass:
// refs/sluice/pass, pushed, through ControllerOptions::record when set; at
// most once a minute unless the head moved) is written to `ws`; a failed
// write is logged, never fatal.
//
// All waiting goes through `waiter` on `clock`, so tests run on fake time.
// Run() on one thread; `stop` may be cancelled or woken from any other. All
// dependencies are borrowed and must outlive the controller.
class Controller {
 public:
  // One pass: Reconciler::RunOnce in the daemon, a fake in tests. An error
  // means the pass could not run.
  using PassFunction = std::function<Result<record::PassReport>()>;

  Controller(PassFunction run_pass, record::Workspace& ws, const Clock& clock, Waiter& waiter,
             CancelToken& stop, ControllerOptions options);
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Runs passes until `stop` is cancelled. Returns once the pass in progress
  // (if any) has ended and been observed, stamped and logged; at once, with
  // no pass, if `stop` is cancelled already.
  void Run();

 private:
  // Observes, stamps and logs the pass that started at `started`.
  void AfterPass(const Result<record::PassReport>& report, TimePoint started);
  // Waits for the next pass to be due; true when stopped meanwhile.
  bool WaitForNextPass(TimePoint started, std::optional<TimePoint> next_due);
  // The wait after the failed_in_a_row_-th failed pass in a row.
  std::chrono::milliseconds RetryDelay();

  const PassFunction run_pass_;
  record::Workspace& ws_;
  const Clock& clock_;
  Waiter& waiter_;
  CancelToken& stop_;
  const ControllerOptions options_;
  std::mt19937 rng_;
  int failed_in_a_row_ = 0;
  bool stamped_ = false;  // a pass of this process has been stamped
};

}  // namespace sluice::engine
