#include "engine/controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "core/strings.h"
#include "core/time_format.h"
#include "record/pass_stamp.h"

namespace sluice::engine {

Controller::Controller(PassFunction run_pass, record::Workspace& ws, const Clock& clock,
                       Waiter& waiter, CancelToken& stop, ControllerOptions options)
    : run_pass_(std::move(run_pass)),
      ws_(ws),
      clock_(clock),
      waiter_(waiter),
      stop_(stop),
      options_(std::move(options)),
      rng_(options_.jitter_seed) {}

void Controller::Run() {
  while (!stop_.cancelled()) {
    const TimePoint started = clock_.Now();
    Result<record::PassReport> report = run_pass_();
    failed_in_a_row_ = report.ok() ? 0 : failed_in_a_row_ + 1;
    AfterPass(report, started);
    if (WaitForNextPass(started, report.ok() ? report->next_due : std::nullopt)) break;
  }
}

void Controller::AfterPass(const Result<record::PassReport>& report, TimePoint started) {
  const TimePoint end = clock_.Now();
  // The daemon's clock is the wall clock: a step back must not make a pass
  // take negative time.
  const std::chrono::duration<double> took = std::max(end - started, TimePoint::duration::zero());
  if (report.ok()) {
    if (options_.on_pass) options_.on_pass(*report, took, end);
    // The first pass of a process stamps even an unchanged head: a restart
    // (another version, another instance) is news, and through the store
    // its push shows the remote takes this process's record before the
    // first apply needs that proof (RecordStore).
    record::StampPass(ws_, *report, end,
                      std::chrono::duration_cast<std::chrono::seconds>(options_.interval),
                      options_.instance_id, options_.record,
                      stamped_ ? record::kPassStampEvery : std::chrono::seconds(0));
    stamped_ = true;
  } else if (options_.on_failed_pass) {
    options_.on_failed_pass(report.status(), took, end);
  }
  if (!report.ok()) {
    spdlog::error("pass failed: {}", report.status().ToString());
  } else if (!report->unchanged || !report->outcomes.empty()) {
    spdlog::info("pass at {}: {} change(s), {} pin(s) read, {} ms", ShortId(report->head),
                 report->outcomes.size(), report->pins_read, report->duration.count());
  }
}

std::chrono::milliseconds Controller::RetryDelay() {
  const std::chrono::milliseconds cap = std::max(options_.interval, options_.retry_max);
  std::chrono::milliseconds delay = std::min(options_.retry_first, options_.interval);
  for (int i = 1; i < failed_in_a_row_ && delay < cap; ++i) delay = std::min(delay * 2, cap);
  std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(0, delay.count() / 2);
  return delay - std::chrono::milliseconds(jitter(rng_));
}

bool Controller::WaitForNextPass(TimePoint started, std::optional<TimePoint> next_due) {
  TimePoint due;
  if (failed_in_a_row_ > 0) {
    const std::chrono::milliseconds delay = RetryDelay();
    due = clock_.Now() + delay;
    spdlog::warn("{} failed pass{} in a row; next try in {:.1f} s", failed_in_a_row_,
                 failed_in_a_row_ == 1 ? "" : "es", std::chrono::duration<double>(delay).count());
  } else {
    // Jitter spreads the fetches of many controllers over the interval.
    std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(
        0, options_.interval.count() / 10);
    due = clock_.Now() + options_.interval + std::chrono::milliseconds(jitter(rng_));
  }
  // A wait that ends sooner (a window opens, a soak completes) is acted on
  // then; never sooner than the spacing between passes.
  if (next_due && *next_due + kWaitEndSlack < due) {
    due = std::max(*next_due + kWaitEndSlack, started + kMinPassSpacing);
    spdlog::debug("next pass at {} when a wait ends", FormatRfc3339(due));
  }
  if (stop_.WaitUntil(due, clock_, waiter_)) return true;
  // Woken early (a webhook): keep passes at least kMinPassSpacing apart.
  // Deliveries arriving meanwhile only re-set the wake flag, so a burst
  // costs one pass now and at most one more, not one per delivery. An idle
  // controller (the usual case) starts at once.
  const TimePoint not_before = started + kMinPassSpacing;
  while (clock_.Now() < not_before) {
    if (stop_.WaitUntil(not_before, clock_, waiter_)) return true;
  }
  return false;
}

}  // namespace sluice::engine
