#include "server/http_server.h"

#include <httplib.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"
#include "server/webhooks.h"

namespace sluice::server {
namespace {

constexpr char kText[] = "text/plain; charset=utf-8";
constexpr char kHooksDisabled[] = "webhooks disabled: set --webhook-secret-file\n";

std::optional<HookSource> SourceFromPath(const std::string& path) {
  if (path == "/hooks/github") return HookSource::kGitHub;
  if (path == "/hooks/gitlab") return HookSource::kGitLab;
  if (path == "/hooks/generic") return HookSource::kGeneric;
  return std::nullopt;
}

const char* ResultName(HookVerdict v) {
  switch (v) {
    case HookVerdict::kWake:
      return "accepted";
    case HookVerdict::kIgnore:
      return "ignored";
    case HookVerdict::kUnauthorized:
      return "unauthorized";
    case HookVerdict::kBadRequest:
      return "bad_request";
  }
  return "unknown";
}

// httplib binds with SO_REUSEPORT, which lets a second process share a port
// that is already served. Probe with SO_REUSEADDR alone first, so a busy
// address is an error (a socket in TIME_WAIT still binds).
bool AddressInUse(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
  bool in_use = false;
  for (addrinfo* ai = res; ai != nullptr && !in_use; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE) in_use = true;
    ::close(fd);
  }
  freeaddrinfo(res);
  return in_use;
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("--listen '" + std::string(text) +
                                   "': expected HOST:PORT (e.g. 127.0.0.1:8080, :8080 or "
                                   "[::1]:8080) with a port from 0 to 65535");
  };
  ListenAddress a;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad();
    }
    a.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    a.host = std::string(text.substr(0, colon));
    if (a.host.find(':') != std::string::npos) return bad();  // IPv6 needs brackets
    port_text = text.substr(colon + 1);
  }
  if (a.host.empty()) a.host = "0.0.0.0";
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return bad();
  }
  a.port = port;
  return a;
}

HttpServer::HttpServer(ServerOptions options, Metrics& metrics, StatusSource status,
                       std::function<void()> wake, const Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      status_(std::move(status)),
      wake_(std::move(wake)),
      clock_(clock),
      server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route() {
  httplib::Server& s = *server_;
  // httplib's own cap (it reads and discards a larger body, then answers
  // 413) sits one byte above ours; the hook handler enforces the exact limit.
  s.set_payload_max_length(options_.max_body_bytes + 1);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {} failed: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content("internal error\n", kText);
      });
  // Count and log oversized deliveries before httplib rejects them (its
  // logger runs only after the 413 was sent). Other 413s (a chunked body, a
  // form-encoded body over httplib's 8 KiB form limit) are counted by the
  // logger.
  auto declared_too_large = [this](const httplib::Request& req) {
    if (!req.has_header("Content-Length")) return false;
    uint64_t len = 0;
    const std::string v = req.get_header_value("Content-Length");
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), len);
    return ec != std::errc() || len > options_.max_body_bytes;
  };
  s.set_pre_routing_handler(
      [this, declared_too_large](const httplib::Request& req, httplib::Response&) {
        auto source = SourceFromPath(req.path);
        if (source && declared_too_large(req)) TooLarge(static_cast<int>(*source), req);
        return httplib::Server::HandlerResponse::Unhandled;
      });
  s.set_logger(
      [this, declared_too_large](const httplib::Request& req, const httplib::Response& res) {
        if (res.status != 413 || declared_too_large(req)) return;
        if (auto source = SourceFromPath(req.path)) TooLarge(static_cast<int>(*source), req);
      });

  s.Get("/healthz",
        [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", kText); });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    Readiness r = EvaluateReadiness(metrics_.Health(), clock_.Now(), options_.interval);
    res.status = r.ready ? 200 : 503;
    res.set_content((r.ready ? "ready: " : "not ready: ") + r.reason + "\n", kText);
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    Result<std::string> body = status_();
    if (!body.ok()) {
      res.status = 503;
      nlohmann::json err = {{"error", body.status().message()}};
      res.set_content(DumpJson(err), "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(*body, "application/json");
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; "
                   "style-src 'unsafe-inline'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(DashboardHtml()), "text/html; charset=utf-8");
  });
  s.Post(R"(/hooks/(github|gitlab|generic))", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
    HookSource source = *SourceFromPath(req.path);
    const char* name = HookSourceName(source);
    if (req.body.size() > options_.max_body_bytes) {
      if (!req.has_header("Content-Length")) TooLarge(static_cast<int>(source), req);
      res.status = 413;
      res.set_content("body over " + std::to_string(options_.max_body_bytes) + " bytes\n", kText);
      return;
    }
    if (options_.webhook_secret.empty()) {
      metrics_.ObserveWebhook(name, "disabled");
      res.status = 403;
      res.set_content(kHooksDisabled, kText);
      return;
    }
    HookDecision d = EvaluateHook(
        source, options_.webhook_secret, options_.branch,
        [&req](const std::string& h) { return req.get_header_value(h.c_str()); }, req.body);
    metrics_.ObserveWebhook(name, ResultName(d.verdict));
    switch (d.verdict) {
      case HookVerdict::kWake:
        spdlog::info("webhook {}: {}; waking the controller", name, d.reason);
        wake_();
        res.status = 202;
        res.set_content("accepted: " + d.reason + "\n", kText);
        return;
      case HookVerdict::kIgnore:
        spdlog::debug("webhook {}: ignored: {}", name, d.reason);
        res.status = 204;
        return;
      case HookVerdict::kUnauthorized:
        spdlog::warn("webhook {} from {} rejected: {}", name, req.remote_addr, d.reason);
        res.status = 401;
        res.set_content("unauthorized: " + d.reason + "\n", kText);
        return;
      case HookVerdict::kBadRequest:
        spdlog::warn("webhook {} from {}: {}", name, req.remote_addr, d.reason);
        res.status = 400;
        res.set_content("bad request: " + d.reason + "\n", kText);
        return;
    }
  });
}

void HttpServer::TooLarge(int source, const httplib::Request& req) {
  const char* name = HookSourceName(static_cast<HookSource>(source));
  metrics_.ObserveWebhook(name, "too_large");
  spdlog::warn("webhook {} from {} rejected: body over {} bytes", name, req.remote_addr,
               options_.max_body_bytes);
}

Status HttpServer::Start() {
  Route();
  const std::string where = options_.listen.host + ":" + std::to_string(options_.listen.port);
  if (options_.listen.port == 0) {
    port_ = server_->bind_to_any_port(options_.listen.host);
    if (port_ <= 0) return Status::IOError("cannot listen on " + where);
  } else {
    if (AddressInUse(options_.listen.host, options_.listen.port)) {
      return Status::IOError("cannot listen on " + where + ": the address is already in use");
    }
    if (!server_->bind_to_port(options_.listen.host, options_.listen.port)) {
      return Status::IOError("cannot listen on " + where +
                             ": the address is in use or not available on this host");
    }
    port_ = options_.listen.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so wait for it (bounded);
  // the socket is already bound, so connections queue meanwhile.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    Stop();
    return Status::IOError("HTTP server on " + where + " did not start");
  }
  spdlog::info("serving HTTP on {}:{}", options_.listen.host, port_);
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace sluice::server
