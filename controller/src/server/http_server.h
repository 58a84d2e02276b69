#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "server/metrics.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace sluice::server {

// A --listen address.
struct ListenAddress {
  std::string host;  // "127.0.0.1", "0.0.0.0", "::1"
  int port = 0;      // 0: any free port (see HttpServer::port())
};

// Parses "HOST:PORT", ":PORT" (all interfaces, 0.0.0.0) or "[IPv6]:PORT".
// InvalidArgument naming the expected shape on anything else.
Result<ListenAddress> ParseListenAddress(std::string_view text);

struct ServerOptions {
  ListenAddress listen;
  // The shared webhook secret; empty disables the hook endpoints (403).
  std::string webhook_secret;
  std::string branch = "main";  // pushes to refs/heads/<branch> wake the loop
  std::chrono::milliseconds interval{std::chrono::minutes(1)};  // for /readyz
  size_t max_body_bytes = 1024 * 1024;                          // larger requests get 413
};

// Produces the body of GET /api/v1/status (the JSON of `sluice status
// --format json`); an error is answered with 503. Called from server threads.
using StatusSource = std::function<Result<std::string>()>;

// The page served at GET /: a self-contained dashboard (inline CSS and JS,
// nothing fetched from elsewhere) that polls /api/v1/status every 5 s.
std::string_view DashboardHtml();

// HttpServer is the daemon's HTTP endpoint (SPEC section 4), on cpp-httplib,
// served from its own threads:
//
//   GET  /healthz        200 "ok" while the process serves
//   GET  /readyz         200 when the last pass succeeded within 3 x interval, else 503 + reason
//   GET  /metrics        Prometheus text format 0.0.4 (Metrics::Render)
//   GET  /api/v1/status  JSON from the StatusSource
//   POST /hooks/github|gitlab|generic
//                        202 + wake() for a verified push to the branch, 204 for other
//                        verified events, 401 bad/missing signature, 403 no secret
//                        configured, 413 body over max_body_bytes, 400 unreadable body
//   GET  /               the dashboard
//
// A handler never throws out of the server; bad input gets a 4xx. The
// borrowed metrics, clock and callables must outlive the server. Start/Stop
// from one thread; the destructor stops.
class HttpServer {
 public:
  HttpServer(ServerOptions options, Metrics& metrics, StatusSource status,
             std::function<void()> wake, const Clock& clock);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address and starts serving on a background thread; returns
  // once requests are accepted. IOError "cannot listen on HOST:PORT" when the
  // address cannot be bound.
  Status Start();
  // Stops accepting, finishes requests in flight and joins. Idempotent.
  void Stop();
  // The bound port (the real one when options.listen.port was 0).
  int port() const { return port_; }

 private:
  void Route();
  // Counts and logs a webhook body over the limit; `source` is a HookSource.
  void TooLarge(int source, const httplib::Request& req);

  ServerOptions options_;
  Metrics& metrics_;
  StatusSource status_;
  std::function<void()> wake_;
  const Clock& clock_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace sluice::server
