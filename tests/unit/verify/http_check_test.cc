// RunHttpCheck against a real HTTP server on loopback (cpp-httplib) through
// the real CurlHttpClient; backoff waits go through a recording waiter, so
// nothing sleeps.
#include "verify/http_check.h"

#include <gtest/gtest.h>

#include <atomic>

#include "support/temp_dir.h"
#include "verify_test_util.h"

namespace sluice::verify {
namespace {

using std::chrono::milliseconds;
using testing::LoopbackServer;
using testing::RecordingWaiter;

config::HttpCheck Check(const std::string& url, int retries = 0) {
  config::HttpCheck c;
  c.url = url;
  c.retries = retries;
  c.timeout = std::chrono::seconds(5);
  return c;
}

class HttpCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = server_.server();
    s.Get("/ready", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("status: ready", "text/plain");
    });
    s.Get("/down", [this](const httplib::Request&, httplib::Response& res) {
      ++down_calls_;
      res.status = 503;
      res.set_content("warming up", "text/plain");
    });
    s.Get("/flaky", [this](const httplib::Request&, httplib::Response& res) {
      // 503 for the first two calls, then 200.
      if (flaky_calls_++ < 2) {
        res.status = 503;
        return;
      }
      res.set_content("ok", "text/plain");
    });
    s.Get("/created", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    server_.BlockingGet("/hang");
    server_.BlockingGetFirst("/stall-once", 1);
    server_.Start();
  }

  LoopbackServer server_;
  std::atomic<int> down_calls_{0};
  std::atomic<int> flaky_calls_{0};
  RecordingWaiter waiter_;
  net::CurlHttpClient http_;
  Waiter Wait() {
    return [this](milliseconds d) { return waiter_(d); };
  }
};

TEST_F(HttpCheckTest, ExpectedStatusPassesAndReportsLatency) {
  CheckResult r = RunHttpCheck(http_, Check(server_.Url("/ready")), Wait());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.name, "http " + server_.Url("/ready"));
  EXPECT_EQ(r.detail.rfind("200 in ", 0), 0u) << r.detail;
  EXPECT_NE(r.detail.find(" ms"), std::string::npos) << r.detail;
  EXPECT_TRUE(waiter_.waits.empty());
}

TEST_F(HttpCheckTest, OtherExpectedStatusPasses) {
  config::HttpCheck c = Check(server_.Url("/created"));
  c.expect = 204;
  EXPECT_TRUE(RunHttpCheck(http_, c, Wait()).ok);
  c.expect = 200;
  CheckResult r = RunHttpCheck(http_, c, Wait());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("204 (expected 200)"), std::string::npos) << r.detail;
}

TEST_F(HttpCheckTest, FailuresWithinRetriesPassWithExponentialBackoff) {
  CheckResult r = RunHttpCheck(http_, Check(server_.Url("/flaky"), 3), Wait());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("(attempt 3)"), std::string::npos) << r.detail;
  EXPECT_EQ(flaky_calls_.load(), 3);
  EXPECT_EQ(waiter_.waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000)}));
}

TEST_F(HttpCheckTest, AlwaysFailingStatusFailsNamingStatusAndAttempts) {
  CheckResult r = RunHttpCheck(http_, Check(server_.Url("/down"), 2), Wait());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.detail, "503 (expected 200) after 3 attempts");
  EXPECT_EQ(down_calls_.load(), 3);
  EXPECT_EQ(waiter_.waits.size(), 2u);
}

TEST_F(HttpCheckTest, BodyMustContainTheText) {
  config::HttpCheck c = Check(server_.Url("/ready"));
  c.body_contains = "ready";
  EXPECT_TRUE(RunHttpCheck(http_, c, Wait()).ok);
  c.body_contains = "degraded";
  CheckResult r = RunHttpCheck(http_, c, Wait());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "200 but the body does not contain \"degraded\" after 1 attempt");
}

TEST_F(HttpCheckTest, TimeoutFails) {
  config::HttpCheck c = Check(server_.Url("/hang"));
  c.timeout = milliseconds(300);
  CheckResult r = RunHttpCheck(http_, c, Wait());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("Timeout"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("after 1 attempt"), std::string::npos) << r.detail;
}

TEST_F(HttpCheckTest, TimeoutWithinRetriesThenAnswerPasses) {
  config::HttpCheck c = Check(server_.Url("/stall-once"), 2);
  c.timeout = milliseconds(300);
  CheckResult r = RunHttpCheck(http_, c, Wait());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("(attempt 2)"), std::string::npos) << r.detail;
  EXPECT_EQ(waiter_.waits, (std::vector<milliseconds>{milliseconds(1000)}));
}

TEST_F(HttpCheckTest, ConnectionRefusedFailsAfterRetries) {
  const int port = sluice::testing::FreePort();  // nothing listens there
  CheckResult r =
      RunHttpCheck(http_, Check("http://127.0.0.1:" + std::to_string(port) + "/health", 1), Wait());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("IOError"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("after 2 attempts"), std::string::npos) << r.detail;
}

TEST_F(HttpCheckTest, CancellationDuringBackoffStops) {
  int waits = 0;
  CheckResult r = RunHttpCheck(http_, Check(server_.Url("/down"), 5), [&](milliseconds) {
    ++waits;
    return true;  // cancelled
  });
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(waits, 1);
  EXPECT_EQ(down_calls_.load(), 1);
}

TEST(HttpCheckNameTest, CredentialsAreNotShown) {
  config::HttpCheck c;
  c.url = "https://user:secret@api.internal/health";
  EXPECT_EQ(HttpCheckName(c), "http https://api.internal/health");
}

TEST(BackoffDelayTest, DoublesUpToThirtySeconds) {
  EXPECT_EQ(BackoffDelay(1), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(2), milliseconds(2000));
  EXPECT_EQ(BackoffDelay(3), milliseconds(4000));
  EXPECT_EQ(BackoffDelay(5), milliseconds(16000));
  EXPECT_EQ(BackoffDelay(6), milliseconds(30000));
  EXPECT_EQ(BackoffDelay(60), milliseconds(30000));
}

}  // namespace
}  // namespace sluice::verify
