// Prometheus checks against a REAL Prometheus 2.x (Debian package
// `prometheus`), started once for this test binary and scraping (every 1s) a
// cpp-httplib exporter whose gauge the tests set. Nothing sleeps blindly:
// readiness and new samples are polled for, with bounded deadlines.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "support/temp_dir.h"
#include "verify/prometheus_check.h"
#include "verify/verifier.h"
#include "verify_test_util.h"

namespace bp = boost::process;

namespace sluice::verify {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kGauge = "sluice_test_error_ratio";
constexpr auto kSampleDeadline = seconds(45);  // first sample needs ~5-6 s
constexpr auto kPollEvery = milliseconds(100);

// Serves /metrics in the Prometheus text format with one gauge and one
// counter whose values the test sets.
class Exporter {
 public:
  Exporter() {
    server_.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      res.set_content(std::string("# TYPE ") + kGauge + " gauge\n" + kGauge + " " + gauge_ +
                          "\n# TYPE sluice_test_requests_total counter\n"
                          "sluice_test_requests_total 1234\n",
                      "text/plain; version=0.0.4");
    });
    server_.Start();
  }
  void Set(const std::string& v) {
    std::lock_guard lock(mu_);
    gauge_ = v;
  }
  int port() const { return server_.port(); }

 private:
  testing::LoopbackServer server_;
  std::mutex mu_;
  std::string gauge_ = "0";
};

// A prometheus child process with its own config and TSDB in a temp dir.
class PrometheusServer {
 public:
  explicit PrometheusServer(int exporter_port) {
    std::string exe = bp::search_path("prometheus").string();
    if (exe.empty()) {
      ADD_FAILURE() << "prometheus not found on PATH: install the Debian package `prometheus` "
                       "(scripts/install-deps.sh does)";
      return;
    }
    sluice::testing::WriteFile(dir_.Sub("prometheus.yml"),
                               "global:\n"
                               "  scrape_interval: 1s\n"
                               "  evaluation_interval: 1s\n"
                               "scrape_configs:\n"
                               "  - job_name: sluice-test\n"
                               "    static_configs:\n"
                               "      - targets: ['127.0.0.1:" +
                                   std::to_string(exporter_port) + "']\n");
    for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
      port_ = sluice::testing::FreePort();
      try {
        child_ = bp::child(
            exe,
            bp::args({"--config.file=" + dir_.Sub("prometheus.yml"),
                      "--storage.tsdb.path=" + dir_.Sub("data-" + std::to_string(attempt)),
                      "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                      "--log.level=warn"}),
            bp::std_in.close(), bp::std_out > dir_.Sub("prometheus.out"),
            bp::std_err > dir_.Sub("prometheus.err"));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cannot start prometheus: " << e.what();
        return;
      }
      ready_ = PollReady();
      if (!ready_) Stop();
    }
    if (!ready_) {
      ADD_FAILURE() << "prometheus did not become ready; its log:\n"
                    << sluice::testing::ReadFile(dir_.Sub("prometheus.err"));
    }
  }
  ~PrometheusServer() { Stop(); }

  bool ready() const { return ready_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return sluice::testing::ReadFile(dir_.Sub("prometheus.err")); }

 private:
  bool PollReady() {
    net::CurlHttpClient http;
    net::HttpRequest req;
    req.url = Url() + "/-/ready";
    req.timeout = seconds(1);
    auto deadline = std::chrono::steady_clock::now() + seconds(20);
    std::error_code ec;
    while (std::chrono::steady_clock::now() < deadline && child_.running(ec)) {
      auto res = http.Send(req);
      if (res.ok() && res->status == 200) return true;
      std::this_thread::sleep_for(kPollEvery);  // polling interval, not synchronisation
    }
    return false;
  }

  // SIGTERM, then SIGKILL if it lingers; always reaped.
  void Stop() {
    if (!child_.valid()) return;
    std::error_code ec;
    if (child_.running(ec)) {
      ::kill(child_.id(), SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + seconds(10);
      while (child_.running(ec) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
      }
      if (child_.running(ec)) child_.terminate(ec);
    }
    child_.wait(ec);
    child_ = bp::child();
  }

  sluice::testing::TempDir dir_;
  bp::child child_;
  int port_ = 0;
  bool ready_ = false;
};

class PrometheusLiveTest : public ::testing::Test {
 protected:
  // Once per test binary: the exporter and Prometheus outlive every test of
  // the suite.
  static void SetUpTestSuite() {
    exporter_ = std::make_unique<Exporter>();
    prometheus_ = std::make_unique<PrometheusServer>(exporter_->port());
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
    const double want = std::stod(v);
    auto deadline = std::chrono::steady_clock::now() + kSampleDeadline;
    std::string last = "(no answer)";
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = QueryPrometheus(http_, prometheus_->Url(), kGauge, NoWait());
      if (r.ok() && r->samples.size() == 1) {
        if (r->samples[0].value == want) return;
        last = FormatValue(r->samples[0].value);
      } else if (!r.ok()) {
        last = r.status().ToString();
      } else {
        last = std::to_string(r->samples.size()) + " series";
      }
      std::this_thread::sleep_for(kPollEvery);  // polling interval, not synchronisation
    }
    FAIL() << "Prometheus never reported " << kGauge << " = " << v << "; last: " << last << "\n"
           << prometheus_->Log();
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
  static inline std::unique_ptr<PrometheusServer> prometheus_;
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
