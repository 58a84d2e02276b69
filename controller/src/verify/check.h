#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/cancel.h"

namespace sluice::verify {

// The outcome of one check in one round, as written to the record.
struct CheckResult {
  std::string name;  // "http https://..." / "prometheus <query>"
  bool ok = false;
  std::string detail;           // what was measured: "200 in 12 ms", "0.004 <= max 0.01"
  std::optional<double> value;  // the measured number of a prometheus check, when there was one
  bool cancelled = false;       // the check stopped early because the controller is shutting down
};

// Waits up to `d` and returns true when the wait ended because of
// cancellation (false: the time passed, or the wait was woken early). Checks
// and the verifier wait only through a Waiter, so tests never sleep.
using Waiter = std::function<bool(std::chrono::milliseconds d)>;

// The real waiter: cancel->WaitFor(d), or a plain sleep of `d` when `cancel`
// is null. `cancel` is borrowed and must outlive the returned function.
Waiter CancelWaiter(CancelToken* cancel);

// The wait before retry number `retry` (1-based): 1s, 2s, 4s, ... capped at
// 30s. Pure.
std::chrono::milliseconds BackoffDelay(int retry);

// Formats a sample value the way Prometheus writes it: "0.0125", "NaN",
// "+Inf", "-Inf", "1e-06". Pure.
std::string FormatValue(double v);

}  // namespace sluice::verify
