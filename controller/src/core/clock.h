#pragma once

#include <chrono>
#include <mutex>

namespace sluice {

using TimePoint = std::chrono::system_clock::time_point;

// Clock is the seam through which the controller reads the time. Pure logic
// (gates, windows, soak) never reads a clock: it takes `now` as an argument,
// and only the reconciler owns a Clock&.
//
// Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock for tests: it stands still until told to move.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Set(TimePoint t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    now_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace sluice
