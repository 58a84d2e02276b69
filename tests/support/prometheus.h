// A real Prometheus and a small exporter for tests: the exporter serves the
// metrics the test decides, Prometheus scrapes it, and the code under test
// (or the test) queries Prometheus over its HTTP API.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::testing {

// A cpp-httplib server on 127.0.0.1 and a free port serving GET /metrics in
// the Prometheus text format (version 0.0.4); the body is whatever `render`
// returns at each scrape. `render` runs on the server's thread, so it must
// be thread-safe with what the test does meanwhile. The constructor returns
// once the server accepts (ADD_FAILURE if it never does); the destructor
// stops it. Not copyable.
class MetricsExporter {
 public:
  explicit MetricsExporter(std::function<std::string()> render);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>", a Prometheus scrape target.
  std::string Target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// A `prometheus` child process (Debian package `prometheus`) on 127.0.0.1
// and a free port, with its own config and TSDB in a temp dir, scraping
// `targets` every `scrape_interval`. The constructor returns once
// /-/ready answers 200 (ready() false and ADD_FAILURE when it never does,
// or when prometheus is not installed); the destructor stops it (SIGTERM,
// then SIGKILL) and reaps it. Note: the first sample of a fresh Prometheus
// appears only after ~5-6 s (target discovery is batched every 5 s): use
// WaitForValue before relying on a series. Not copyable.
class PrometheusServer {
 public:
  explicit PrometheusServer(const std::vector<std::string>& targets,
                            std::chrono::milliseconds scrape_interval = std::chrono::seconds(1));
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  bool ready() const { return ready_; }
  // "http://127.0.0.1:<port>"
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Prometheus's own log (stderr), for diagnosing a failing test.
  std::string Log() const;

  // The value of the instant query `query` when it returns exactly one
  // sample; nullopt otherwise (no series, several, an error), with the reason
  // in `*why` when given.
  std::optional<double> QueryValue(const std::string& query, std::string* why = nullptr) const;

  // Polls QueryValue (PollUntil) until it returns `want` or `deadline`
  // passes. Returns true when it did; false and ADD_FAILURE naming the last
  // answer otherwise.
  bool WaitForValue(const std::string& query, double want,
                    std::chrono::milliseconds deadline = std::chrono::seconds(45)) const;

 private:
  bool PollReady();
  void Stop();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  bool ready_ = false;
};

}  // namespace sluice::testing
