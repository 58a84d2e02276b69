// GitHub and GitLab approval lookups over their REST APIs.
//
// References (the shapes the loopback test server reproduces):
//   GitHub: "List pull requests associated with a commit"
//     https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit
//   GitHub: "List reviews for a pull request" (chronological; per_page max 100)
//     https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request
//   GitHub: "Using pagination in the REST API" (link header, rel="next")
//     https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
//   GitHub: "Troubleshooting the REST API" / "Rate limits for the REST API":
//     403 or 429 with x-ratelimit-remaining: 0 -> wait until x-ratelimit-reset
//     (UTC epoch seconds); retry-after: N -> wait N seconds.
//   GitLab: "List merge requests associated with a commit"
//     GET /projects/:id/repository/commits/:sha/merge_requests
//   GitLab: "Merge request approvals API"
//     https://docs.gitlab.com/api/merge_request_approvals.html
//     GET /projects/:id/merge_requests/:iid/approvals -> approved_by[].user.username
//     GET /projects/:id/approvals -> reset_approvals_on_push
//   GitLab rate limits: 429 with Retry-After and RateLimit-Reset (epoch).
//   GitHub: "List pull requests" (state=open, base=<branch>)
//     https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
//     The head of pull request N is published as refs/pull/N/head.
//   GitHub: "Create a commit status" POST /repos/{owner}/{repo}/statuses/{sha}
//     {state: error|failure|pending|success, target_url, description, context} -> 201
//     https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
//   GitLab: "List project merge requests" (state=opened, target_branch=<branch>)
//     https://docs.gitlab.com/api/merge_requests.html#list-project-merge-requests
//     The head of merge request N is published as refs/merge-requests/N/head.
//   GitLab: "Set the pipeline status of a commit" POST /projects/:id/statuses/:sha
//     {state: pending|running|success|failed|canceled, name, target_url, description} -> 201
//     https://docs.gitlab.com/api/commits.html#set-the-pipeline-status-of-a-commit
#include "approval/forge.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"
#include "core/secrets.h"
#include "core/strings.h"
#include "core/text.h"
#include "core/time_format.h"

namespace sluice::approval {
namespace {

using nlohmann::json;

const SystemClock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsHexId(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

// A string field, "" when absent, null or not a string (API objects carry
// nulls for e.g. merged_at of an open pull request).
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// A number or string field rendered as text ("7"); "" when absent.
std::string NumberText(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  if (it->is_string()) return it->get<std::string>();
  return "";
}

const json& Child(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// "scheme://host[:port]" of a URL, for the same-origin check on pagination.
std::string Origin(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// The URL of rel="next" in an RFC 8288 Link header, or "".
std::string NextLink(const std::string& link) {
  size_t pos = 0;
  while (pos < link.size()) {
    size_t open = link.find('<', pos);
    if (open == std::string::npos) return "";
    size_t close = link.find('>', open);
    if (close == std::string::npos) return "";
    size_t end = link.find(',', close);
    std::string params =
        link.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos ||
        params.find("rel=next") != std::string::npos) {
      return link.substr(open + 1, close - open - 1);
    }
    if (end == std::string::npos) return "";
    pos = end + 1;
  }
  return "";
}

std::optional<long long> ParseInteger(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// Talks to one forge API: headers, rate limits, errors, pagination.
class RestClient {
 public:
  RestClient(net::HttpClient& http, std::string api, std::string auth_header,
             std::string auth_value, std::string token, const Clock& clock)
      : http_(http),
        api_(TrimSlash(std::move(api))),
        auth_header_(std::move(auth_header)),
        auth_value_(std::move(auth_value)),
        token_(std::move(token)),
        clock_(clock) {}

  const std::string& api() const { return api_; }

  // A request to the forge API with the headers every call carries: JSON,
  // the API's extra headers, and the token (never followed to a redirect).
  net::HttpRequest Request(const std::string& url) const {
    net::HttpRequest req;
    req.url = url;
    req.follow_redirects = false;  // never carry the token to another place
    req.headers.push_back({"Accept", "application/json"});
    req.headers.push_back({"User-Agent", "sluice"});
    for (const auto& h : extra_headers_) req.headers.push_back(h);
    if (!token_.empty()) req.headers.push_back({auth_header_, auth_value_});
    return req;
  }

  // One GET. On success `*out` holds a 2xx response; a rate-limited answer
  // sets `limited` (and returns ok); any other status is an error.
  Status Get(const std::string& url, net::HttpResponse* out, ForgeApproval* limited) {
    net::HttpRequest req = Request(url);
    Result<net::HttpResponse> res = http_.Send(req);
    if (!res.ok()) return Status(res.status()).WithContext("forge");
    const net::HttpResponse& r = *res;
    if (IsRateLimited(r)) {
      limited->rate_limited = true;
      limited->retry_at = RetryAt(r);
      return Status::Ok();
    }
    if (r.status < 200 || r.status > 299) {
      std::string msg = "GET " + net::RedactUrl(url) + ": HTTP " + std::to_string(r.status);
      std::string detail = ErrorDetail(r.body);
      if (!detail.empty()) msg += ": " + detail;
      if (r.status == 401)
        msg += " (check forge.tokenFile of the controller's --config, or SLUICE_FORGE_TOKEN)";
      if (r.status >= 300 && r.status < 400) {
        msg += " (redirected to " + net::RedactUrl(r.Header("location")) +
               "; set forge.api/forge.repo to the new location)";
      }
      return Status::FailedPrecondition(Scrub(msg));
    }
    *out = r;
    return Status::Ok();
  }

  // GETs `url` and every rel="next" page after it (same origin as the API,
  // at most `max_pages`), appending the elements of each JSON array page.
  Status GetAll(std::string url, std::vector<json>* items, ForgeApproval* limited, int max_pages) {
    const std::string origin = Origin(api_);
    for (int page = 0; page < max_pages && !url.empty(); ++page) {
      net::HttpResponse r;
      SLUICE_RETURN_IF_ERROR(Get(url, &r, limited));
      if (limited->rate_limited) return Status::Ok();
      Result<json> body = ParseJson(url, r.body);
      if (!body.ok()) return body.status();
      if (!body->is_array()) {
        return Status::FailedPrecondition("GET " + net::RedactUrl(url) + ": expected a JSON array");
      }
      for (auto& item : *body) items->push_back(std::move(item));
      std::string next = NextLink(r.Header("link"));
      if (!next.empty() && next.rfind(origin + "/", 0) != 0) {
        return Status::FailedPrecondition("GET " + net::RedactUrl(url) +
                                          ": pagination link leaves the API origin " + origin);
      }
      url = next;
    }
    if (!url.empty()) {
      return Status::FailedPrecondition("GET " + net::RedactUrl(url) + ": more than " +
                                        std::to_string(max_pages) + " pages");
    }
    return Status::Ok();
  }

  // A JSON object from one GET.
  Status GetObject(const std::string& url, json* out, ForgeApproval* limited) {
    net::HttpResponse r;
    SLUICE_RETURN_IF_ERROR(Get(url, &r, limited));
    if (limited->rate_limited) return Status::Ok();
    Result<json> body = ParseJson(url, r.body);
    if (!body.ok()) return body.status();
    if (!body->is_object()) {
      return Status::FailedPrecondition("GET " + net::RedactUrl(url) + ": expected a JSON object");
    }
    *out = std::move(*body);
    return Status::Ok();
  }

  // One POST of a JSON object; `*out` is the JSON object of a 2xx answer.
  // Every other answer (a rate limit included: a person is waiting, not a
  // loop that can retry later) is FailedPrecondition with the forge's reason.
  Status PostObject(const std::string& url, const json& body, json* out,
                    const char* permission =
                        "the token needs permission to open pull/merge requests on this "
                        "repository") {
    net::HttpRequest req = Request(url);
    req.method = "POST";
    req.body = DumpJson(body);
    req.headers.push_back({"Content-Type", "application/json"});
    Result<net::HttpResponse> res = http_.Send(req);
    if (!res.ok()) return Status(res.status()).WithContext("forge");
    const net::HttpResponse& r = *res;
    if (r.status < 200 || r.status > 299) {
      std::string msg = "POST " + net::RedactUrl(url) + ": HTTP " + std::to_string(r.status);
      std::string detail = ErrorDetail(r.body);
      if (!detail.empty()) msg += ": " + detail;
      if (IsRateLimited(r)) {
        auto at = RetryAt(r);
        msg += at ? " (rate limited until " + FormatRfc3339(*at) + "; run the command again then)"
                  : " (rate limited; run the command again later)";
      } else if (r.status == 401) {
        msg += " (check forge.tokenFile of the controller's --config, or SLUICE_FORGE_TOKEN)";
      } else if (r.status == 403 || r.status == 404) {
        msg += std::string(" (") + permission + ")";
      }
      return Status::FailedPrecondition(Scrub(msg));
    }
    Result<json> parsed = ParseJson(url, r.body);
    if (!parsed.ok()) return parsed.status();
    if (!parsed->is_object()) {
      return Status::FailedPrecondition("POST " + net::RedactUrl(url) + ": expected a JSON object");
    }
    *out = std::move(*parsed);
    return Status::Ok();
  }

  void AddHeader(std::string name, std::string value) {
    extra_headers_.push_back({std::move(name), std::move(value)});
  }

 private:
  static Result<json> ParseJson(const std::string& url, const std::string& body) {
    try {
      return json::parse(body);
    } catch (const std::exception& e) {
      return Status::FailedPrecondition("GET " + net::RedactUrl(url) +
                                        ": response is not JSON: " + e.what());
    }
  }

  // GitHub: 403/429 with x-ratelimit-remaining: 0 (primary limit) or with
  // retry-after or a "rate limit" message (secondary limit). GitLab: 429,
  // with RateLimit-* / Retry-After when it sends them.
  static bool IsRateLimited(const net::HttpResponse& r) {
    if (r.status == 429) return true;
    if (r.status != 403) return false;
    if (r.Header("x-ratelimit-remaining") == "0") return true;
    if (r.Header("ratelimit-remaining") == "0") return true;
    if (!r.Header("retry-after").empty()) return true;
    return Lower(r.body).find("rate limit") != std::string::npos;
  }

  std::optional<TimePoint> RetryAt(const net::HttpResponse& r) const {
    if (auto secs = ParseInteger(r.Header("retry-after")); secs && *secs >= 0) {
      return clock_.Now() + std::chrono::seconds(*secs);
    }
    for (const char* h : {"x-ratelimit-reset", "ratelimit-reset"}) {
      if (auto epoch = ParseInteger(r.Header(h)); epoch && *epoch > 0) {
        return TimePoint(std::chrono::seconds(*epoch));
      }
    }
    return std::nullopt;
  }

  // The forge's own error message ("Not Found", "Bad credentials"), short.
  static std::string ErrorDetail(const std::string& body) {
    std::string detail;
    try {
      json j = json::parse(body);
      if (j.is_object()) {
        auto it = j.find("message");
        if (it != j.end()) detail = it->is_string() ? it->get<std::string>() : it->dump();
        if (detail.empty()) detail = Str(j, "error");
        // GitHub's 422 "Validation Failed" says what failed in errors[].
        if (auto e = j.find("errors"); e != j.end() && e->is_array()) {
          for (const json& item : *e) {
            std::string m = item.is_string() ? item.get<std::string>() : Str(item, "message");
            if (!m.empty()) detail += (detail.empty() ? "" : ": ") + m;
          }
        }
      }
    } catch (const std::exception&) {
      detail = body;
    }
    for (char& c : detail) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    if (detail.size() > 200) detail = std::string(TruncateUtf8(detail, 200)) + "...";
    return detail;
  }

  // A forge may echo what it was sent; the token never leaves in a message.
  std::string Scrub(std::string text) const {
    if (token_.empty()) return text;
    for (size_t pos = text.find(token_); pos != std::string::npos; pos = text.find(token_, pos)) {
      text.replace(pos, token_.size(), "***");
      pos += 3;
    }
    return text;
  }

  net::HttpClient& http_;
  std::string api_;
  std::string auth_header_;
  std::string auth_value_;
  std::string token_;
  const Clock& clock_;
  std::vector<std::pair<std::string, std::string>> extra_headers_;
};

ForgeApproval Limited(const ForgeApproval& limited) {
  ForgeApproval out;
  out.rate_limited = true;
  out.retry_at = limited.retry_at;
  return out;
}

// The reviews of GitHub pull request `number`, judged against `out.head_sha`
// (which `head_word` names in reasons: "merged head", "head").
Result<ForgeApproval> GitHubReviews(RestClient& rest, const std::string& base,
                                    const std::string& number, ForgeApproval out,
                                    const char* head_word) {
  ForgeApproval limited;
  std::vector<json> reviews;
  SLUICE_RETURN_IF_ERROR(rest.GetAll(base + "/pulls/" + number + "/reviews?per_page=100", &reviews,
                                     &limited, GitHubForge::kMaxPages));
  if (limited.rate_limited) return Limited(limited);

  // Reviews come in chronological order. A reviewer's standing is their
  // latest decisive review; a later COMMENTED review (or a PENDING draft)
  // neither grants nor withdraws approval, as on GitHub itself.
  std::vector<std::string> order;  // lower-cased logins, first appearance
  std::map<std::string, const json*> latest;
  for (const json& r : reviews) {
    const std::string login = Str(Child(r, "user"), "login");
    const std::string state = Str(r, "state");
    if (login.empty()) continue;  // deleted account ("ghost"): nobody to count
    if (state != "APPROVED" && state != "CHANGES_REQUESTED" && state != "DISMISSED") continue;
    const std::string key = Lower(login);
    if (!latest.count(key)) order.push_back(key);
    latest[key] = &r;
  }
  for (const std::string& key : order) {
    const json& r = *latest[key];
    const std::string login = Str(Child(r, "user"), "login");
    const std::string state = Str(r, "state");
    const std::string commit = Str(r, "commit_id");
    if (state == "APPROVED" && commit == out.head_sha) {
      out.approvers.push_back(
          {login, "github review " + NumberText(r, "id") + " on " + ShortId(out.head_sha)});
    } else if (state == "APPROVED") {
      out.rejected.push_back({login, "approval was for an older head " + ShortId(commit) + " (" +
                                         head_word + " " + ShortId(out.head_sha) + ")"});
    } else if (state == "DISMISSED") {
      out.rejected.push_back({login, "review was dismissed"});
    } else {
      out.rejected.push_back({login, "review requested changes"});
    }
  }
  return out;
}

// The approvals of GitLab merge request `iid` (whose head is out.head_sha;
// `head_word` names it in reasons).
Result<ForgeApproval> GitLabApprovals(RestClient& rest, const std::string& base,
                                      const std::string& iid, ForgeApproval out,
                                      const char* head_word) {
  ForgeApproval limited;
  // Approvals carry no commit id; they are bound to the head only when the
  // project resets them on push. Unknown counts as off.
  bool reset_on_push = false;
  {
    json settings;
    ForgeApproval probe;
    Status s = rest.GetObject(base + "/approvals", &settings, &probe);
    if (probe.rate_limited) return Limited(probe);
    if (s.ok()) {
      auto it = settings.find("reset_approvals_on_push");
      reset_on_push = it != settings.end() && it->is_boolean() && it->get<bool>();
    }
  }

  json approvals;
  SLUICE_RETURN_IF_ERROR(
      rest.GetObject(base + "/merge_requests/" + iid + "/approvals", &approvals, &limited));
  if (limited.rate_limited) return Limited(limited);
  const json& by = Child(approvals, "approved_by");
  if (!by.is_array()) {
    return Status::FailedPrecondition("GitLab approvals of " + out.number +
                                      " lack an approved_by array");
  }
  std::vector<std::string> seen;
  for (const json& entry : by) {
    const std::string login = Str(Child(entry, "user"), "username");
    if (login.empty() || std::find(seen.begin(), seen.end(), Lower(login)) != seen.end()) continue;
    seen.push_back(Lower(login));
    if (reset_on_push) {
      out.approvers.push_back({login, "gitlab approval of " + out.number + " on " +
                                          ShortId(out.head_sha) + " (approvals reset on push)"});
    } else {
      out.rejected.push_back({login, std::string("approval is not bound to the ") + head_word +
                                         " (the project does not reset approvals on push)"});
    }
  }
  return out;
}

// What the forge says about an open change before its reviews are read.
ForgeApproval FoundAs(const OpenChange& change) {
  ForgeApproval out;
  out.found = true;
  out.number = change.number;
  out.url = change.url;
  out.author = change.author;
  out.head_sha = change.head_sha;
  return out;
}

// Only what the APIs document: a decimal number and a 40-hex head. Anything
// else is skipped rather than fetched by a ref name the forge made up.
bool Documented(const std::string& number, const std::string& head_sha) {
  return !number.empty() && std::all_of(number.begin(), number.end(), ::isdigit) &&
         IsHexId(head_sha);
}

// A rate-limited answer of a listing, as the error the caller logs.
Status LimitedError(const char* what, const ForgeApproval& limited) {
  return Status::FailedPrecondition(
      std::string(what) + ": forge rate limited" +
      (limited.retry_at ? " until " + FormatRfc3339(*limited.retry_at) : std::string()));
}

// The forges' limits on a status description (GitHub: 140 characters).
std::string StatusDescription(const std::string& text) {
  constexpr size_t kMax = 140;
  if (text.size() <= kMax) return text;
  return std::string(TruncateUtf8(text, kMax - 3)) + "...";
}

}  // namespace

// --- GitHub -----------------------------------------------------------------

GitHubForge::GitHubForge(net::HttpClient& http, std::string api, std::string repo,
                         std::string token, const Clock* clock)
    : http_(http),
      api_(std::move(api)),
      repo_(std::move(repo)),
      token_(std::move(token)),
      clock_(clock) {}

Result<ForgeApproval> GitHubForge::ApprovalsFor(const std::string& merge_commit) {
  if (!IsHexId(merge_commit)) {
    return Status::InvalidArgument("not a commit id: \"" + merge_commit + "\"");
  }
  RestClient rest(http_, api_, "Authorization", "Bearer " + token_, token_,
                  clock_ ? *clock_ : DefaultClock());
  rest.AddHeader("X-GitHub-Api-Version", "2022-11-28");
  const std::string base = rest.api() + "/repos/" + repo_;
  ForgeApproval limited;

  std::vector<json> pulls;
  SLUICE_RETURN_IF_ERROR(rest.GetAll(base + "/commits/" + merge_commit + "/pulls?per_page=100",
                                     &pulls, &limited, kMaxPages));
  if (limited.rate_limited) return Limited(limited);

  // Only the pull request that was merged AS this commit: a commit can appear
  // in several pull requests (an open one that contains it, a revert, ...),
  // and their approvals are for something else.
  const json* pr = nullptr;
  for (const json& p : pulls) {
    if (Str(p, "merge_commit_sha") == merge_commit && !Str(p, "merged_at").empty()) {
      pr = &p;
      break;
    }
  }
  ForgeApproval out;
  if (pr == nullptr) return out;
  out.found = true;
  const std::string number = NumberText(*pr, "number");
  out.number = "#" + number;
  out.url = Str(*pr, "html_url");
  out.author = Str(Child(*pr, "user"), "login");
  out.head_sha = Str(Child(*pr, "head"), "sha");
  if (number.empty() || !IsHexId(out.head_sha)) {
    return Status::FailedPrecondition("GitHub pull request for " + merge_commit +
                                      " lacks number or head.sha");
  }

  return GitHubReviews(rest, base, number, std::move(out), "merged head");
}

Result<OpenedPullRequest> GitHubForge::OpenPullRequest(const PullRequestToOpen& pr) {
  RestClient rest(http_, api_, "Authorization", "Bearer " + token_, token_,
                  clock_ ? *clock_ : DefaultClock());
  rest.AddHeader("X-GitHub-Api-Version", "2022-11-28");
  json answer;
  SLUICE_RETURN_IF_ERROR(rest.PostObject(
      rest.api() + "/repos/" + repo_ + "/pulls",
      json{{"title", pr.title}, {"head", pr.head}, {"base", pr.base}, {"body", pr.body}}, &answer));
  OpenedPullRequest out{"#" + NumberText(answer, "number"), Str(answer, "html_url")};
  if (out.number == "#" || out.url.empty()) {
    return Status::FailedPrecondition(
        "GitHub opened a pull request but its answer lacks number "
        "or html_url");
  }
  return out;
}

Result<std::vector<OpenChange>> GitHubForge::OpenChanges(const std::string& base_branch) {
  RestClient rest(http_, api_, "Authorization", "Bearer " + token_, token_,
                  clock_ ? *clock_ : DefaultClock());
  rest.AddHeader("X-GitHub-Api-Version", "2022-11-28");
  ForgeApproval limited;
  std::vector<json> pulls;
  SLUICE_RETURN_IF_ERROR(rest.GetAll(rest.api() + "/repos/" + repo_ + "/pulls?state=open&base=" +
                                         net::UrlEncode(base_branch) + "&per_page=100",
                                     &pulls, &limited, kMaxPages));
  if (limited.rate_limited) return LimitedError("list open pull requests", limited);
  std::vector<OpenChange> out;
  for (const json& p : pulls) {
    const std::string number = NumberText(p, "number");
    OpenChange c{"#" + number, Str(p, "html_url"), Str(Child(p, "user"), "login"),
                 Str(Child(p, "head"), "sha"), "refs/pull/" + number + "/head"};
    if (Documented(number, c.head_sha)) out.push_back(std::move(c));
  }
  return out;
}

Result<ForgeApproval> GitHubForge::ApprovalsOfOpen(const OpenChange& change) {
  const std::string number = change.number.substr(change.number.rfind('#') + 1);
  if (number.empty() || !IsHexId(change.head_sha)) {
    return Status::InvalidArgument("not an open pull request: " + change.number);
  }
  RestClient rest(http_, api_, "Authorization", "Bearer " + token_, token_,
                  clock_ ? *clock_ : DefaultClock());
  rest.AddHeader("X-GitHub-Api-Version", "2022-11-28");
  ForgeApproval out = FoundAs(change);
  return GitHubReviews(rest, rest.api() + "/repos/" + repo_, number, std::move(out), "head");
}

Status GitHubForge::PostCommitStatus(const CommitStatusUpdate& status) {
  if (!IsHexId(status.sha)) return Status::InvalidArgument("not a commit id: " + status.sha);
  RestClient rest(http_, api_, "Authorization", "Bearer " + token_, token_,
                  clock_ ? *clock_ : DefaultClock());
  rest.AddHeader("X-GitHub-Api-Version", "2022-11-28");
  json body{{"state", status.state},
            {"context", status.context},
            {"description", StatusDescription(status.description)}};
  if (!status.target_url.empty()) body["target_url"] = status.target_url;
  json answer;
  return rest.PostObject(rest.api() + "/repos/" + repo_ + "/statuses/" + status.sha, body, &answer,
                         "the token needs the statuses permission (commit statuses: write) on "
                         "this repository");
}

// --- GitLab -----------------------------------------------------------------

GitLabForge::GitLabForge(net::HttpClient& http, std::string api, std::string project,
                         std::string token, const Clock* clock)
    : http_(http),
      api_(std::move(api)),
      project_(std::move(project)),
      token_(std::move(token)),
      clock_(clock) {}

Result<ForgeApproval> GitLabForge::ApprovalsFor(const std::string& merge_commit) {
  if (!IsHexId(merge_commit)) {
    return Status::InvalidArgument("not a commit id: \"" + merge_commit + "\"");
  }
  RestClient rest(http_, api_, "PRIVATE-TOKEN", token_, token_, clock_ ? *clock_ : DefaultClock());
  const bool numeric =
      !project_.empty() && std::all_of(project_.begin(), project_.end(),
                                       [](unsigned char c) { return std::isdigit(c); });
  const std::string base =
      rest.api() + "/projects/" + (numeric ? project_ : net::UrlEncode(project_));
  ForgeApproval limited;

  std::vector<json> mrs;
  SLUICE_RETURN_IF_ERROR(
      rest.GetAll(base + "/repository/commits/" + merge_commit + "/merge_requests?per_page=100",
                  &mrs, &limited, GitHubForge::kMaxPages));
  if (limited.rate_limited) return Limited(limited);

  const json* mr = nullptr;
  for (const json& m : mrs) {
    if (Str(m, "state") != "merged") continue;
    const std::string merge_sha = Str(m, "merge_commit_sha");
    const std::string squash_sha = Str(m, "squash_commit_sha");
    // A fast-forward merge writes no merge commit: the MR head itself lands.
    const bool fast_forward =
        merge_sha.empty() && squash_sha.empty() && Str(m, "sha") == merge_commit;
    if (merge_sha == merge_commit || squash_sha == merge_commit || fast_forward) {
      mr = &m;
      break;
    }
  }
  ForgeApproval out;
  if (mr == nullptr) return out;
  out.found = true;
  const std::string iid = NumberText(*mr, "iid");
  out.number = "!" + iid;
  out.url = Str(*mr, "web_url");
  out.author = Str(Child(*mr, "author"), "username");
  out.head_sha = Str(*mr, "sha");
  if (iid.empty() || !IsHexId(out.head_sha)) {
    return Status::FailedPrecondition("GitLab merge request for " + merge_commit +
                                      " lacks iid or sha");
  }

  return GitLabApprovals(rest, base, iid, std::move(out), "merged head");
}

Result<OpenedPullRequest> GitLabForge::OpenPullRequest(const PullRequestToOpen& pr) {
  RestClient rest(http_, api_, "PRIVATE-TOKEN", token_, token_, clock_ ? *clock_ : DefaultClock());
  const bool numeric =
      !project_.empty() && std::all_of(project_.begin(), project_.end(),
                                       [](unsigned char c) { return std::isdigit(c); });
  json answer;
  SLUICE_RETURN_IF_ERROR(rest.PostObject(rest.api() + "/projects/" +
                                             (numeric ? project_ : net::UrlEncode(project_)) +
                                             "/merge_requests",
                                         json{{"source_branch", pr.head},
                                              {"target_branch", pr.base},
                                              {"title", pr.title},
                                              {"description", pr.body},
                                              {"remove_source_branch", true}},
                                         &answer));
  OpenedPullRequest out{"!" + NumberText(answer, "iid"), Str(answer, "web_url")};
  if (out.number == "!" || out.url.empty()) {
    return Status::FailedPrecondition(
        "GitLab opened a merge request but its answer lacks iid or "
        "web_url");
  }
  return out;
}

std::string GitLabForge::ProjectPath() const {
  const bool numeric =
      !project_.empty() && std::all_of(project_.begin(), project_.end(),
                                       [](unsigned char c) { return std::isdigit(c); });
  return "/projects/" + (numeric ? project_ : net::UrlEncode(project_));
}

Result<std::vector<OpenChange>> GitLabForge::OpenChanges(const std::string& base_branch) {
  RestClient rest(http_, api_, "PRIVATE-TOKEN", token_, token_, clock_ ? *clock_ : DefaultClock());
  ForgeApproval limited;
  std::vector<json> mrs;
  SLUICE_RETURN_IF_ERROR(rest.GetAll(rest.api() + ProjectPath() +
                                         "/merge_requests?state=opened&target_branch=" +
                                         net::UrlEncode(base_branch) + "&per_page=100",
                                     &mrs, &limited, GitHubForge::kMaxPages));
  if (limited.rate_limited) return LimitedError("list open merge requests", limited);
  std::vector<OpenChange> out;
  for (const json& m : mrs) {
    const std::string iid = NumberText(m, "iid");
    OpenChange c{"!" + iid, Str(m, "web_url"), Str(Child(m, "author"), "username"), Str(m, "sha"),
                 "refs/merge-requests/" + iid + "/head"};
    if (Documented(iid, c.head_sha)) out.push_back(std::move(c));
  }
  return out;
}

Result<ForgeApproval> GitLabForge::ApprovalsOfOpen(const OpenChange& change) {
  const std::string iid = change.number.substr(change.number.rfind('!') + 1);
  if (iid.empty() || !IsHexId(change.head_sha)) {
    return Status::InvalidArgument("not an open merge request: " + change.number);
  }
  RestClient rest(http_, api_, "PRIVATE-TOKEN", token_, token_, clock_ ? *clock_ : DefaultClock());
  ForgeApproval out = FoundAs(change);
  return GitLabApprovals(rest, rest.api() + ProjectPath(), iid, std::move(out), "head");
}

Status GitLabForge::PostCommitStatus(const CommitStatusUpdate& status) {
  if (!IsHexId(status.sha)) return Status::InvalidArgument("not a commit id: " + status.sha);
  RestClient rest(http_, api_, "PRIVATE-TOKEN", token_, token_, clock_ ? *clock_ : DefaultClock());
  // GitLab names the states pending, running, success, failed, canceled.
  json body{{"state", status.state == "failure" ? "failed" : status.state},
            {"name", status.context},
            {"description", StatusDescription(status.description)}};
  if (!status.target_url.empty()) body["target_url"] = status.target_url;
  json answer;
  return rest.PostObject(rest.api() + ProjectPath() + "/statuses/" + status.sha, body, &answer,
                         "the token needs the api scope and at least the Developer role on this "
                         "project");
}

// --- construction -------------------------------------------------------------

Result<std::string> LoadForgeToken(const config::ForgeSettings& settings,
                                   std::string_view fallback) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  std::string line;
  if (settings.token_file.empty()) {
    line = std::string(fallback);
  } else {
    std::ifstream in(settings.token_file);
    if (!in) {
      return Status::IOError("cannot read forge.tokenFile " + settings.token_file +
                             " (a file on the controller's host, readable by its user only)");
    }
    std::getline(in, line);
  }
  line.erase(line.begin(), std::find_if(line.begin(), line.end(), not_space));
  line.erase(std::find_if(line.rbegin(), line.rend(), not_space).base(), line.end());
  RegisterSecret(line);
  return line;
}

Result<std::unique_ptr<Forge>> MakeForge(const config::ForgeSettings& settings,
                                         net::HttpClient& http, const std::string& token,
                                         const Clock* clock) {
  if (settings.repo.empty()) {
    return Status::InvalidArgument("forge.repo is required (in the controller's --config)");
  }
  if (settings.type == "github") {
    std::string api = settings.api.empty() ? "https://api.github.com" : settings.api;
    return std::unique_ptr<Forge>(
        std::make_unique<GitHubForge>(http, api, settings.repo, token, clock));
  }
  if (settings.type == "gitlab") {
    std::string api = settings.api.empty() ? "https://gitlab.com/api/v4" : settings.api;
    return std::unique_ptr<Forge>(
        std::make_unique<GitLabForge>(http, api, settings.repo, token, clock));
  }
  return Status::InvalidArgument("forge.type must be github or gitlab, not \"" + settings.type +
                                 "\"");
}

}  // namespace sluice::approval
