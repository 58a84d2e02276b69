#include "support/prometheus.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <boost/process.hpp>
#include <thread>

#include "net/http_client.h"
#include "support/stop_child.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"
#include "verify/prometheus_check.h"

namespace bp = boost::process;

namespace sluice::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

// ------------------------------------------------------------ exporter

struct MetricsExporter::Impl {
  httplib::Server server;
  std::thread thread;
};

MetricsExporter::MetricsExporter(std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
  impl_->server.Get("/metrics",
                    [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
                      res.set_content(render(), "text/plain; version=0.0.4");
                    });
  port_ = impl_->server.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) {
    ADD_FAILURE() << "metrics exporter: cannot bind a loopback port";
    return;
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  if (!WaitForPort(port_, 5000)) ADD_FAILURE() << "metrics exporter did not accept on " << port_;
}

MetricsExporter::~MetricsExporter() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

// ------------------------------------------------------------ prometheus

struct PrometheusServer::Impl {
  TempDir dir;
  bp::child child;
  mutable net::CurlHttpClient http;
};

PrometheusServer::PrometheusServer(const std::vector<std::string>& targets,
                                   milliseconds scrape_interval)
    : impl_(std::make_unique<Impl>()) {
  std::string exe = bp::search_path("prometheus").string();
  if (exe.empty()) {
    ADD_FAILURE() << "prometheus not found on PATH: install the Debian package `prometheus` "
                     "(scripts/install-deps.sh does)";
    return;
  }
  std::string target_list;
  for (const auto& t : targets) target_list += (target_list.empty() ? "'" : ", '") + t + "'";
  const std::string every = std::to_string(scrape_interval.count()) + "ms";
  // scrape_timeout must not exceed the interval (Prometheus rejects the config).
  WriteFile(impl_->dir.Sub("prometheus.yml"), "global:\n  scrape_interval: " + every +
                                                  "\n  scrape_timeout: " + every +
                                                  "\n  evaluation_interval: " + every +
                                                  "\nscrape_configs:\n"
                                                  "  - job_name: sluice-test\n"
                                                  "    static_configs:\n"
                                                  "      - targets: [" +
                                                  target_list + "]\n");
  // FreePort can race with another process taking the port: retry on a new one.
  for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
    port_ = FreePort();
    try {
      impl_->child = bp::child(
          exe,
          bp::args({"--config.file=" + impl_->dir.Sub("prometheus.yml"),
                    "--storage.tsdb.path=" + impl_->dir.Sub("data-" + std::to_string(attempt)),
                    "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"}),
          bp::std_in.close(), bp::std_out > impl_->dir.Sub("prometheus.out"),
          bp::std_err > impl_->dir.Sub("prometheus.err"));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot start prometheus: " << e.what();
      return;
    }
    ready_ = PollReady();
    if (!ready_) Stop();
  }
  if (!ready_) ADD_FAILURE() << "prometheus did not become ready; its log:\n" << Log();
}

PrometheusServer::~PrometheusServer() { Stop(); }

std::string PrometheusServer::Log() const { return ReadFile(impl_->dir.Sub("prometheus.err")); }

bool PrometheusServer::PollReady() {
  net::HttpRequest req;
  req.url = Url() + "/-/ready";
  req.timeout = seconds(1);
  std::error_code ec;
  bool ready = false;
  PollUntil(
      [&] {
        if (!impl_->child.running(ec)) return true;  // gave up: the caller retries
        auto res = impl_->http.Send(req);
        return ready = res.ok() && res->status == 200;
      },
      seconds(20));
  return ready;
}

void PrometheusServer::Stop() { StopChild(impl_->child); }

std::optional<double> PrometheusServer::QueryValue(const std::string& query,
                                                   std::string* why) const {
  // No retries here: the caller polls.
  auto r = verify::QueryPrometheus(impl_->http, Url(), query, [](milliseconds) { return true; });
  if (!r.ok()) {
    if (why != nullptr) *why = r.status().ToString();
    return std::nullopt;
  }
  if (r->samples.size() != 1) {
    if (why != nullptr) *why = std::to_string(r->samples.size()) + " series";
    return std::nullopt;
  }
  return r->samples[0].value;
}

bool PrometheusServer::WaitForValue(const std::string& query, double want,
                                    milliseconds deadline) const {
  std::string last = "(no answer)";
  // The failure below names the last answer, so PollUntil, not WaitUntil.
  if (PollUntil(
          [&] {
            std::string why;
            std::optional<double> v = QueryValue(query, &why);
            if (v && *v == want) return true;
            last = v ? verify::FormatValue(*v) : why;
            return false;
          },
          deadline)) {
    return true;
  }
  ADD_FAILURE() << "Prometheus never answered " << query << " = " << verify::FormatValue(want)
                << " within " << deadline.count() << " ms; last answer: " << last << "\n"
                << Log();
  return false;
}

}  // namespace sluice::testing
