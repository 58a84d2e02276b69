// The Notifier against real loopback receivers (cpp-httplib) over libcurl,
// with a FakeClock that the waiter moves instead of sleeping.
#include "notify/notifier.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/time_format.h"
#include "notify/payload.h"
#include "server/metrics.h"
#include "server/webhooks.h"
#include "support/http_receiver.h"
#include "support/temp_dir.h"

namespace sluice::notify {
namespace {

using nlohmann::json;
using sluice::testing::Receiver;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Instead of sleeping until a retry is due, jumps the fake clock there and
// remembers each wait (relative to the clock when asked).
class AdvancingWaiter final : public Waiter {
 public:
  explicit AdvancingWaiter(FakeClock& clock) : clock_(clock) {}
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    if (deadline == TimePoint::max()) {
      cv.wait(lock);
      return;
    }
    TimePoint now = clock_.Now();
    if (deadline > now) {
      std::lock_guard g(mu_);
      waits_.push_back(std::chrono::duration_cast<milliseconds>(deadline - now));
      clock_.Set(deadline);
    }
  }
  std::vector<milliseconds> waits() const {
    std::lock_guard g(mu_);
    return waits_;
  }

 private:
  FakeClock& clock_;
  mutable std::mutex mu_;
  std::vector<milliseconds> waits_;
};

// Time that stands still: a wait for a retry ends only when the notifier is
// woken (Shutdown), never because the deadline passed. For tests where the
// retry must still be pending when the test acts.
class HoldingWaiter final : public Waiter {
 public:
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint) override {
    cv.wait(lock);
  }
};

record::Event Sample(record::EventKind kind, const std::string& app = "api") {
  record::Event e;
  e.time = *ParseRfc3339("2026-11-24T10:00:00Z");
  e.env = "prod";
  e.app = app;
  e.kind = kind;
  e.digest = "sha256:" + std::string(64, 'b');
  e.version = "2.5.3";
  e.commit = std::string(40, 'c');
  e.reason = "all checks passed";
  return e;
}

std::shared_ptr<const Target> Webhook(const std::string& url, const std::string& secret = "") {
  auto t = std::make_shared<Target>();
  t->kind = Target::Kind::kWebhook;
  t->url = url;
  t->secret = secret;
  t->name = "webhook " + RedactedTargetUrl(t->kind, url);
  return t;
}

std::shared_ptr<const Target> Slack(const std::string& url) {
  auto t = std::make_shared<Target>();
  t->kind = Target::Kind::kSlack;
  t->url = url;
  t->name = "slack " + RedactedTargetUrl(t->kind, url);
  return t;
}

class NotifierTest : public ::testing::Test {
 protected:
  NotifierTest() : clock_(*ParseRfc3339("2026-11-24T10:00:00Z")), waiter_(clock_) {}

  std::unique_ptr<Notifier> Make(NotifierOptions o = {}) {
    auto n = std::make_unique<Notifier>(http_, clock_, waiter_, o);
    return n;
  }

  net::CurlHttpClient http_;
  FakeClock clock_;
  AdvancingWaiter waiter_;
};

TEST_F(NotifierTest, PostsTheSlackPayloadToTheIncomingWebhook) {
  Receiver slack;
  auto n = Make();
  n->Start();
  n->Notify(Sample(record::EventKind::kVerified), {Slack(slack.Url("/services/T1/B2/SECRET"))},
            "https://github.com/shop/envs/commit/" + std::string(40, 'c'));
  ASSERT_TRUE(slack.WaitForRequests(1));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  auto req = slack.Requests().at(0);
  EXPECT_EQ(req.path, "/services/T1/B2/SECRET");
  EXPECT_EQ(req.Header("Content-Type"), "application/json");
  json j = json::parse(req.body);
  EXPECT_EQ(j["text"], "prod/api 2.5.3 verified: all checks passed");
  EXPECT_EQ(j["blocks"][1]["fields"][0]["text"], "*Environment*\nprod");
  EXPECT_EQ(j["blocks"][1]["fields"][5]["text"], "*Commit*\n<https://github.com/shop/envs/commit/" +
                                                     std::string(40, 'c') + "|cccccccccccc>");
  EXPECT_EQ(n->Snapshot().sent["verified"], 1u);
}

TEST_F(NotifierTest, WebhookBodyIsTheEventAndCarriesAValidSignature) {
  Receiver hook;
  auto n = Make();
  n->Start();
  n->Notify(Sample(record::EventKind::kApplied), {Webhook(hook.Url("/sluice"), "hook-key")}, "");
  ASSERT_TRUE(hook.WaitForRequests(1));
  auto req = hook.Requests().at(0);
  // A receiver verifies exactly as the docs say: HMAC-SHA256 of the raw body.
  EXPECT_EQ(req.Header("X-Sluice-Signature-256"),
            "sha256=" + server::HmacSha256Hex("hook-key", req.body));
  EXPECT_TRUE(server::ConstantTimeEquals(req.Header("X-Sluice-Signature-256"),
                                         "sha256=" + server::HmacSha256Hex("hook-key", req.body)));
  EXPECT_NE(req.Header("X-Sluice-Signature-256"),
            "sha256=" + server::HmacSha256Hex("other-key", req.body));
  EXPECT_EQ(req.Header("X-Sluice-Event"), "applied");
  json j = json::parse(req.body);
  EXPECT_EQ(j["delivery"], req.Header("X-Sluice-Delivery"));
  EXPECT_EQ(j["event"]["event"], "applied");
  EXPECT_EQ(j["event"]["env"], "prod");
  EXPECT_EQ(j["event"]["app"], "api");
  EXPECT_EQ(j["event"]["version"], "2.5.3");
}

TEST_F(NotifierTest, UnsignedWhenNoSecretIsConfigured) {
  Receiver hook;
  auto n = Make();
  n->Start();
  n->Notify(Sample(record::EventKind::kFailed), {Webhook(hook.Url("/x"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(1));
  EXPECT_EQ(hook.Requests()[0].Header("X-Sluice-Signature-256"), "");
}

TEST_F(NotifierTest, WaitingAndApplyingAreNotSent) {
  Receiver hook;
  auto n = Make();
  n->Start();
  n->Notify(Sample(record::EventKind::kWaiting), {Webhook(hook.Url("/x"))}, "");
  n->Notify(Sample(record::EventKind::kApplying), {Webhook(hook.Url("/x"))}, "");
  n->Notify(Sample(record::EventKind::kBlocked), {Webhook(hook.Url("/x"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(1));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  ASSERT_EQ(hook.Requests().size(), 1u);
  EXPECT_EQ(hook.Requests()[0].Header("X-Sluice-Event"), "blocked");
}

TEST_F(NotifierTest, A500IsRetriedAfterABackoffThenCountedAsSent) {
  Receiver hook([](size_t n, httplib::Response& res) {
    if (n == 0) res.status = 500;
  });
  auto n = Make();
  n->Start();
  n->Notify(Sample(record::EventKind::kVerified), {Webhook(hook.Url("/x"), "k")}, "");
  ASSERT_TRUE(hook.WaitForRequests(2));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  auto reqs = hook.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  // The same delivery: same body, same id, same signature.
  EXPECT_EQ(reqs[0].body, reqs[1].body);
  EXPECT_EQ(reqs[0].Header("X-Sluice-Delivery"), reqs[1].Header("X-Sluice-Delivery"));
  EXPECT_EQ(waiter_.waits(), std::vector<milliseconds>{seconds(1)});
  Stats s = n->Snapshot();
  EXPECT_EQ(s.sent["verified"], 1u);
  EXPECT_EQ(s.failed["verified"], 0u);
  EXPECT_EQ(s.retries, 1u);
}

TEST_F(NotifierTest, AReceiverThatAlwaysFailsIsGivenUpOnWithExponentialBackoffAndCounted) {
  Receiver hook([](size_t, httplib::Response& res) { res.status = 503; });
  NotifierOptions o;
  o.max_attempts = 4;
  auto n = Make(o);
  n->Start();
  n->Notify(Sample(record::EventKind::kFailed), {Webhook(hook.Url("/x"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(4));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  EXPECT_EQ(hook.Requests().size(), 4u);
  EXPECT_EQ(waiter_.waits(), (std::vector<milliseconds>{seconds(1), seconds(2), seconds(4)}));
  Stats s = n->Snapshot();
  EXPECT_EQ(s.sent["failed"], 0u);
  EXPECT_EQ(s.failed["failed"], 1u);
  EXPECT_EQ(s.queue_depth, 0u);

  // And /metrics says so.
  server::Metrics metrics("1.0");
  metrics.SetNotificationSource([&n] { return n->Snapshot(); });
  std::string text = metrics.Render();
  EXPECT_NE(text.find("sluice_notifications_failed_total{kind=\"failed\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_notifications_sent_total{kind=\"verified\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_notifications_retries_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_notifications_dropped_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_notifications_queue_depth 0\n"), std::string::npos);
}

TEST_F(NotifierTest, TooManyRequestsWaitsWhatRetryAfterSays) {
  Receiver hook([](size_t n, httplib::Response& res) {
    if (n == 0) {
      res.status = 429;
      res.set_header("Retry-After", "30");
    }
  });
  auto n = Make();
  n->Start();
  TimePoint t0 = clock_.Now();
  n->Notify(Sample(record::EventKind::kBlocked), {Webhook(hook.Url("/x"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(2));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  EXPECT_EQ(waiter_.waits(), std::vector<milliseconds>{seconds(30)});
  EXPECT_EQ(clock_.Now() - t0, seconds(30));
  EXPECT_EQ(n->Snapshot().sent["blocked"], 1u);
}

TEST_F(NotifierTest, ARetryAfterBeyondTheCapIsCapped) {
  Receiver hook([](size_t n, httplib::Response& res) {
    if (n == 0) {
      res.status = 429;
      res.set_header("Retry-After", "86400");
    }
  });
  NotifierOptions o;
  o.max_retry_after = seconds(120);
  auto n = Make(o);
  n->Start();
  n->Notify(Sample(record::EventKind::kBlocked), {Webhook(hook.Url("/x"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(2));
  EXPECT_EQ(waiter_.waits(), std::vector<milliseconds>{seconds(120)});
}

TEST_F(NotifierTest, AClientErrorIsNotRetried) {
  Receiver hook([](size_t, httplib::Response& res) { res.status = 404; });
  auto n = Make();
  n->Start();
  n->Notify(Sample(record::EventKind::kApplied), {Webhook(hook.Url("/gone"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(1));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  EXPECT_EQ(hook.Requests().size(), 1u);
  EXPECT_EQ(n->Snapshot().failed["applied"], 1u);
  EXPECT_TRUE(waiter_.waits().empty());
}

TEST_F(NotifierTest, AFullQueueDropsTheOldestAndCountsIt) {
  Receiver hook;
  NotifierOptions o;
  o.capacity = 2;
  auto n = Make(o);
  // Not started yet: the queue fills up.
  n->Notify(Sample(record::EventKind::kApplied, "one"), {Webhook(hook.Url("/x"))}, "");
  n->Notify(Sample(record::EventKind::kApplied, "two"), {Webhook(hook.Url("/x"))}, "");
  n->Notify(Sample(record::EventKind::kApplied, "three"), {Webhook(hook.Url("/x"))}, "");
  EXPECT_EQ(n->Snapshot().dropped, 1u);
  EXPECT_EQ(n->Snapshot().queue_depth, 2u);
  n->Start();
  ASSERT_TRUE(hook.WaitForRequests(2));
  ASSERT_TRUE(n->WaitIdle(seconds(20)));
  auto reqs = hook.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(json::parse(reqs[0].body)["event"]["app"], "two");
  EXPECT_EQ(json::parse(reqs[1].body)["event"]["app"], "three");
}

TEST_F(NotifierTest, ShutdownDeliversWhatIsQueuedThenStops) {
  Receiver hook;
  auto n = Make();
  for (const char* app : {"a", "b", "c"}) {
    n->Notify(Sample(record::EventKind::kVerified, app), {Webhook(hook.Url("/x"))}, "");
  }
  n->Start();
  n->Shutdown(seconds(10));
  EXPECT_EQ(hook.Requests().size(), 3u);
  EXPECT_EQ(n->Snapshot().sent["verified"], 3u);
  // After shutdown nothing is accepted.
  n->Notify(Sample(record::EventKind::kVerified), {Webhook(hook.Url("/x"))}, "");
  EXPECT_EQ(n->Snapshot().dropped, 1u);
  EXPECT_EQ(hook.Requests().size(), 3u);
}

TEST_F(NotifierTest, ShutdownGivesUpOnRetriesThatFallDueAfterTheDrain) {
  Receiver hook([](size_t, httplib::Response& res) { res.status = 500; });
  NotifierOptions o;
  o.initial_backoff = seconds(60);
  // The advancing waiter would jump to the retry before Shutdown is called;
  // here the clock stands still until Shutdown wakes the worker.
  HoldingWaiter holding;
  auto n = std::make_unique<Notifier>(http_, clock_, holding, o);
  n->Start();
  n->Notify(Sample(record::EventKind::kFailed), {Webhook(hook.Url("/x"))}, "");
  ASSERT_TRUE(hook.WaitForRequests(1));
  n->Shutdown(seconds(10));  // the retry would be due in 60 s
  EXPECT_EQ(hook.Requests().size(), 1u);
  Stats s = n->Snapshot();
  EXPECT_EQ(s.failed["failed"], 1u);
  EXPECT_EQ(s.queue_depth, 0u);
}

TEST_F(NotifierTest, TheSlackUrlNeverAppearsInLogs) {
  std::ostringstream logs;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  spdlog::set_level(spdlog::level::debug);
  {
    // Nothing listens on that port: connection refused, retried, given up.
    int port = sluice::testing::FreePort();
    NotifierOptions o;
    o.max_attempts = 2;
    auto n = Make(o);
    n->Start();
    n->Notify(Sample(record::EventKind::kFailed),
              {Slack("http://127.0.0.1:" + std::to_string(port) + "/services/T9/B9/TOPSECRET")},
              "");
    n->Shutdown(seconds(30));
    EXPECT_EQ(n->Snapshot().failed["failed"], 1u);
  }
  spdlog::set_default_logger(previous);
  std::string text = logs.str();
  EXPECT_NE(text.find("failed after 2 attempts"), std::string::npos) << text;
  EXPECT_NE(text.find("slack http://127.0.0.1:"), std::string::npos) << text;
  EXPECT_EQ(text.find("TOPSECRET"), std::string::npos) << text;
  EXPECT_EQ(text.find("/services/"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::notify
