// Fuzzes the forge JSON readers of approval/forge.cc: GitHubForge and
// GitLabForge::ApprovalsFor over a fake HttpClient that answers the
// controller's GETs from the input.
//
// Input format: the answers, in request order, separated by lines "====".
// An answer that starts with a line "HTTP <status>" has that status, else
// 200; requests beyond the last answer get a 404. Both forges read the same
// answers for the merge commit 1111...1 (40 hex digits).
//
// Contract: never throws or crashes; every failure is a Status.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "approval/forge.h"
#include "net/http_client.h"

namespace {

// Answers each request with the next canned response.
class ReplayHttpClient final : public sluice::net::HttpClient {
 public:
  explicit ReplayHttpClient(std::vector<sluice::net::HttpResponse> answers)
      : answers_(std::move(answers)) {}

  sluice::Result<sluice::net::HttpResponse> Send(const sluice::net::HttpRequest&) override {
    if (next_ >= answers_.size()) {
      sluice::net::HttpResponse missing;
      missing.status = 404;
      missing.body = R"({"message":"Not Found"})";
      return missing;
    }
    return answers_[next_++];
  }

 private:
  std::vector<sluice::net::HttpResponse> answers_;
  size_t next_ = 0;
};

// The answers the input holds (see the format above).
std::vector<sluice::net::HttpResponse> Answers(std::string_view text) {
  constexpr std::string_view kSeparator = "\n====\n";
  std::vector<sluice::net::HttpResponse> out;
  while (true) {
    size_t end = text.find(kSeparator);
    std::string_view part = text.substr(0, end);
    sluice::net::HttpResponse r;
    r.status = 200;
    if (part.size() >= 9 && part.substr(0, 5) == "HTTP " && part[8] == '\n') {
      long status = 0;
      for (char c : part.substr(5, 3)) status = status * 10 + (c >= '0' && c <= '9' ? c - '0' : 0);
      r.status = status;
      part.remove_prefix(9);
    }
    r.body = std::string(part);
    out.push_back(std::move(r));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + kSeparator.size());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<sluice::net::HttpResponse> answers = Answers(text);
  const std::string commit(40, '1');
  {
    ReplayHttpClient http(answers);
    sluice::approval::GitHubForge github(http, "https://api.github.com", "shop/envs", "token");
    (void)github.ApprovalsFor(commit);
  }
  {
    ReplayHttpClient http(answers);
    sluice::approval::GitLabForge gitlab(http, "https://gitlab.com/api/v4", "shop/envs", "token");
    (void)gitlab.ApprovalsFor(commit);
  }
  return 0;
}
