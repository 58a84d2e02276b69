// CancelToken::WaitUntil: the wait on an injected clock that the daemon loop
// uses, driven here by a fake Waiter that moves a FakeClock.
#include "core/cancel.h"

#include <gtest/gtest.h>

#include <functional>
#include <utility>
#include <vector>

#include "core/time_format.h"

namespace sluice {
namespace {

using std::chrono::seconds;

// Each wait runs `during` with the lock released (what another thread could
// do while a real wait sleeps), then jumps the clock to the deadline unless
// `during` ended the wait. Remembers the deadlines it was asked for.
class ScriptedWaiter final : public Waiter {
 public:
  explicit ScriptedWaiter(FakeClock& clock) : clock_(clock) {}
  void WaitUntil(std::condition_variable&, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    deadlines.push_back(deadline);
    if (during) {
      lock.unlock();
      auto what = std::exchange(during, nullptr);
      what();
      lock.lock();
      return;
    }
    clock_.Set(deadline);
  }
  std::function<void()> during;
  std::vector<TimePoint> deadlines;

 private:
  FakeClock& clock_;
};

class CancelTokenWaitTest : public ::testing::Test {
 protected:
  CancelTokenWaitTest() : clock_(*ParseRfc3339("2026-11-24T10:00:00Z")), waiter_(clock_) {}
  FakeClock clock_;
  ScriptedWaiter waiter_;
  CancelToken token_;
};

TEST_F(CancelTokenWaitTest, ReturnsWhenTheClockReachesTheDeadline) {
  const TimePoint deadline = clock_.Now() + seconds(30);
  EXPECT_FALSE(token_.WaitUntil(deadline, clock_, waiter_));
  EXPECT_EQ(clock_.Now(), deadline);
  EXPECT_EQ(waiter_.deadlines, std::vector<TimePoint>{deadline});
}

TEST_F(CancelTokenWaitTest, APendingWakeEndsTheNextWaitAtOnceAndIsConsumed) {
  const TimePoint start = clock_.Now();
  token_.Wake();
  EXPECT_FALSE(token_.WaitUntil(start + seconds(30), clock_, waiter_));
  EXPECT_EQ(clock_.Now(), start);
  EXPECT_TRUE(waiter_.deadlines.empty());
  EXPECT_FALSE(token_.wake_pending());
  // Consumed: the next wait runs to its deadline.
  EXPECT_FALSE(token_.WaitUntil(start + seconds(30), clock_, waiter_));
  EXPECT_EQ(clock_.Now(), start + seconds(30));
}

TEST_F(CancelTokenWaitTest, AWakeDuringTheWaitEndsIt) {
  const TimePoint start = clock_.Now();
  waiter_.during = [&] {
    clock_.Advance(seconds(5));
    token_.Wake();
  };
  EXPECT_FALSE(token_.WaitUntil(start + seconds(30), clock_, waiter_));
  EXPECT_EQ(clock_.Now(), start + seconds(5));
  EXPECT_FALSE(token_.wake_pending());
}

TEST_F(CancelTokenWaitTest, CancelEndsTheWaitAndIsReported) {
  const TimePoint start = clock_.Now();
  waiter_.during = [&] { token_.Cancel(); };
  EXPECT_TRUE(token_.WaitUntil(start + seconds(30), clock_, waiter_));
  EXPECT_EQ(clock_.Now(), start);
  // Already cancelled: no wait at all.
  EXPECT_TRUE(token_.WaitUntil(start + seconds(30), clock_, waiter_));
  EXPECT_EQ(waiter_.deadlines.size(), 1u);
}

TEST_F(CancelTokenWaitTest, AnEarlyReturnOfTheWaiterWaitsAgainForTheSameDeadline) {
  const TimePoint deadline = clock_.Now() + seconds(30);
  waiter_.during = [] {};  // a spurious wake-up
  EXPECT_FALSE(token_.WaitUntil(deadline, clock_, waiter_));
  EXPECT_EQ(clock_.Now(), deadline);
  EXPECT_EQ(waiter_.deadlines, (std::vector<TimePoint>{deadline, deadline}));
}

}  // namespace
}  // namespace sluice
