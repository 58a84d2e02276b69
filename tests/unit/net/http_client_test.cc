// CurlHttpClient against a real HTTP server on loopback (cpp-httplib).
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "support/wait_until.h"

namespace sluice::net {
namespace {

HttpRequest Get(const std::string& url) {
  HttpRequest req;
  req.url = url;
  return req;
}

class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Echo", req.get_header_value("X-Test"));
      res.set_content("hello", "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_content(req.body, "application/json");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'x'), "text/plain");
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return released_; });
      res.set_content("late", "text/plain");
    });
    server_.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/hello");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    testing::WaitUntil([this] { return server_.is_running(); }, std::chrono::seconds(2),
                       "the loopback server to accept");
  }
  ~LoopbackServer() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST(HttpClientTest, GetsStatusHeadersAndBody) {
  LoopbackServer server;
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.Url("/hello");
  req.headers = {{"X-Test", "abc"}};
  auto res = client.Send(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello");
  EXPECT_EQ(res->Header("x-echo"), "abc");
  EXPECT_EQ(res->Header("X-ECHO"), "abc");
}

TEST(HttpClientTest, PostsABody) {
  LoopbackServer server;
  CurlHttpClient client;
  HttpRequest req;
  req.method = "POST";
  req.url = server.Url("/echo");
  req.body = R"({"a":1})";
  auto res = client.Send(req);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, req.body);
}

TEST(HttpClientTest, NotFoundIsAResponseNotAnError) {
  LoopbackServer server;
  CurlHttpClient client;
  auto res = client.Send(Get(server.Url("/missing")));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);
}

TEST(HttpClientTest, FollowsRedirectsAndKeepsOnlyTheFinalHeaders) {
  LoopbackServer server;
  CurlHttpClient client;
  auto res = client.Send(Get(server.Url("/redirect")));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello");
  EXPECT_EQ(res->Header("location"), "");
}

TEST(HttpClientTest, TimesOutWithTimeoutStatus) {
  LoopbackServer server;
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.Url("/slow");
  req.timeout = std::chrono::milliseconds(200);
  auto res = client.Send(req);
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.status().IsTimeout()) << res.status().ToString();
}

TEST(HttpClientTest, RefusesOversizedBodies) {
  LoopbackServer server;
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.Url("/big");
  req.max_body_bytes = 1000;
  auto res = client.Send(req);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("larger than 1000"), std::string::npos);
}

TEST(HttpClientTest, ConnectionRefusedNamesTheUrlWithoutCredentials) {
  CurlHttpClient client;
  auto res = client.Send(Get("http://user:hunter22@127.0.0.1:1/x"));
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("127.0.0.1:1/x"), std::string::npos);
  EXPECT_EQ(res.status().message().find("hunter22"), std::string::npos);
}

TEST(HttpClientTest, RedactsAndEncodes) {
  EXPECT_EQ(RedactUrl("https://u:p@host/x"), "https://host/x");
  EXPECT_EQ(RedactUrl("https://host/x@y"), "https://host/x@y");
  EXPECT_EQ(UrlEncode("rate(x[5m]) > 0"), "rate%28x%5B5m%5D%29%20%3E%200");
}

}  // namespace
}  // namespace sluice::net
