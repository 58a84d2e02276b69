#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/clock.h"
#include "core/waiter.h"

namespace sluice {

// CancelToken lets the controller ask long work (child processes, waits) to
// stop, e.g. on SIGTERM. Cancel() is idempotent and thread-safe; work polls
// cancelled() or waits with WaitFor(), which returns early on cancellation.
class CancelToken {
 public:
  void Cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_.store(true);
    }
    cv_.notify_all();
  }
  bool cancelled() const { return cancelled_.load(); }

  // Sleeps up to `d`, or until Cancel() or Wake(). Returns true if cancelled.
  bool WaitFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return cancelled_.load() || woken_; });
    woken_ = false;
    return cancelled_.load();
  }

  // Like WaitFor, on an injected clock: waits through `waiter` until `clock`
  // reads `deadline` or later, or until Cancel() or Wake(). Consumes a
  // pending Wake() (one returns at once). Returns true if cancelled.
  // Borrows `clock` and `waiter` for the call only.
  bool WaitUntil(TimePoint deadline, const Clock& clock, Waiter& waiter) {
    std::unique_lock lock(mu_);
    while (!cancelled_.load() && !woken_ && clock.Now() < deadline) {
      waiter.WaitUntil(cv_, lock, deadline);
    }
    woken_ = false;
    return cancelled_.load();
  }

  // True when Wake() was called and no WaitFor() has consumed it yet: the
  // poll loop will start a pass as soon as the current one ends.
  bool wake_pending() {
    std::lock_guard lock(mu_);
    return woken_;
  }

  // Ends the current (or next) WaitFor() early without cancelling; used by
  // webhooks to wake the poll loop.
  void Wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
};

}  // namespace sluice
