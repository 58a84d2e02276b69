#include "verify/verifier.h"

#include <algorithm>

#include "core/duration.h"
#include "verify/http_check.h"

namespace sluice::verify {
namespace {

using std::chrono::milliseconds;

std::string Checks(size_t n) { return std::to_string(n) + (n == 1 ? " check" : " checks"); }
std::string Rounds(int n) { return std::to_string(n) + (n == 1 ? " round" : " rounds"); }

milliseconds Since(TimePoint from, TimePoint to) {
  return to > from ? std::chrono::duration_cast<milliseconds>(to - from) : milliseconds(0);
}

}  // namespace

const BaselineReading* Baseline::Find(const std::string& url, const std::string& query) const {
  for (const Entry& e : entries) {
    if (e.url == url && e.query == query) return &e.reading;
  }
  return nullptr;
}

CheckVerifier::CheckVerifier(net::HttpClient& http, const Clock& clock, WaitFn wait)
    : http_(http), clock_(clock), wait_(std::move(wait)) {}

Waiter CheckVerifier::MakeWaiter(CancelToken* cancel) const {
  if (!wait_) return CancelWaiter(cancel);
  return [this, cancel](milliseconds d) { return wait_(d, cancel); };
}

Baseline CheckVerifier::ReadBaseline(const config::Verification& v, CancelToken* cancel) {
  Baseline out;
  Waiter wait = MakeWaiter(cancel);
  for (const config::VerificationCheck& c : v.checks) {
    if (!c.prometheus || !c.prometheus->max_ratio_to_baseline) continue;
    const config::PrometheusCheck& p = *c.prometheus;
    if (out.Find(p.url, p.query) != nullptr) continue;  // the same query twice: read once
    if (cancel != nullptr && cancel->cancelled()) {
      out.entries.push_back({p.url, p.query, {std::nullopt, "interrupted before reading"}});
      continue;
    }
    out.entries.push_back({p.url, p.query, ReadPrometheusBaseline(http_, p, wait)});
  }
  return out;
}

VerificationResult CheckVerifier::Verify(const config::Verification& v, const Baseline& baseline,
                                         CancelToken* cancel) {
  VerificationResult r;
  if (v.checks.empty()) {
    r.ok = true;
    r.reason = "no verification checks configured: verified on a successful apply";
    return r;
  }
  Waiter wait = MakeWaiter(cancel);
  // A zero interval would spin; the parser rejects it, this guards other callers.
  const milliseconds interval = v.interval.count() > 0 ? v.interval : milliseconds(30000);
  TimePoint start = clock_.Now();
  TimePoint deadline = start + v.duration;
  auto where = [&](TimePoint round_start) {
    std::string s = "round " + std::to_string(r.rounds);
    if (v.duration.count() > 0) {
      s += ", " + FormatDuration(Since(start, round_start)) + " into " + FormatDuration(v.duration);
    }
    return s;
  };
  auto interrupted = [&](const std::string& when) {
    r.ok = false;
    r.cancelled = true;
    r.reason = "verification interrupted " + when +
               " (controller shutting down); the release is not verified";
    return r;
  };

  // The settling time comes before the window: `duration` counts from the
  // first round. Waited by the clock, like the interval, so an early wake
  // does not shorten it.
  if (v.initial_delay.count() > 0) {
    const TimePoint settle_end = clock_.Now() + v.initial_delay;
    for (TimePoint now = clock_.Now(); now < settle_end; now = clock_.Now()) {
      if (wait(std::chrono::ceil<milliseconds>(settle_end - now))) {
        return interrupted("during the initial delay of " + FormatDuration(v.initial_delay));
      }
    }
  }
  start = clock_.Now();
  deadline = start + v.duration;

  for (;;) {
    if (cancel != nullptr && cancel->cancelled()) {
      return interrupted("before round " + std::to_string(r.rounds + 1));
    }
    const TimePoint round_start = clock_.Now();
    ++r.rounds;
    r.checks.clear();
    for (const config::VerificationCheck& c : v.checks) {
      CheckResult cr;
      if (c.http) {
        cr = RunHttpCheck(http_, *c.http, wait);
      } else if (c.prometheus) {
        const config::PrometheusCheck& p = *c.prometheus;
        cr = RunPrometheusCheck(http_, p, baseline.Find(p.url, p.query), wait);
      } else {
        cr.name = "(empty check)";
        cr.detail = "the check names neither http nor prometheus";
      }
      r.checks.push_back(cr);
      if (cr.cancelled) return interrupted("in " + where(round_start));
      if (!cr.ok) {
        r.reason =
            "verification failed: " + cr.name + ": " + cr.detail + " (" + where(round_start) + ")";
        return r;
      }
    }
    // The round that started at (or after) the end of the duration was the last.
    if (round_start >= deadline) break;
    const TimePoint next = std::min(round_start + interval, deadline);
    // Wait by the clock: a Wake() on the token ends a wait early, so wait again
    // for what is left.
    for (TimePoint now = clock_.Now(); now < next; now = clock_.Now()) {
      milliseconds left = std::chrono::ceil<milliseconds>(next - now);
      if (wait(left)) return interrupted("after " + where(round_start));
    }
  }
  r.ok = true;
  r.reason = "verified: " + Checks(v.checks.size()) + " passed in " + Rounds(r.rounds);
  if (v.duration.count() > 0) r.reason += " over " + FormatDuration(v.duration);
  return r;
}

}  // namespace sluice::verify
