// The one scriptable net::HttpClient of the tests: canned answers by method
// and URL, a handler for everything else, and a record of every request.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/http_client.h"

namespace sluice::testing {

// An HttpClient that never touches the network (unless its handler does).
// Send() records the request, then answers with the response scripted by
// On() for its method and exact URL if there is one, else with the handler
// (by default: 404 with an empty body). Thread-safe; the handler runs
// outside the lock, so it may block or call Send() on another client.
class FakeHttpClient final : public net::HttpClient {
 public:
  using Handler = std::function<Result<net::HttpResponse>(const net::HttpRequest&)>;

  FakeHttpClient();
  explicit FakeHttpClient(Handler handler);
  FakeHttpClient(const FakeHttpClient&) = delete;
  FakeHttpClient& operator=(const FakeHttpClient&) = delete;

  // Answers `method` `url` (exact match) with `response` from now on; a
  // later On() for the same pair replaces it.
  void On(const std::string& method, const std::string& url, Result<net::HttpResponse> response);
  // Replaces the handler for requests no On() matches.
  void SetHandler(Handler handler);

  Result<net::HttpResponse> Send(const net::HttpRequest& request) override;

  // Every request sent so far, in order.
  std::vector<net::HttpRequest> requests() const;
  // The URLs of requests(), in order.
  std::vector<std::string> urls() const;
  // How many requests were sent.
  size_t request_count() const;

 private:
  mutable std::mutex mu_;
  Handler handler_;
  std::map<std::pair<std::string, std::string>, Result<net::HttpResponse>> canned_;
  std::vector<net::HttpRequest> requests_;
};

// A response with `status` and `body` and no headers.
net::HttpResponse Response(long status, std::string body = "");

// A handler that sends every request through `inner` (which must outlive
// it): a FakeHttpClient built with it records and counts real traffic.
FakeHttpClient::Handler ForwardTo(net::HttpClient& inner);

}  // namespace sluice::testing
