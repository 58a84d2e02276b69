// The HTTP server in-process on a free port, driven over real HTTP (libcurl).
#include "server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>

#include "net/http_client.h"
#include "server/webhooks.h"

namespace sluice::server {
namespace {

constexpr char kSecret[] = "hook-secret";

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(std::string secret = kSecret) {
    ServerOptions o;
    o.listen = {"127.0.0.1", 0};
    o.webhook_secret = std::move(secret);
    o.branch = "main";
    o.interval = std::chrono::seconds(60);
    server_ = std::make_unique<HttpServer>(
        o, metrics_,
        [this]() -> Result<std::string> {
          if (!status_error_.empty()) return Status::IOError(status_error_);
          return std::string(R"([{"env":"dev","app":"api","state":"in-sync"}])");
        },
        [this] { ++wakes_; }, clock_);
    if (delivery_) server_->SetDeliverySource(delivery_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }

  net::HttpResponse Send(const std::string& method, const std::string& path,
                         const std::string& body = "",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest req;
    req.method = method;
    req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    req.body = body;
    req.headers = std::move(headers);
    auto res = http_.Send(req);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : net::HttpResponse{};
  }

  net::HttpResponse GitHubPush(const std::string& body, const std::string& secret = kSecret) {
    return Send("POST", "/hooks/github", body,
                {{"Content-Type", "application/json"},
                 {"X-GitHub-Event", "push"},
                 {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(secret, body)}});
  }

  Metrics metrics_{"9.9.9"};
  FakeClock clock_{TimePoint(std::chrono::seconds(1700000000))};
  std::atomic<int> wakes_{0};
  std::string status_error_;
  DeliverySource delivery_;
  net::CurlHttpClient http_;
  std::unique_ptr<HttpServer> server_;
};

TEST(ListenAddressTest, ParsesHostPortForms) {
  auto a = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto any = ParseListenAddress(":9090");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "0.0.0.0");
  auto v6 = ParseListenAddress("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad : {"", "8080", "host:", "host:http", "h:70000", "h:-1", "::1:80", "[::1]"}) {
    auto r = ParseListenAddress(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("HOST:PORT"), std::string::npos);
    }
  }
}

TEST_F(HttpServerTest, HealthzAlwaysOk) {
  StartServer();
  auto r = Send("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
}

TEST_F(HttpServerTest, ReadyzFollowsTheLastSuccessfulPass) {
  StartServer();
  auto before = Send("GET", "/readyz");
  EXPECT_EQ(before.status, 503);
  EXPECT_NE(before.body.find("no successful pass yet"), std::string::npos) << before.body;
  metrics_.ObservePass({}, std::chrono::seconds(1), clock_.Now());
  EXPECT_EQ(Send("GET", "/readyz").status, 200);
  clock_.Advance(std::chrono::minutes(4));  // > 3 x 60s
  auto stale = Send("GET", "/readyz");
  EXPECT_EQ(stale.status, 503);
  EXPECT_NE(stale.body.find("no successful pass for 4m"), std::string::npos) << stale.body;
}

TEST_F(HttpServerTest, MetricsUseTheExpositionContentType) {
  StartServer();
  auto r = Send("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("sluice_build_info{version=\"9.9.9\"} 1"), std::string::npos);
}

TEST_F(HttpServerTest, StatusServesTheSourceOr503) {
  StartServer();
  auto ok = Send("GET", "/api/v1/status");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.Header("content-type"), "application/json");
  EXPECT_EQ(ok.body, R"([{"env":"dev","app":"api","state":"in-sync"}])");
  status_error_ = "branch main: not found";
  auto err = Send("GET", "/api/v1/status");
  EXPECT_EQ(err.status, 503);
  EXPECT_EQ(err.body, R"({"error":"branch main: not found"})");
}

TEST_F(HttpServerTest, DeliveryPagesComeFromTheSourceWithoutScripts) {
  std::vector<std::string> asked;
  delivery_ = [&asked](const std::string& env) -> Result<std::string> {
    asked.push_back(env);
    if (env == "nope") return Status::NotFound("no environment named like that");
    if (env == "broken") return Status::IOError("record unreadable");
    return "<!doctype html><h1>Delivery: " + (env.empty() ? std::string("all") : env) + "</h1>";
  };
  StartServer();
  auto all = Send("GET", "/delivery");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(all.Header("content-security-policy"), "default-src 'none'; style-src 'unsafe-inline'");
  EXPECT_NE(all.body.find("Delivery: all"), std::string::npos);
  EXPECT_NE(Send("GET", "/delivery/prod").body.find("Delivery: prod"), std::string::npos);
  EXPECT_EQ(Send("GET", "/delivery/nope").status, 404);
  EXPECT_EQ(Send("GET", "/delivery/broken").status, 503);
  EXPECT_EQ(asked, (std::vector<std::string>{"", "prod", "nope", "broken"}));
}

TEST_F(HttpServerTest, DeliveryIsNotFoundWithoutASource) {
  StartServer();
  EXPECT_EQ(Send("GET", "/delivery").status, 404);
}

TEST_F(HttpServerTest, DashboardIsSelfContained) {
  StartServer();
  auto r = Send("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("api/v1/status"), std::string::npos);
  EXPECT_NE(r.body.find("setInterval(refresh, 5000)"), std::string::npos);
  EXPECT_EQ(r.body.find("<script src"), std::string::npos);
  EXPECT_EQ(r.body.find("<link"), std::string::npos);
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
  EXPECT_EQ(r.body.find("innerHTML"), std::string::npos);
  EXPECT_NE(r.Header("content-security-policy").find("default-src 'none'"), std::string::npos);
}

TEST_F(HttpServerTest, SignedPushWakesOnceAndIsCounted) {
  StartServer();
  auto r = GitHubPush(R"({"ref":"refs/heads/main"})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(wakes_.load(), 1);
  EXPECT_NE(
      metrics_.Render().find("sluice_webhooks_total{source=\"github\",result=\"accepted\"} 1"),
      std::string::npos);
}

TEST_F(HttpServerTest, OtherBranchIs204AndDoesNotWake) {
  StartServer();
  auto r = GitHubPush(R"({"ref":"refs/heads/dev"})");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(HttpServerTest, BadSignatureIs401WithoutTheSecret) {
  StartServer();
  auto r = GitHubPush(R"({"ref":"refs/heads/main"})", "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.find(kSecret), std::string::npos);
  auto missing = Send("POST", "/hooks/gitlab", "{}", {{"X-Gitlab-Event", "Push Hook"}});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(HttpServerTest, OversizedBodyIs413AndCounted) {
  StartServer();
  std::string big(1024 * 1024 + 1, 'x');
  auto r = Send("POST", "/hooks/generic", big,
                {{"Content-Type", "application/json"}, {"X-Sluice-Signature", "sha256=00"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(wakes_.load(), 0);
  EXPECT_NE(
      metrics_.Render().find("sluice_webhooks_total{source=\"generic\",result=\"too_large\"} 1"),
      std::string::npos);
  // Exactly the cap is accepted.
  std::string max = "\"" + std::string(1024 * 1024 - 2, 'y') + "\"";  // a JSON string
  auto ok = Send("POST", "/hooks/generic", max,
                 {{"Content-Type", "application/json"},
                  {"X-Sluice-Signature-256", "sha256=" + HmacSha256Hex(kSecret, max)}});
  EXPECT_EQ(ok.status, 202);
}

TEST_F(HttpServerTest, HooksWithoutASecretAre403) {
  StartServer("");
  auto r = GitHubPush(R"({"ref":"refs/heads/main"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "webhooks disabled: set --webhook-secret-file\n");
  EXPECT_EQ(wakes_.load(), 0);
}

TEST_F(HttpServerTest, UnknownPathsAndGarbageDoNotCrash) {
  StartServer();
  EXPECT_EQ(Send("GET", "/nope").status, 404);
  EXPECT_EQ(Send("POST", "/hooks/bitbucket", "{}").status, 404);
  EXPECT_EQ(Send("GET", "/hooks/github").status, 404);
  std::string garbage = "\xff\xfe{not json";
  auto r = Send("POST", "/hooks/github", garbage,
                {{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, garbage)}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Send("GET", "/healthz").status, 200);
}

TEST_F(HttpServerTest, StopIsIdempotentAndFreesThePort) {
  StartServer();
  int port = server_->port();
  server_->Stop();
  server_->Stop();
  ServerOptions o;
  o.listen = {"127.0.0.1", port};
  HttpServer again(
      o, metrics_, [] { return Result<std::string>(std::string("[]")); }, [] {}, clock_);
  EXPECT_TRUE(again.Start().ok());
}

TEST_F(HttpServerTest, BusyPortIsAClearError) {
  StartServer();
  ServerOptions o;
  o.listen = {"127.0.0.1", server_->port()};
  HttpServer second(
      o, metrics_, [] { return Result<std::string>(std::string("[]")); }, [] {}, clock_);
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot listen on 127.0.0.1:"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace sluice::server
