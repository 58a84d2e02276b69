#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "server/metrics.h"

struct MHD_Daemon;
struct MHD_Connection;

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
  // Bounds on what clients may hold (libmicrohttpd options): connections at
  // once, per client address, idle seconds before a connection is closed,
  // bytes of request line + headers (more: 414 or 431), and seconds from a
  // connection's (or a keep-alive request's) first byte to the end of its
  // headers, however slowly they trickle in.
  unsigned max_connections = 256;
  // A forge delivers bursts from few addresses (50 webhooks at once from one
  // address must all be answered), so a quarter of the connections each.
  unsigned max_connections_per_ip = 64;
  unsigned idle_timeout_seconds = 10;
  size_t max_header_bytes = 32 * 1024;
  std::chrono::seconds header_deadline{10};
};

// Produces the body of GET /api/v1/status (the JSON of `sluice status
// --format json`); an error is answered with 503. Called from server threads.
using StatusSource = std::function<Result<std::string>()>;

// Produces the delivery-charts page (reports/delivery.h) of one environment
// (GET /delivery/<env>) or of every one ("": GET /delivery). NotFound is
// answered 404, another error 503. Called from server threads.
using DeliverySource = std::function<Result<std::string>(const std::string& env)>;

// The page served at GET /: a self-contained dashboard (inline CSS and JS,
// nothing fetched from elsewhere) that polls /api/v1/status every 5 s.
std::string_view DashboardHtml();

// HttpServer is the daemon's HTTP endpoint (SPEC section 4), on
// libmicrohttpd (a library built for hostile networks): one thread per
// connection under a connection cap and a per-address cap, so a slow handler
// or a slow client never holds up /healthz; every read is bounded (request
// line and headers by max_header_bytes, bodies by max_body_bytes, chunked
// ones too, answered 413 without reading the rest; idle connections and
// headers slower than header_deadline are closed). Endpoints:
//
//   GET  /healthz        200 "ok" while the process serves
//   GET  /readyz         200 when records can be pushed and the last pass succeeded within
//                        3 x interval, else 503 + reason
//   GET  /metrics        Prometheus text format 0.0.4 (Metrics::Render)
//   GET  /api/v1/status  JSON from the StatusSource
//   POST /hooks/github|gitlab|generic
//                        202 + wake() for a verified push to the branch, 204 for other
//                        verified events, 401 bad/missing signature, 403 no secret
//                        configured, 413 body over max_body_bytes, 400 unreadable body
//   GET  /               the dashboard
//   GET  /delivery[/ENV] delivery charts over weeks (SetDeliverySource; 404 without one)
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

  // The source of GET /delivery pages. Call before Start.
  void SetDeliverySource(DeliverySource source) { delivery_ = std::move(source); }

  // Binds the address and starts serving on background threads; returns
  // once requests are accepted. IOError "cannot listen on HOST:PORT" when the
  // address cannot be bound.
  Status Start();
  // Stops accepting, closes every connection and joins the threads.
  // Idempotent.
  void Stop();
  // The bound port (the real one when options.listen.port was 0).
  int port() const { return port_; }

 private:
  // The libmicrohttpd callbacks (http_server.cc).
  struct Callbacks;
  // One call of the access handler (see MHD_AccessHandlerCallback); false
  // closes the connection.
  bool Handle(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
              size_t* upload_data_size, void** con_cls);
  // Answers everything but a webhook delivery, from the headers alone.
  bool Route(MHD_Connection* c, const std::string& url, const std::string& method);
  // Answers a webhook delivery; `source` is a HookSource.
  bool Hook(MHD_Connection* c, int source, const std::string& body);
  // Closes connections whose headers did not arrive within
  // options_.header_deadline; runs until Stop.
  void WatchHeaderDeadlines();
  // Counts and logs a webhook body over the limit; `source` is a HookSource.
  void TooLarge(int source, const std::string& remote);

  ServerOptions options_;
  Metrics& metrics_;
  StatusSource status_;
  DeliverySource delivery_;
  std::function<void()> wake_;
  const Clock& clock_;
  std::unique_ptr<MHD_Daemon, void (*)(MHD_Daemon*)> daemon_;
  int port_ = 0;
  // Connections still reading a request's headers: socket -> when the
  // request started. Guarded by watch_mu_.
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::map<int, std::chrono::steady_clock::time_point> reading_headers_;
  std::thread watchdog_;
};

}  // namespace sluice::server
