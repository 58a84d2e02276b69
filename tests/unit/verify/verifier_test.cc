// CheckVerifier's rounds, duration accounting, early failure, baselines and
// cancellation, on a FakeClock with a waiter that advances it: no real
// waiting, no network.
#include "verify/verifier.h"

#include <gtest/gtest.h>

#include <atomic>

#include "verify_test_util.h"

namespace sluice::verify {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::FakeHttpClient;
using testing::PromVector;
using testing::Response;

const TimePoint kStart =
    std::chrono::sys_days{std::chrono::year{2026} / 3 / 10} + std::chrono::hours(12);

config::VerificationCheck Http(const std::string& url, int retries = 0) {
  config::VerificationCheck c;
  c.http = config::HttpCheck{};
  c.http->url = url;
  c.http->retries = retries;
  return c;
}

config::VerificationCheck Prom(std::optional<double> max, std::optional<double> ratio) {
  config::VerificationCheck c;
  c.prometheus = config::PrometheusCheck{};
  c.prometheus->url = "http://prom:9090";
  c.prometheus->query = "sum(rate(errors[5m]))";
  c.prometheus->max = max;
  c.prometheus->max_ratio_to_baseline = ratio;
  return c;
}

config::Verification Spec(milliseconds duration, milliseconds interval,
                          std::vector<config::VerificationCheck> checks) {
  config::Verification v;
  v.duration = duration;
  v.interval = interval;
  v.checks = std::move(checks);
  return v;
}

class VerifierTest : public ::testing::Test {
 protected:
  // The scripted world: the health endpoint answers `health_status_`, and
  // Prometheus answers `prom_value_`.
  FakeHttpClient http_{[this](const net::HttpRequest& req) -> Result<net::HttpResponse> {
    if (req.url.find("/api/v1/query") != std::string::npos) {
      return Response(200, PromVector(prom_value_));
    }
    ++health_calls_;
    if (health_script_) return Response(health_script_(health_calls_));
    return Response(200, "ok");
  }};
  std::function<long(int call)> health_script_;
  int health_calls_ = 0;
  std::string prom_value_ = "0.001";

  FakeClock clock_{kStart};
  std::vector<milliseconds> waits_;
  // Advances the clock by what was asked; reports cancellation like the
  // real waiter does.
  CheckVerifier verifier_{http_, clock_, [this](milliseconds d, CancelToken* cancel) {
                            waits_.push_back(d);
                            clock_.Advance(d);
                            return cancel != nullptr && cancel->cancelled();
                          }};
};

TEST_F(VerifierTest, NoChecksVerifiesAtOnce) {
  VerificationResult r = verifier_.Verify(config::Verification{}, Baseline{}, nullptr);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.rounds, 0);
  EXPECT_NE(r.reason.find("no verification checks configured"), std::string::npos);
  EXPECT_TRUE(http_.urls().empty());
}

TEST_F(VerifierTest, ZeroDurationRunsOneRound) {
  VerificationResult r = verifier_.Verify(
      Spec(milliseconds(0), seconds(30), {Http("http://api/health"), Prom(0.01, std::nullopt)}),
      Baseline{}, nullptr);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.rounds, 1);
  EXPECT_TRUE(waits_.empty());
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].name, "http http://api/health");
  EXPECT_TRUE(r.checks[0].ok);
  EXPECT_EQ(r.checks[1].value, 0.001);
  EXPECT_EQ(r.checks[1].detail, "0.001 (within max 0.01)");
  EXPECT_EQ(r.reason, "verified: 2 checks passed in 1 round");
}

TEST_F(VerifierTest, RunsEveryIntervalUntilTheDurationHasPassed) {
  VerificationResult r = verifier_.Verify(
      Spec(minutes(2), seconds(30), {Http("http://api/health")}), Baseline{}, nullptr);
  EXPECT_TRUE(r.ok) << r.reason;
  // Rounds at 0, 30s, 60s, 90s and at the end, 120s.
  EXPECT_EQ(r.rounds, 5);
  EXPECT_EQ(health_calls_, 5);
  EXPECT_EQ(waits_, std::vector<milliseconds>(4, seconds(30)));
  EXPECT_EQ(clock_.Now(), kStart + minutes(2));
  EXPECT_EQ(r.reason, "verified: 1 check passed in 5 rounds over 2m");
}

TEST_F(VerifierTest, TheLastRoundRunsAtTheEndOfTheDuration) {
  VerificationResult r = verifier_.Verify(
      Spec(seconds(45), seconds(30), {Http("http://api/health")}), Baseline{}, nullptr);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.rounds, 3);
  EXPECT_EQ(waits_, (std::vector<milliseconds>{seconds(30), seconds(15)}));
}

TEST_F(VerifierTest, SlowChecksCountAgainstTheInterval) {
  // Each request takes 10s of clock time: the verifier waits only the rest.
  FakeHttpClient slow([this](const net::HttpRequest&) -> Result<net::HttpResponse> {
    clock_.Advance(seconds(10));
    return Response(200);
  });
  std::vector<milliseconds> waits;
  CheckVerifier v(slow, clock_, [&](milliseconds d, CancelToken*) {
    waits.push_back(d);
    clock_.Advance(d);
    return false;
  });
  VerificationResult r =
      v.Verify(Spec(minutes(1), seconds(30), {Http("http://api/health")}), Baseline{}, nullptr);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.rounds, 3);  // at 0, 30s, 60s
  EXPECT_EQ(waits, (std::vector<milliseconds>{seconds(20), seconds(20)}));
}

TEST_F(VerifierTest, ReturnsAtTheFirstFailureWithoutWaitingOutTheDuration) {
  health_script_ = [](int call) { return call <= 2 ? 200L : 503L; };
  VerificationResult r = verifier_.Verify(
      Spec(minutes(30), seconds(30), {Http("http://api/health"), Prom(0.01, std::nullopt)}),
      Baseline{}, nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.rounds, 3);
  EXPECT_EQ(clock_.Now(), kStart + minutes(1));
  EXPECT_EQ(r.reason,
            "verification failed: http http://api/health: 503 (expected 200) after 1 attempt "
            "(round 3, 1m into 30m)");
  // The failed round stops at the failing check.
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_FALSE(r.checks[0].ok);
}

TEST_F(VerifierTest, HttpRetriesInsideARoundUseTheWaiter) {
  health_script_ = [](int call) { return call == 1 ? 503L : 200L; };
  VerificationResult r = verifier_.Verify(
      Spec(milliseconds(0), seconds(30), {Http("http://api/health", 3)}), Baseline{}, nullptr);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(waits_, (std::vector<milliseconds>{seconds(1)}));
}

TEST_F(VerifierTest, BadMetricFailsWithTheMeasuredValue) {
  prom_value_ = "0.2";
  VerificationResult r = verifier_.Verify(Spec(minutes(5), seconds(30), {Prom(0.01, std::nullopt)}),
                                          Baseline{}, nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.rounds, 1);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].value, 0.2);
  EXPECT_NE(r.reason.find("0.2 > max 0.01"), std::string::npos) << r.reason;
}

TEST_F(VerifierTest, BaselineIsReadBeforeTheApplyAndComparedAfter) {
  const config::Verification v = Spec(milliseconds(0), seconds(30), {Prom(std::nullopt, 1.5)});
  prom_value_ = "0.01";
  Baseline base = verifier_.ReadBaseline(v, nullptr);
  ASSERT_EQ(base.entries.size(), 1u);
  EXPECT_EQ(base.entries[0].reading.value, 0.01);

  prom_value_ = "0.012";  // after the apply: 1.2x
  VerificationResult ok = verifier_.Verify(v, base, nullptr);
  EXPECT_TRUE(ok.ok) << ok.reason;
  prom_value_ = "0.02";  // 2x
  VerificationResult bad = verifier_.Verify(v, base, nullptr);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.reason.find("0.02 > 1.5 x baseline 0.01 = 0.015"), std::string::npos) << bad.reason;
}

TEST_F(VerifierTest, ReadBaselineOnlyQueriesRatioChecks) {
  Baseline base = verifier_.ReadBaseline(
      Spec(milliseconds(0), seconds(30), {Http("http://api/health"), Prom(0.01, std::nullopt)}),
      nullptr);
  EXPECT_TRUE(base.entries.empty());
  EXPECT_TRUE(http_.urls().empty());
}

TEST_F(VerifierTest, WithoutABaselineARatioCheckFails) {
  VerificationResult r =
      verifier_.Verify(Spec(milliseconds(0), seconds(30), {Prom(std::nullopt, 1.5)}), nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("no baseline was read before the apply"), std::string::npos);
}

TEST_F(VerifierTest, CancelDuringTheIntervalWaitInterrupts) {
  CancelToken cancel;
  int waits = 0;
  CheckVerifier v(http_, clock_, [&](milliseconds d, CancelToken* c) {
    clock_.Advance(d);
    if (++waits == 2) c->Cancel();
    return c->cancelled();
  });
  VerificationResult r =
      v.Verify(Spec(minutes(30), seconds(30), {Http("http://api/health")}), Baseline{}, &cancel);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.rounds, 2);
  EXPECT_NE(r.reason.find("interrupted"), std::string::npos) << r.reason;
}

TEST_F(VerifierTest, AlreadyCancelledRunsNothing) {
  CancelToken cancel;
  cancel.Cancel();
  VerificationResult r = verifier_.Verify(
      Spec(minutes(1), seconds(30), {Http("http://api/health")}), Baseline{}, &cancel);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.rounds, 0);
  EXPECT_TRUE(http_.urls().empty());
}

TEST_F(VerifierTest, AnEarlyWakeDoesNotShortenTheInterval) {
  // The first wait ends after 10s (a Wake() on the token); the verifier
  // waits again for the 20s left, by the clock.
  std::vector<milliseconds> waits;
  CheckVerifier v(http_, clock_, [&](milliseconds d, CancelToken*) {
    waits.push_back(d);
    clock_.Advance(waits.size() == 1 ? seconds(10) : d);
    return false;
  });
  VerificationResult r =
      v.Verify(Spec(seconds(30), seconds(30), {Http("http://api/health")}), Baseline{}, nullptr);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.rounds, 2);
  EXPECT_EQ(waits, (std::vector<milliseconds>{seconds(30), seconds(20)}));
}

TEST(RealWaiterTest, CancelWaiterReturnsEarlyOnCancel) {
  CancelToken cancel;
  cancel.Cancel();
  Waiter w = CancelWaiter(&cancel);
  EXPECT_TRUE(w(std::chrono::hours(1)));  // returns at once: already cancelled
}

TEST_F(VerifierTest, InitialDelayWaitsBeforeTheFirstRoundAndDoesNotEatTheWindow) {
  std::vector<TimePoint> checked_at;
  health_script_ = [this, &checked_at](int) {
    checked_at.push_back(clock_.Now());
    return 200L;
  };
  config::Verification spec = Spec(minutes(1), seconds(30), {Http("http://api/health")});
  spec.initial_delay = seconds(20);
  VerificationResult r = verifier_.Verify(spec, Baseline{}, nullptr);
  EXPECT_TRUE(r.ok) << r.reason;
  // Settle 20s, then rounds at 20s, 50s and 80s: the window is a full minute.
  EXPECT_EQ(waits_, (std::vector<milliseconds>{seconds(20), seconds(30), seconds(30)}));
  ASSERT_EQ(checked_at.size(), 3u);
  EXPECT_EQ(checked_at.front(), kStart + seconds(20));
  EXPECT_EQ(checked_at.back(), kStart + seconds(80));
  EXPECT_EQ(r.reason, "verified: 1 check passed in 3 rounds over 1m");
}

TEST_F(VerifierTest, CancelDuringTheInitialDelayRunsNoCheck) {
  CancelToken cancel;
  CheckVerifier v(http_, clock_, [&](milliseconds d, CancelToken* c) {
    clock_.Advance(d / 2);
    c->Cancel();
    return true;
  });
  config::Verification spec = Spec(minutes(1), seconds(30), {Http("http://api/health")});
  spec.initial_delay = seconds(20);
  VerificationResult r = v.Verify(spec, Baseline{}, &cancel);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.rounds, 0);
  EXPECT_TRUE(http_.urls().empty());
  EXPECT_NE(r.reason.find("during the initial delay of 20s"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace sluice::verify
