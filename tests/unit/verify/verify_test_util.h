// Shared helpers of the verify tests: a scripted HttpClient, a recording
// waiter, and a cpp-httplib loopback server.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "net/http_client.h"
#include "support/fake_http.h"
#include "support/wait_until.h"

namespace sluice::verify::testing {

// The scripted HttpClient and Response() are the shared ones.
using ::sluice::testing::FakeHttpClient;
using ::sluice::testing::Response;

// A Prometheus instant-query answer with one series of value `v`.
inline std::string PromVector(const std::string& v) {
  return R"({"status":"success","data":{"resultType":"vector","result":[)"
         R"({"metric":{"job":"api"},"value":[1700000000.123,")" +
         v + R"("]}]}})";
}

// Records every wait; advances `clock` (if any) by the time waited and
// never reports cancellation.
struct RecordingWaiter {
  FakeClock* clock = nullptr;
  std::vector<std::chrono::milliseconds> waits;

  bool operator()(std::chrono::milliseconds d) {
    waits.push_back(d);
    if (clock != nullptr) clock->Advance(d);
    return false;
  }
};

// A cpp-httplib server on 127.0.0.1 and a free port, serving the routes the
// test registers through server() before Start(). Handlers registered with
// BlockingGet() wait until the server is destroyed (no sleeps: a condition
// variable released in the destructor).
class LoopbackServer {
 public:
  LoopbackServer() = default;
  ~LoopbackServer() {
    Release();
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  httplib::Server& server() { return server_; }

  void BlockingGet(const std::string& path) {
    server_.Get(path, [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return released_; });
      res.set_content("late", "text/plain");
    });
  }

  // Like BlockingGet for the first `n` requests to `path`; later ones
  // answer 200 "ok" at once (a server that stalls, then recovers).
  void BlockingGetFirst(const std::string& path, int n) {
    server_.Get(path, [this, n](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mu_);
      if (blocked_calls_++ < n) {
        cv_.wait(lock, [this] { return released_; });
        res.set_content("late", "text/plain");
        return;
      }
      res.set_content("ok", "text/plain");
    });
  }

  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    ::sluice::testing::WaitUntil([this] { return server_.is_running(); }, std::chrono::seconds(5),
                                 "the loopback server to accept");
    ASSERT_TRUE(server_.is_running());
  }

  // Lets blocked handlers finish.
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

  int port() const { return port_; }
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
  int blocked_calls_ = 0;
};

}  // namespace sluice::verify::testing
