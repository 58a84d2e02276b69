#include "verify/check.h"

#include <cmath>
#include <cstdio>
#include <thread>

namespace sluice::verify {

Waiter CancelWaiter(CancelToken* cancel) {
  return [cancel](std::chrono::milliseconds d) {
    if (cancel != nullptr) return cancel->WaitFor(d);
    std::this_thread::sleep_for(d);
    return false;
  };
}

std::chrono::milliseconds BackoffDelay(int retry) {
  constexpr std::chrono::milliseconds kFirst{1000};
  constexpr std::chrono::milliseconds kMax{30000};
  if (retry <= 1) return kFirst;
  if (retry > 6) return kMax;  // 2^5 s already exceeds the cap
  std::chrono::milliseconds d = kFirst * (1L << (retry - 1));
  return d < kMax ? d : kMax;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace sluice::verify
