#include "verify/http_check.h"

#include <chrono>

namespace sluice::verify {
namespace {

std::string Attempts(int n) { return std::to_string(n) + (n == 1 ? " attempt" : " attempts"); }

std::string Millis(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// One attempt: ok, or a description of what was wrong.
struct Attempt {
  bool ok = false;
  std::string what;
};

Attempt Judge(const config::HttpCheck& check, const Result<net::HttpResponse>& res,
              std::chrono::steady_clock::duration took) {
  if (!res.ok()) return {false, res.status().ToString()};
  if (res->status != check.expect) {
    return {false,
            std::to_string(res->status) + " (expected " + std::to_string(check.expect) + ")"};
  }
  if (!check.body_contains.empty() && res->body.find(check.body_contains) == std::string::npos) {
    return {false, std::to_string(res->status) + " but the body does not contain \"" +
                       check.body_contains + "\""};
  }
  return {true, std::to_string(res->status) + " in " + Millis(took)};
}

}  // namespace

std::string HttpCheckName(const config::HttpCheck& check) {
  return "http " + net::RedactUrl(check.url);
}

CheckResult RunHttpCheck(net::HttpClient& http, const config::HttpCheck& check,
                         const Waiter& wait) {
  CheckResult out;
  out.name = HttpCheckName(check);
  net::HttpRequest req;
  req.url = check.url;
  req.timeout = check.timeout;
  const int max_attempts = 1 + (check.retries > 0 ? check.retries : 0);
  Attempt last;
  int made = 0;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    if (attempt > 1 && wait(BackoffDelay(attempt - 1))) {
      out.cancelled = true;
      out.detail = "interrupted after " + Attempts(made) + "; last: " + last.what;
      return out;
    }
    auto start = std::chrono::steady_clock::now();
    Result<net::HttpResponse> res = http.Send(req);
    last = Judge(check, res, std::chrono::steady_clock::now() - start);
    made = attempt;
    if (last.ok) {
      out.ok = true;
      out.detail = last.what;
      if (attempt > 1) out.detail += " (attempt " + std::to_string(attempt) + ")";
      return out;
    }
  }
  out.detail = last.what + " after " + Attempts(made);
  return out;
}

}  // namespace sluice::verify
