#include "support/etcd_server.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>

#include "net/http_client.h"
#include "support/stop_child.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace bp = boost::process;

namespace sluice::testing {

using std::chrono::seconds;

struct EtcdServer::Impl {
  TempDir dir;
  bp::child child;
  net::CurlHttpClient http;
};

EtcdServer::EtcdServer() : EtcdServer(Options{}) {}

EtcdServer::EtcdServer(Options options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  // FreePort can race with another process taking the port: retry on new ones.
  for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
    client_port_ = FreePort();
    peer_port_ = FreePort();
    if (peer_port_ == client_port_) continue;
    Start();
  }
  if (!ready_) ADD_FAILURE() << "etcd did not become healthy; its log:\n" << Log();
}

EtcdServer::~EtcdServer() { Stop(); }

std::string EtcdServer::Url() const {
  return std::string(options_.cert_file.empty() ? "http" : "https") + "://" + options_.host + ":" +
         std::to_string(client_port_);
}

std::string EtcdServer::Log() const {
  std::string all;
  for (int i = 0; i < runs_; ++i)
    all += ReadFile(impl_->dir.Sub("etcd-" + std::to_string(i) + ".err"));
  return all;
}

bool EtcdServer::Start() {
  if (impl_->child.valid()) return ready_;
  std::string exe = bp::search_path("etcd").string();
  if (exe.empty()) {
    ADD_FAILURE() << "etcd not found on PATH: install the Debian package `etcd-server` "
                     "(scripts/install-deps.sh does)";
    return ready_ = false;
  }
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::string client_listen = std::string(options_.cert_file.empty() ? "http" : "https") +
                                    "://127.0.0.1:" + std::to_string(client_port_);
  std::vector<std::string> args = {"--name",
                                   "default",
                                   "--data-dir",
                                   impl_->dir.Sub("data-" + std::to_string(client_port_)),
                                   "--listen-client-urls",
                                   client_listen,
                                   "--advertise-client-urls",
                                   Url(),
                                   "--listen-peer-urls",
                                   peer,
                                   "--initial-advertise-peer-urls",
                                   peer,
                                   "--initial-cluster",
                                   "default=" + peer};
  if (!options_.cert_file.empty()) {
    args.insert(args.end(), {"--cert-file", options_.cert_file, "--key-file", options_.key_file});
  }
  if (!options_.client_ca_file.empty()) {
    args.insert(args.end(), {"--trusted-ca-file", options_.client_ca_file, "--client-cert-auth"});
  }
  const std::string err = impl_->dir.Sub("etcd-" + std::to_string(runs_++) + ".err");
  try {
    impl_->child = bp::child(exe, bp::args(args), bp::std_in.close(), bp::std_out > err + ".out",
                             bp::std_err > err);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot start etcd: " << e.what();
    return ready_ = false;
  }
  ready_ = PollHealthy();
  if (!ready_) Stop();
  return ready_;
}

bool EtcdServer::PollHealthy() {
  net::HttpRequest req;
  req.url = Url() + "/health";
  req.timeout = seconds(1);
  req.ca_file = options_.probe_ca_file;
  req.cert_file = options_.probe_cert_file;
  req.key_file = options_.probe_key_file;
  std::error_code ec;
  bool healthy = false;
  PollUntil(
      [&] {
        if (!impl_->child.running(ec)) return true;  // gave up: the caller retries
        auto res = impl_->http.Send(req);
        return healthy = res.ok() && res->status == 200 &&
                         res->body.find("\"true\"") != std::string::npos;
      },
      seconds(20));
  return healthy;
}

void EtcdServer::Stop() {
  ready_ = false;
  StopChild(impl_->child);
}

}  // namespace sluice::testing
