// WaitUntil and PollUntil (tests/support/wait_until.h), the one polling loop
// of the tests: what they return, and the failure WaitUntil reports.
#include "support/wait_until.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(WaitUntilTest, ReturnsAsSoonAsTheConditionHolds) {
  int checks = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++checks == 3; }, seconds(10), "the third check"));
  EXPECT_EQ(checks, 3);
}

TEST(WaitUntilTest, SeesAConditionAnotherThreadMakesTrue) {
  std::atomic<bool> done{false};
  std::thread other([&] { done = true; });
  EXPECT_TRUE(WaitUntil([&] { return done.load(); }, seconds(10), "the other thread"));
  other.join();
}

TEST(WaitUntilTest, TimeoutFailsTheTestNamingWhatItWaitedFor) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_FALSE(WaitUntil([] { return false; }, milliseconds(30), "a port that never opens")),
      "timed out after 30 ms waiting for a port that never opens");
}

TEST(PollUntilTest, TimeoutReturnsFalseWithoutFailingTheTest) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(PollUntil([] { return false; }, milliseconds(30)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(30));
}

}  // namespace
}  // namespace sluice::testing
