#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "config/verification.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "net/http_client.h"
#include "verify/check.h"
#include "verify/prometheus_check.h"

namespace sluice::verify {

// Values read just before an apply, for the `maxRatioToBaseline` of
// Prometheus checks. A plain value: copyable, no references.
struct Baseline {
  struct Entry {
    std::string url;    // PrometheusCheck::url
    std::string query;  // PrometheusCheck::query
    BaselineReading reading;
  };
  std::vector<Entry> entries;

  // The reading taken for (url, query), or nullptr when none was taken.
  const BaselineReading* Find(const std::string& url, const std::string& query) const;
};

// The verdict of a verification, for the record (SPEC sections 5 and 6).
struct VerificationResult {
  bool ok = false;         // verified: the apply becomes last-known-good
  bool cancelled = false;  // stopped by the CancelToken; ok is false, the release is unjudged
  std::string reason;      // one line for the record
  std::vector<CheckResult> checks;  // the last round run, in configuration order (a failed
                                    // round stops at its first failing check)
  int rounds = 0;                   // rounds run (0 with no checks)
};

// Verifier runs the post-deploy checks of SPEC section 1.2 `verification`.
// Implementations are thread-safe: environments verify in parallel.
class Verifier {
 public:
  virtual ~Verifier() = default;

  // Call just before the apply: reads the current value of every Prometheus
  // check that has `maxRatioToBaseline` (other checks are not touched). A
  // failed read is kept in the Baseline as an error, so the ratio check
  // fails later (fail closed) instead of the apply being held here. Blocks
  // for at most a few query attempts; honours `cancel` (may be null).
  virtual Baseline ReadBaseline(const config::Verification& v, CancelToken* cancel) = 0;

  // Call after a successful apply. Runs every check once per round: a round
  // at once, then one every `v.interval` until `v.duration` has passed on the
  // clock, the last round at the end of the duration (duration 0: one
  // round). Returns at the first failing check (ok == false, reason names
  // the check, its measurement and the round), when `cancel` is cancelled
  // (cancelled == true), or after the last round passes (ok == true). With
  // no checks configured it returns ok == true at once (SPEC section 5).
  // `baseline` is what ReadBaseline returned before the apply.
  virtual VerificationResult Verify(const config::Verification& v, const Baseline& baseline,
                                    CancelToken* cancel) = 0;

  // Verify without a baseline (maxRatioToBaseline checks then fail). Kept
  // so callers written before baselines existed still build.
  VerificationResult Verify(const config::Verification& v, CancelToken* cancel) {
    return Verify(v, Baseline{}, cancel);
  }
};

// Waits up to `d` for the verifier (round intervals, retry backoff); returns
// true when the wait ended because `cancel` was cancelled. `cancel` may be
// null. The default is CancelWaiter(cancel).
using WaitFn = std::function<bool(std::chrono::milliseconds d, CancelToken* cancel)>;

// The verifier that runs HTTP and Prometheus checks through `http`, and
// accounts the verification duration on `clock`. `http` and `clock` are
// borrowed and must outlive the verifier; `wait` (tests pass one that
// advances a FakeClock) defaults to CancelWaiter. Thread-safe if `http`,
// `clock` and `wait` are.
class CheckVerifier final : public Verifier {
 public:
  CheckVerifier(net::HttpClient& http, const Clock& clock, WaitFn wait = nullptr);

  Baseline ReadBaseline(const config::Verification& v, CancelToken* cancel) override;
  VerificationResult Verify(const config::Verification& v, const Baseline& baseline,
                            CancelToken* cancel) override;
  using Verifier::Verify;

 private:
  Waiter MakeWaiter(CancelToken* cancel) const;

  net::HttpClient& http_;
  const Clock& clock_;
  WaitFn wait_;
};

// A CheckVerifier over its own CurlHttpClient and SystemClock, for a caller
// with no HttpClient or Clock of its own. Thread-safe.
class DefaultVerifier final : public Verifier {
 public:
  DefaultVerifier() : impl_(http_, clock_) {}

  Baseline ReadBaseline(const config::Verification& v, CancelToken* cancel) override {
    return impl_.ReadBaseline(v, cancel);
  }
  VerificationResult Verify(const config::Verification& v, const Baseline& baseline,
                            CancelToken* cancel) override {
    return impl_.Verify(v, baseline, cancel);
  }
  using Verifier::Verify;

 private:
  net::CurlHttpClient http_;
  SystemClock clock_;
  CheckVerifier impl_;
};

}  // namespace sluice::verify
