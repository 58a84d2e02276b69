#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace sluice::net {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, ...
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent in order
  std::string body;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  bool follow_redirects = true;
  size_t max_body_bytes = 16 * 1024 * 1024;  // a larger response is an error
  // TLS, all optional (PEM files): the CA bundle that verifies the server
  // instead of the system's, and a client certificate with its key.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct HttpResponse {
  long status = 0;
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The first value of header `name` (case-insensitive), or "".
  std::string Header(const std::string& name) const;
};

// HttpClient is the seam through which Sluice speaks HTTP (verification
// checks, the OCI registry, forge APIs, notifications). Any HTTP status is a
// successful Result; errors are transport failures (IOError: DNS, refused,
// TLS), timeouts (Timeout) and oversized bodies (IOError). Error messages
// name the URL with any user:password stripped; header values are never
// included in errors. Implementations are thread-safe.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// The real client, on libcurl (one easy handle per request).
class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient();
  Result<HttpResponse> Send(const HttpRequest& request) override;
};

// `url` with any "user:password@" removed, for messages and logs.
std::string RedactUrl(const std::string& url);

// Percent-encodes `s` for a URL query value.
std::string UrlEncode(const std::string& s);

}  // namespace sluice::net
