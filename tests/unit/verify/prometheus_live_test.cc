// Prometheus checks against a REAL Prometheus 2.x (Debian package
// `prometheus`), started once for this test binary and scraping (every 1s) a
// cpp-httplib exporter whose gauge the tests set. Nothing sleeps blindly:
// readiness and new samples are polled for, with bounded deadlines.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "support/prometheus.h"
#include "verify/prometheus_check.h"
#include "verify/verifier.h"
#include "verify_test_util.h"

namespace sluice::verify {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kGauge = "sluice_test_error_ratio";
constexpr auto kSampleDeadline = seconds(45);  // first sample needs ~5-6 s

// Serves /metrics in the Prometheus text format with one gauge (the test
// sets it) and one counter.
class Exporter {
 public:
  Exporter()
      : exporter_([this] {
          std::lock_guard lock(mu_);
          return std::string("# TYPE ") + kGauge + " gauge\n" + kGauge + " " + gauge_ +
                 "\n# TYPE sluice_test_requests_total counter\n"
                 "sluice_test_requests_total 1234\n";
        }) {}
  void Set(const std::string& v) {
    std::lock_guard lock(mu_);
    gauge_ = v;
  }
  std::string Target() const { return exporter_.Target(); }

 private:
  std::mutex mu_;
  std::string gauge_ = "0";
  sluice::testing::MetricsExporter exporter_;  // last: stops serving before mu_ goes
};

class PrometheusLiveTest : public ::testing::Test {
 protected:
  // Once per test binary: the exporter and Prometheus outlive every test of
  // the suite.
  static void SetUpTestSuite() {
    exporter_ = std::make_unique<Exporter>();
    prometheus_ = std::make_unique<sluice::testing::PrometheusServer>(
        std::vector<std::string>{exporter_->Target()});
  }
  static void TearDownTestSuite() {
    prometheus_.reset();
    exporter_.reset();
  }

  void SetUp() override {
    if (!prometheus_->ready()) GTEST_FAIL() << "prometheus is not running";
  }

  // Sets the exported gauge and polls Prometheus until its newest sample
  // has that value (the next scrape, within ~1 s; the very first sample of
  // a fresh Prometheus takes ~5-6 s).
  static void SetGaugeAndWait(const std::string& v) {
    exporter_->Set(v);
    ASSERT_TRUE(prometheus_->WaitForValue(kGauge, std::stod(v), kSampleDeadline));
  }

  // Checks here never need to back off: a wait is a test failure.
  static Waiter NoWait() {
    return [](milliseconds d) {
      ADD_FAILURE() << "unexpected retry wait of " << d.count() << " ms";
      return false;
    };
  }

  static config::PrometheusCheck Check(const std::string& query) {
    config::PrometheusCheck c;
    c.url = prometheus_->Url();
    c.query = query;
    return c;
  }

  static inline std::unique_ptr<Exporter> exporter_;
  static inline std::unique_ptr<sluice::testing::PrometheusServer> prometheus_;
  static inline net::CurlHttpClient http_;
};

TEST_F(PrometheusLiveTest, HealthyValuePassesMax) {
  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0.002"));
  config::PrometheusCheck c = Check(kGauge);
  c.max = 0.01;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.value, 0.002);
  EXPECT_EQ(r.detail, "0.002 (within max 0.01)");
}

TEST_F(PrometheusLiveTest, BadValueFailsWithTheMeasuredValue) {
  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0.25"));
  config::PrometheusCheck c = Check(kGauge);
  c.max = 0.01;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.value, 0.25);
  EXPECT_EQ(r.detail, "0.25 > max 0.01");
}

TEST_F(PrometheusLiveTest, BaselineRatioPassesAndFailsThroughTheVerifier) {
  FakeClock clock{std::chrono::system_clock::now()};
  CheckVerifier verifier(http_, clock, [](milliseconds d, CancelToken*) {
    ADD_FAILURE() << "unexpected wait of " << d.count() << " ms";
    return false;
  });
  config::Verification v;
  v.checks.push_back(
      config::VerificationCheck{std::nullopt, Check("sum(" + std::string(kGauge) + ")")});
  v.checks[0].prometheus->max_ratio_to_baseline = 1.5;

  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0.01"));
  Baseline base = verifier.ReadBaseline(v, nullptr);
  ASSERT_EQ(base.entries.size(), 1u);
  ASSERT_EQ(base.entries[0].reading.value, 0.01) << base.entries[0].reading.error;

  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0.012"));
  VerificationResult ok = verifier.Verify(v, base, nullptr);
  EXPECT_TRUE(ok.ok) << ok.reason;
  ASSERT_EQ(ok.checks.size(), 1u);
  EXPECT_EQ(ok.checks[0].detail, "0.012 (within 1.5 x baseline 0.01 = 0.015)");

  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0.03"));
  VerificationResult bad = verifier.Verify(v, base, nullptr);
  EXPECT_FALSE(bad.ok);
  ASSERT_EQ(bad.checks.size(), 1u);
  EXPECT_EQ(bad.checks[0].value, 0.03);
  EXPECT_NE(bad.reason.find("0.03 > 1.5 x baseline 0.01 = 0.015"), std::string::npos) << bad.reason;
}

TEST_F(PrometheusLiveTest, ScalarResultAndMin) {
  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0.5"));
  config::PrometheusCheck c = Check("scalar(" + std::string(kGauge) + ") * 4");
  c.min = 1;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.value, 2);
}

TEST_F(PrometheusLiveTest, CounterSeriesIsJudged) {
  ASSERT_NO_FATAL_FAILURE(SetGaugeAndWait("0"));  // the first scrape has landed
  config::PrometheusCheck c = Check("sluice_test_requests_total");
  c.min = 1000;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.value, 1234);
}

TEST_F(PrometheusLiveTest, UnknownMetricFailsWithNoSeries) {
  config::PrometheusCheck c = Check("sluice_test_error_ratoi");  // a typo
  c.max = 0.01;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("query returned no series"), std::string::npos) << r.detail;
}

TEST_F(PrometheusLiveTest, InvalidQueryIsRejectedWithoutRetry) {
  config::PrometheusCheck c = Check("sum(rate(");
  c.max = 0.01;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("HTTP 400"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("bad_data"), std::string::npos) << r.detail;
}

TEST_F(PrometheusLiveTest, RangeVectorIsRejected) {
  config::PrometheusCheck c = Check(std::string(kGauge) + "[1m]");
  c.max = 1;
  CheckResult r = RunPrometheusCheck(http_, c, nullptr, NoWait());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("range vector"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace sluice::verify
