#pragma once
// A loopback HTTP receiver for notification tests (cpp-httplib on a free
// port, header-only: link PkgConfig::HTTPLIB)
// Records every request and answers with what the test scripted.

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::testing {

class Receiver {
 public:
  struct Request {
    std::string path;
    std::string body;
    std::multimap<std::string, std::string, httplib::detail::ci> headers;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  // Answers request number n (0-based); the default answers 200 "ok".
  using Respond = std::function<void(size_t n, httplib::Response&)>;

  explicit Receiver(Respond respond = {}) : respond_(std::move(respond)) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      size_t n;
      {
        std::lock_guard lock(mu_);
        n = requests_.size();
        Request r{req.path, req.body, {}};
        for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
        requests_.push_back(std::move(r));
      }
      cv_.notify_all();
      res.status = 200;
      res.set_content("ok", "text/plain");
      if (respond_) respond_(n, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Polls nothing: waits on the condition until `n` requests arrived.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  Respond respond_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
};

// A latch the test opens: a receiver holds requests until then.
class Latch {
 public:
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  bool IsOpen() const {
    std::lock_guard lock(mu_);
    return open_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace sluice::testing
