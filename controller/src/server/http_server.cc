#include "server/http_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
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

// A listening socket on host:port with SO_REUSEADDR only (never
// SO_REUSEPORT: a busy address is an error; a socket in TIME_WAIT still
// binds). Returns the fd and sets *port to the bound port, or an IOError.
Result<int> Listen(const std::string& host, int* port) {
  const std::string where = host + ":" + std::to_string(*port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(*port).c_str(), &hints, &res) != 0) {
    return Status::IOError("cannot listen on " + where + ": not a numeric address");
  }
  int err = 0;
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    return Status::IOError(
        "cannot listen on " + where + ": " +
        (err == EADDRINUSE ? std::string("the address is already in use") : std::strerror(err)));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  return fd;
}

// The client's address, numeric ("127.0.0.1"), for logs.
std::string RemoteAddress(MHD_Connection* c) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "?";
  char host[NI_MAXHOST];
  const socklen_t len =
      info->client_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getnameinfo(info->client_addr, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) {
    return "?";
  }
  return host;
}

int SocketOf(MHD_Connection* c) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  return info == nullptr ? -1 : info->connect_fd;
}

// One response, queued on `c`; the body is copied. False when it could not
// be queued (libmicrohttpd then closes the connection).
bool Reply(MHD_Connection* c, unsigned status, const std::string& body, const char* content_type,
           std::initializer_list<std::pair<const char*, const char*>> headers = {}) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return false;
  if (content_type != nullptr) MHD_add_response_header(r, "Content-Type", content_type);
  for (const auto& [name, value] : headers) MHD_add_response_header(r, name, value);
  MHD_Result queued = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return queued == MHD_YES;
}

// What one request keeps between the calls of the access handler.
struct RequestState {
  bool headers_seen = false;
  std::string body;
  bool answered = false;  // a 413 was written on the socket mid-body
  size_t drained = 0;     // body bytes discarded since
};

// After an early 413, at most this much more of the body is read (and
// discarded) before the connection is closed.
constexpr size_t kDrainAfterAnswer = 1024 * 1024;

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
      daemon_(nullptr, [](MHD_Daemon* d) { MHD_stop_daemon(d); }) {}

HttpServer::~HttpServer() { Stop(); }

struct HttpServer::Callbacks {
  // MHD_AccessHandlerCallback: called once the headers are in (upload_data
  // null), then for each piece of the body, then once more at its end.
  static MHD_Result Access(void* cls, MHD_Connection* c, const char* url, const char* method,
                           const char* /*version*/, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<HttpServer*>(cls);
    try {
      return self->Handle(c, url, method, upload_data, upload_data_size, con_cls) ? MHD_YES
                                                                                  : MHD_NO;
    } catch (const std::exception& e) {
      // A handler never throws out of the server.
      spdlog::error("http: {} {} failed: {}", method, url, e.what());
      return Reply(c, 500, "internal error\n", kText) ? MHD_YES : MHD_NO;
    }
  }

  // MHD_RequestCompletedCallback: frees the request's state; a keep-alive
  // connection starts reading its next request's headers now.
  static void Completed(void* cls, MHD_Connection* c, void** con_cls, MHD_RequestTerminationCode) {
    std::unique_ptr<RequestState> state(static_cast<RequestState*>(*con_cls));
    *con_cls = nullptr;
    auto* self = static_cast<HttpServer*>(cls);
    if (int fd = SocketOf(c); fd >= 0) {
      std::lock_guard lock(self->watch_mu_);
      self->reading_headers_[fd] = std::chrono::steady_clock::now();
    }
  }

  // MHD_NotifyConnectionCallback: the header deadline starts with the
  // connection and ends with it.
  static void Connection(void* cls, MHD_Connection* c, void**,
                         MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<HttpServer*>(cls);
    int fd = SocketOf(c);
    if (fd < 0) return;
    std::lock_guard lock(self->watch_mu_);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      self->reading_headers_[fd] = std::chrono::steady_clock::now();
    } else {
      self->reading_headers_.erase(fd);
    }
  }
};

bool HttpServer::Handle(MHD_Connection* c, const char* url_c, const char* method_c,
                        const char* upload_data, size_t* upload_data_size, void** con_cls) {
  const std::string url = url_c;
  const std::string method = method_c;
  auto* state = static_cast<RequestState*>(*con_cls);
  if (state == nullptr) {
    state = std::make_unique<RequestState>().release();  // owned by Completed
    *con_cls = state;
    if (int fd = SocketOf(c); fd >= 0) {
      std::lock_guard lock(watch_mu_);
      reading_headers_.erase(fd);  // the headers are in
    }
  }
  auto source = SourceFromPath(url);
  if (!source || method != "POST") {
    // Everything but a hook is answered from the headers; a body sent along
    // is never read (libmicrohttpd closes the connection after the reply).
    return Route(c, url, method);
  }
  // A webhook: read the body, but never more than max_body_bytes.
  const std::string too_large = "body over " + std::to_string(options_.max_body_bytes) + " bytes\n";
  if (!state->headers_seen) {
    state->headers_seen = true;
    const char* length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (length != nullptr) {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(length, length + std::strlen(length), n);
      if (ec != std::errc() || n > options_.max_body_bytes) {
        TooLarge(static_cast<int>(*source), RemoteAddress(c));
        return Reply(c, 413, too_large, kText);
      }
    }
    return true;
  }
  if (state->answered) {
    // Drain a little of what was in flight so the client reads the 413
    // instead of a reset, then close: never the whole body.
    state->drained += *upload_data_size;
    *upload_data_size = 0;
    return state->drained <= kDrainAfterAnswer;
  }
  if (*upload_data_size > 0) {
    if (state->body.size() + *upload_data_size > options_.max_body_bytes) {
      // A chunked body (no Content-Length) over the cap. libmicrohttpd
      // 0.9.75 queues no response while a body is being read, so the 413
      // goes out on the socket directly (this is the connection's own
      // thread, and nothing else is being written on it), then the
      // connection closes.
      *upload_data_size = 0;
      TooLarge(static_cast<int>(*source), RemoteAddress(c));
      state->body.clear();
      state->body.shrink_to_fit();
      state->answered = true;
      const std::string answer =
          "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n"
          "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
          std::to_string(too_large.size()) + "\r\n\r\n" + too_large;
      if (int fd = SocketOf(c); fd >= 0) {
        size_t sent = 0;
        for (int tries = 0; sent < answer.size() && tries < 100; ++tries) {
          ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
          if (n > 0) sent += static_cast<size_t>(n);
          if (n < 0 && errno != EAGAIN && errno != EINTR) break;
        }
        ::shutdown(fd, SHUT_WR);
      }
      return true;
    }
    state->body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return true;
  }
  if (state->answered) return false;  // the 413 went out; close
  return Hook(c, static_cast<int>(*source), state->body);
}

bool HttpServer::Route(MHD_Connection* c, const std::string& url, const std::string& method) {
  // Only GET (and HEAD) of the paths below; anything else is not found.
  if (method != "GET" && method != "HEAD") return Reply(c, 404, "not found\n", kText);
  if (url == "/healthz") return Reply(c, 200, "ok", kText);
  if (url == "/readyz") {
    Readiness r = EvaluateReadiness(metrics_.Health(), clock_.Now(), options_.interval);
    return Reply(c, r.ready ? 200 : 503, (r.ready ? "ready: " : "not ready: ") + r.reason + "\n",
                 kText);
  }
  if (url == "/metrics") {
    return Reply(c, 200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (url == "/api/v1/status") {
    Result<std::string> body = status_();
    if (!body.ok()) {
      nlohmann::json err = {{"error", body.status().message()}};
      return Reply(c, 503, DumpJson(err), "application/json");
    }
    return Reply(c, 200, *body, "application/json", {{"Cache-Control", "no-store"}});
  }
  if (delivery_ && (url == "/delivery" || url.rfind("/delivery/", 0) == 0)) {
    const std::string env = url.size() > 10 ? url.substr(10) : "";
    Result<std::string> page = delivery_(env);
    if (!page.ok()) {
      const bool missing = page.status().IsNotFound();
      return Reply(c, missing ? 404 : 503, page.status().message() + "\n", kText);
    }
    // Inline CSS and SVG only: no script runs on this page.
    return Reply(c, 200, *page, "text/html; charset=utf-8",
                 {{"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Cache-Control", "no-store"}});
  }
  if (url != "/") return Reply(c, 404, "not found\n", kText);
  return Reply(c, 200, std::string(DashboardHtml()), "text/html; charset=utf-8",
               {{"Content-Security-Policy",
                 "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; "
                 "style-src 'unsafe-inline'"},
                {"X-Content-Type-Options", "nosniff"}});
}

bool HttpServer::Hook(MHD_Connection* c, int source_int, const std::string& body) {
  const HookSource source = static_cast<HookSource>(source_int);
  const char* name = HookSourceName(source);
  if (options_.webhook_secret.empty()) {
    metrics_.ObserveWebhook(name, "disabled");
    return Reply(c, 403, kHooksDisabled, kText);
  }
  HookDecision d = EvaluateHook(
      source, options_.webhook_secret, options_.branch,
      [c](const std::string& h) {
        const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, h.c_str());
        return std::string(v == nullptr ? "" : v);
      },
      body);
  metrics_.ObserveWebhook(name, ResultName(d.verdict));
  switch (d.verdict) {
    case HookVerdict::kWake:
      spdlog::info("webhook {}: {}; waking the controller", name, d.reason);
      wake_();
      return Reply(c, 202, "accepted: " + d.reason + "\n", kText);
    case HookVerdict::kIgnore:
      spdlog::debug("webhook {}: ignored: {}", name, d.reason);
      return Reply(c, 204, "", nullptr);
    case HookVerdict::kUnauthorized:
      spdlog::warn("webhook {} from {} rejected: {}", name, RemoteAddress(c), d.reason);
      return Reply(c, 401, "unauthorized: " + d.reason + "\n", kText);
    case HookVerdict::kBadRequest:
      spdlog::warn("webhook {} from {}: {}", name, RemoteAddress(c), d.reason);
      return Reply(c, 400, "bad request: " + d.reason + "\n", kText);
  }
  return Reply(c, 500, "internal error\n", kText);
}

void HttpServer::TooLarge(int source, const std::string& remote) {
  const char* name = HookSourceName(static_cast<HookSource>(source));
  metrics_.ObserveWebhook(name, "too_large");
  spdlog::warn("webhook {} from {} rejected: body over {} bytes", name, remote,
               options_.max_body_bytes);
}

void HttpServer::WatchHeaderDeadlines() {
  std::unique_lock lock(watch_mu_);
  while (!stopping_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(250));
    const auto now = std::chrono::steady_clock::now();
    for (auto it = reading_headers_.begin(); it != reading_headers_.end();) {
      if (now - it->second < options_.header_deadline) {
        ++it;
        continue;
      }
      // Headers trickling in (one byte a second never trips the idle
      // timeout): end the connection. shutdown(), not close(): the socket
      // stays libmicrohttpd's, whose next read sees the end and closes it.
      ::shutdown(it->first, SHUT_RDWR);
      it = reading_headers_.erase(it);
    }
  }
}

Status HttpServer::Start() {
  int port = options_.listen.port;
  auto fd = Listen(options_.listen.host, &port);
  if (!fd.ok()) return fd.status();
  port_ = port;
  const unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
  MHD_Daemon* d = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Callbacks::Access, this,  //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(*fd), MHD_OPTION_CONNECTION_LIMIT,
      options_.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, options_.max_connections_per_ip,
      MHD_OPTION_CONNECTION_TIMEOUT, options_.idle_timeout_seconds,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options_.max_header_bytes, MHD_OPTION_THREAD_STACK_SIZE,
      static_cast<size_t>(256 * 1024), MHD_OPTION_NOTIFY_COMPLETED, &Callbacks::Completed, this,
      MHD_OPTION_NOTIFY_CONNECTION, &Callbacks::Connection, this,  //
      MHD_OPTION_END);
  if (d == nullptr) {
    ::close(*fd);
    return Status::IOError("cannot listen on " + options_.listen.host + ":" +
                           std::to_string(options_.listen.port) +
                           ": the HTTP server (libmicrohttpd) did not start");
  }
  daemon_.reset(d);
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = false;
  }
  watchdog_ = std::thread([this] { WatchHeaderDeadlines(); });
  spdlog::info("serving HTTP on {}:{}", options_.listen.host, port_);
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!daemon_) return;
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  daemon_.reset();  // MHD_stop_daemon: closes the listen socket and every connection, joins
  std::lock_guard lock(watch_mu_);
  reading_headers_.clear();
}

}  // namespace sluice::server
