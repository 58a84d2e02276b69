#include "fixtures.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/wait_until.h"

namespace sluice::approval::testing {
namespace {

std::string Chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

// --- repository ----------------------------------------------------------------

RepoFixture::RepoFixture() : work_(tmp_.Sub("work")) {
  sluice::testing::WriteFile(work_ + "/.keep", "");
  Git({"init", "--quiet", "-b", "main", work_}, kCarol);
  base_ =
      Commit({{kPin, "artifact: {digest: sha256:0000}\n"}, {"sluice.yaml", "pipeline: [prod]\n"}},
             "initial", kCarol);
}

std::string RepoFixture::Git(const std::vector<std::string>& args, const Identity& as) {
  std::vector<std::string> argv = {"git", "-C", work_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = sluice::testing::RunCommand(
      argv, "",
      {"GIT_AUTHOR_NAME=" + as.name, "GIT_AUTHOR_EMAIL=" + as.email,
       "GIT_COMMITTER_NAME=" + as.name, "GIT_COMMITTER_EMAIL=" + as.email, "GIT_CONFIG_NOSYSTEM=1",
       "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"});
  EXPECT_EQ(r.exit_code, 0) << "git failed: " << r.err;
  return Chomp(r.out);
}

SshKey RepoFixture::MakeKey(const Identity& who) {
  std::string file = tmp_.Sub("key-" + who.name + "-" + std::to_string(++counter_));
  auto r = sluice::testing::RunCommand(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who.email, "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string pub = Chomp(sluice::testing::ReadFile(file + ".pub"));
  // "ssh-ed25519 AAAA... comment" -> "email ssh-ed25519 AAAA..."
  auto second_space = pub.find(' ', pub.find(' ') + 1);
  return {file, who.email + " " + pub.substr(0, second_space)};
}

std::string RepoFixture::Commit(const std::map<std::string, std::string>& files,
                                const std::string& message, const Identity& author) {
  for (const auto& [path, content] : files) sluice::testing::WriteFile(work_ + "/" + path, content);
  Git({"add", "--all"}, author);
  Git({"commit", "--quiet", "--allow-empty", "-m", message}, author);
  return Git({"rev-parse", "HEAD"}, author);
}

void RepoFixture::Checkout(const std::string& branch, bool create) {
  if (create) {
    Git({"checkout", "--quiet", "-b", branch}, kCarol);
  } else {
    Git({"checkout", "--quiet", branch}, kCarol);
  }
}

std::string RepoFixture::Merge(const std::string& branch, const std::string& message,
                               const Identity& committer, const std::string& key) {
  Checkout("main");
  std::vector<std::string> args;
  if (!key.empty()) {
    args = {"-c",    "gpg.format=ssh", "-c",      "user.signingkey=" + key,
            "merge", "--quiet",        "--no-ff", "-S",
            "-m",    message,          branch};
  } else {
    args = {"merge", "--quiet", "--no-ff", "-m", message, branch};
  }
  Git(args, committer);
  return Git({"rev-parse", "HEAD"}, committer);
}

std::pair<std::string, std::string> RepoFixture::PullRequest(
    const std::string& branch, const Identity& author, const Identity& merger,
    const std::string& key, const std::map<std::string, std::string>& extra) {
  Checkout(branch, true);
  std::map<std::string, std::string> files = extra;
  files[kPin] = "artifact: {digest: sha256:" + std::to_string(++counter_) + "}\n";
  std::string head = Commit(files, "promote api", author);
  std::string merge = Merge(branch, "Merge pull request #7 from shop/" + branch, merger, key);
  return {head, merge};
}

// --- JSON shapes ----------------------------------------------------------------

json GitHubPull(int number, const std::string& author, const std::string& head,
                const std::string& merge_commit, bool merged) {
  const std::string n = std::to_string(number);
  return json{
      {"url", "https://api.github.com/repos/shop/environments/pulls/" + n},
      {"id", 1000 + number},
      {"number", number},
      {"state", merged ? "closed" : "open"},
      {"title", "Promote api"},
      {"html_url", "https://github.com/shop/environments/pull/" + n},
      {"user", {{"login", author}, {"id", 42}, {"type", "User"}}},
      {"created_at", "2026-03-02T09:00:00Z"},
      {"merged_at", merged ? json("2026-03-02T10:00:00Z") : json(nullptr)},
      {"merge_commit_sha", merge_commit},
      {"head", {{"label", "shop:promote"}, {"ref", "promote"}, {"sha", head}}},
      {"base", {{"label", "shop:main"}, {"ref", "main"}}},
  };
}

json GitHubReview(long id, const std::string& login, const std::string& state,
                  const std::string& commit_id) {
  return json{
      {"id", id},
      {"node_id", "PRR_" + std::to_string(id)},
      {"user", {{"login", login}, {"id", id % 1000}, {"type", "User"}}},
      {"body", state == "APPROVED" ? "LGTM" : ""},
      {"state", state},
      {"html_url",
       "https://github.com/shop/environments/pull/7#pullrequestreview-" + std::to_string(id)},
      {"pull_request_url", "https://api.github.com/repos/shop/environments/pulls/7"},
      {"submitted_at", "2026-03-02T09:30:00Z"},
      {"commit_id", commit_id},
      {"author_association", "MEMBER"},
  };
}

// --- servers ---------------------------------------------------------------------

void LoopbackServer::Start() {
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  sluice::testing::WaitUntil([this] { return server_.is_running(); }, std::chrono::seconds(2),
                             "the loopback server to accept");
}

LoopbackServer::~LoopbackServer() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

FakeGitHub::FakeGitHub() {
  server_.Get(R"(/repos/([^/]+)/([^/]+)/commits/([0-9a-f]{40})/pulls)",
              [this](const httplib::Request& req, httplib::Response& res) {
                if (Limited(req, res)) return;
                std::lock_guard lock(mu_);
                auto it = pulls_.find(req.matches[3]);
                res.set_content(it == pulls_.end() ? "[]" : it->second.dump(),
                                "application/json; charset=utf-8");
              });
  server_.Get(R"(/repos/([^/]+)/([^/]+)/pulls/(\d+)/reviews)", [this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    if (Limited(req, res)) return;
    ++review_pages_;
    int number = std::stoi(req.matches[3]);
    // per_page: default 30, max 100; page: 1-based.
    int per_page =
        req.has_param("per_page") ? std::min(100, std::stoi(req.get_param_value("per_page"))) : 30;
    int page = req.has_param("page") ? std::stoi(req.get_param_value("page")) : 1;
    std::lock_guard lock(mu_);
    const auto& all = reviews_[number];
    json body = json::array();
    size_t from = static_cast<size_t>((page - 1) * per_page);
    for (size_t i = from; i < all.size() && i < from + per_page; ++i) {
      body.push_back(all[i]);
    }
    int last = std::max<int>(1, (static_cast<int>(all.size()) + per_page - 1) / per_page);
    std::string self = api() + "/repos/" + req.matches[1].str() + "/" + req.matches[2].str() +
                       "/pulls/" + std::to_string(number) +
                       "/reviews?per_page=" + std::to_string(per_page) + "&page=";
    std::string link;
    if (page > 1) link += "<" + self + std::to_string(page - 1) + ">; rel=\"prev\", ";
    if (page < last) link += "<" + self + std::to_string(page + 1) + ">; rel=\"next\", ";
    if (last > 1) {
      link += "<" + self + std::to_string(last) + ">; rel=\"last\", <" + self + "1>; rel=\"first\"";
      res.set_header("Link", link);
    }
    res.set_header("X-RateLimit-Remaining", "4999");
    res.set_content(body.dump(), "application/json; charset=utf-8");
  });
  Start();
}

bool FakeGitHub::Limited(const httplib::Request& req, httplib::Response& res) {
  {
    std::lock_guard lock(mu_);
    auth_.push_back(req.get_header_value("Authorization"));
  }
  switch (mode_.load()) {
    case Mode::kNormal:
      return false;
    case Mode::kPrimaryLimit403:
      res.status = 403;
      res.set_header("X-RateLimit-Limit", "5000");
      res.set_header("X-RateLimit-Remaining", "0");
      res.set_header("X-RateLimit-Used", "5000");
      res.set_header("X-RateLimit-Reset", std::to_string(reset_epoch));
      res.set_content(
          R"({"message":"API rate limit exceeded for user ID 42.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})",
          "application/json; charset=utf-8");
      return true;
    case Mode::kSecondaryLimit429:
      res.status = 429;
      res.set_header("Retry-After", "60");
      res.set_content(
          R"({"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})",
          "application/json; charset=utf-8");
      return true;
    case Mode::kEchoAuth401:
      // A misbehaving proxy that echoes what it was sent.
      res.status = 401;
      res.set_content(json{{"message", "Bad credentials: " + req.get_header_value("Authorization")},
                           {"documentation_url", "https://docs.github.com/rest"}}
                          .dump(),
                      "application/json; charset=utf-8");
      return true;
  }
  return false;
}

void FakeGitHub::AddPull(const std::string& commit, json pull) {
  std::lock_guard lock(mu_);
  if (!pulls_.count(commit)) pulls_[commit] = json::array();
  pulls_[commit].push_back(std::move(pull));
}

void FakeGitHub::SetReviews(int number, std::vector<json> reviews) {
  std::lock_guard lock(mu_);
  reviews_[number] = std::move(reviews);
}

std::vector<std::string> FakeGitHub::authorizations() const {
  std::lock_guard lock(mu_);
  return auth_;
}

FakeGitLab::FakeGitLab() {
  auto record = [this](const httplib::Request& req) {
    std::lock_guard lock(mu_);
    tokens_.push_back(req.get_header_value("PRIVATE-TOKEN"));
    projects_.push_back(req.matches[1]);
  };
  server_.Get(R"(/api/v4/projects/(.+)/repository/commits/([0-9a-f]{40})/merge_requests)",
              [this, record](const httplib::Request& req, httplib::Response& res) {
                record(req);
                std::lock_guard lock(mu_);
                auto it = mrs_.find(req.matches[2]);
                res.set_content(it == mrs_.end() ? "[]" : it->second.dump(), "application/json");
              });
  server_.Get(R"(/api/v4/projects/(.+)/merge_requests/(\d+)/approvals)",
              [this, record](const httplib::Request& req, httplib::Response& res) {
                record(req);
                std::lock_guard lock(mu_);
                int iid = std::stoi(req.matches[2]);
                json by = json::array();
                for (const auto& u : approvers_[iid]) {
                  by.push_back({{"user",
                                 {{"name", u},
                                  {"username", u},
                                  {"id", 7},
                                  {"state", "active"},
                                  {"web_url", "https://gitlab.example.com/" + u}}}});
                }
                json body = {{"id", 5000 + iid},    {"iid", iid},
                             {"project_id", 3},     {"title", "Promote api"},
                             {"state", "merged"},   {"merge_status", "can_be_merged"},
                             {"approved", true},    {"approvals_required", 2},
                             {"approvals_left", 0}, {"approved_by", by}};
                res.set_content(body.dump(), "application/json");
              });
  server_.Get(R"(/api/v4/projects/(.+)/approvals)",
              [this, record](const httplib::Request& req, httplib::Response& res) {
                record(req);
                json body = {{"approvers", json::array()},
                             {"approver_groups", json::array()},
                             {"approvals_before_merge", 2},
                             {"reset_approvals_on_push", reset_approvals_on_push},
                             {"disable_overriding_approvers_per_merge_request", true},
                             {"merge_requests_author_approval", false},
                             {"merge_requests_disable_committers_approval", true}};
                res.set_content(body.dump(), "application/json");
              });
  Start();
}

void FakeGitLab::AddMergeRequest(const std::string& commit, int iid, const std::string& author,
                                 const std::string& head, const std::string& merge_commit) {
  json mr = {{"id", 5000 + iid},
             {"iid", iid},
             {"project_id", 3},
             {"title", "Promote api"},
             {"state", "merged"},
             {"merged_at", "2026-03-02T10:00:00.000Z"},
             {"target_branch", "main"},
             {"source_branch", "promote"},
             {"author", {{"id", 1}, {"username", author}, {"name", author}}},
             {"sha", head},
             {"merge_commit_sha", merge_commit},
             {"squash_commit_sha", nullptr},
             {"web_url", "https://gitlab.example.com/shop/environments/-/merge_requests/" +
                             std::to_string(iid)}};
  std::lock_guard lock(mu_);
  if (!mrs_.count(commit)) mrs_[commit] = json::array();
  mrs_[commit].push_back(std::move(mr));
}

void FakeGitLab::SetApprovers(int iid, std::vector<std::string> usernames) {
  std::lock_guard lock(mu_);
  approvers_[iid] = std::move(usernames);
}

std::vector<std::string> FakeGitLab::private_tokens() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

std::vector<std::string> FakeGitLab::project_ids() const {
  std::lock_guard lock(mu_);
  return projects_;
}

}  // namespace sluice::approval::testing
