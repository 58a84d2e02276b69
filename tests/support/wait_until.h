// The one polling loop of the tests: wait for a real condition (a port, a
// file, a ref, a metric written by another process or thread) with a bound.
// Polling a condition is allowed; sleeping as synchronisation is not.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string_view>
#include <thread>

namespace sluice::testing {

// Evaluates `condition` until it returns true or `timeout` has passed, and
// returns whether it did. The condition is checked at once, then with a
// back-off from 1 ms to 20 ms between checks, and a last time at the
// deadline. Never fails the test: for loops whose timeout has a remedy of
// its own (SIGKILL after a polite SIGTERM, another port after a failed
// start). Everything else uses WaitUntil.
inline bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  std::chrono::milliseconds pause(1);
  while (!condition()) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return condition();
    // Polling a condition another process or thread will make true: a short,
    // growing pause between checks, never past the deadline.
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return true;
}

// PollUntil, and on timeout fails the current test (ADD_FAILURE, so the
// test goes on: add ASSERT_TRUE(WaitUntil(...)) to stop it) with "timed out
// after <timeout> ms waiting for <what>". Returns whether the condition
// became true.
inline bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                      std::string_view what) {
  if (PollUntil(condition, timeout)) return true;
  ADD_FAILURE() << "timed out after " << timeout.count() << " ms waiting for " << what;
  return false;
}

}  // namespace sluice::testing
