#pragma once

#include <condition_variable>
#include <mutex>

#include "core/clock.h"

namespace sluice {

// How a thread waits for a time on an injected Clock to come (a retry to
// fall due, the next pass). The seam lets tests move a FakeClock instead of
// sleeping: a fake may advance the clock to `deadline` and return, or
// release `lock` to let something happen "meanwhile" (as a real wait would).
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Called with `lock` held (the mutex `cv` waits with). Blocks until
  // `deadline` (on the caller's clock; TimePoint::max() = no deadline) or
  // until `cv` is notified; may return early, callers re-check.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
};

// Waits on the condition variable for the time left until `deadline` as
// `clock` reads it. Thread-safe; borrows `clock`.
class ClockWaiter final : public Waiter {
 public:
  explicit ClockWaiter(const Clock& clock) : clock_(clock) {}
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override;

 private:
  const Clock& clock_;
};

}  // namespace sluice
