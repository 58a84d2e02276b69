#include "support/fake_http.h"

namespace sluice::testing {

FakeHttpClient::FakeHttpClient()
    : FakeHttpClient(
          [](const net::HttpRequest&) -> Result<net::HttpResponse> { return Response(404); }) {}

FakeHttpClient::FakeHttpClient(Handler handler) : handler_(std::move(handler)) {}

void FakeHttpClient::On(const std::string& method, const std::string& url,
                        Result<net::HttpResponse> response) {
  std::lock_guard lock(mu_);
  canned_.insert_or_assign({method, url}, std::move(response));
}

void FakeHttpClient::SetHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

Result<net::HttpResponse> FakeHttpClient::Send(const net::HttpRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    auto it = canned_.find({request.method, request.url});
    if (it != canned_.end()) return it->second;
    handler = handler_;
  }
  // Outside the lock: a handler may block (a stalled server) or be slow.
  return handler(request);
}

std::vector<net::HttpRequest> FakeHttpClient::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<std::string> FakeHttpClient::urls() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> urls;
  urls.reserve(requests_.size());
  for (const net::HttpRequest& r : requests_) urls.push_back(r.url);
  return urls;
}

size_t FakeHttpClient::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

net::HttpResponse Response(long status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FakeHttpClient::Handler ForwardTo(net::HttpClient& inner) {
  return [&inner](const net::HttpRequest& request) { return inner.Send(request); };
}

}  // namespace sluice::testing
