// A real etcd (Debian package `etcd-server`, 3.4) for tests: one member on
// loopback, its data in a temp dir, on free ports. Start/Stop can be called
// again to take it down and bring it back on the same ports and data (an
// etcd outage as replicas see it).
#pragma once

#include <memory>
#include <string>

namespace sluice::testing {

class EtcdServer {
 public:
  struct Options {
    // TLS on the client port: the server's certificate and key, and the CA
    // that signs client certificates (set = --client-cert-auth). The health
    // probe uses `probe_ca_file` / `probe_cert_file` / `probe_key_file`.
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
    std::string probe_ca_file;
    std::string probe_cert_file;
    std::string probe_key_file;
    // The host in the client URL ("127.0.0.1"; "localhost" for a TLS
    // certificate issued to that name).
    std::string host = "127.0.0.1";
  };

  // Starts etcd and waits (PollUntil on GET /health) until it is healthy;
  // ready() false and ADD_FAILURE when it never is or etcd is not installed.
  EtcdServer();
  explicit EtcdServer(Options options);
  // Stops it (SIGTERM, then SIGKILL) and reaps it.
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  bool ready() const { return ready_; }
  // "http://127.0.0.1:<port>" (https:// with TLS).
  std::string Url() const;
  // etcd's own log (stderr of every run so far), for a failing test.
  std::string Log() const;

  // Stops the process (the data stays). Idempotent.
  void Stop();
  // Starts it again on the same ports and data; returns ready().
  bool Start();

 private:
  bool PollHealthy();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  Options options_;
  int client_port_ = 0;
  int peer_port_ = 0;
  int runs_ = 0;
  bool ready_ = false;
};

}  // namespace sluice::testing
