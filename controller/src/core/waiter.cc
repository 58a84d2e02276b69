#include "core/waiter.h"

namespace sluice {

void ClockWaiter::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                            TimePoint deadline) {
  if (deadline == TimePoint::max()) {
    cv.wait(lock);
    return;
  }
  auto left = deadline - clock_.Now();
  if (left <= TimePoint::duration::zero()) return;
  cv.wait_for(lock, left);
}

}  // namespace sluice
