// Gate results on the pull request: with a forge in the controller's
// configuration, `sluice reconcile --once` (the same code as each pass of
// `sluice controller`) posts a commit status sluice/<env> on the head of
// each open pull request that changes environments/<env>/. Real binary, real
// git daemon (the head published as refs/pull/N/head, as GitHub does), and a
// loopback stand-in for the forge that answers the documented shapes and
// records the exact requests:
//   GitHub "List pull requests": GET /repos/{owner}/{repo}/pulls?state=open&base=main
//     https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
//   GitHub "Create a commit status": POST /repos/{owner}/{repo}/statuses/{sha}
//     {state, target_url, description, context} -> 201
//     https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
//   GitLab "Set the pipeline status of a commit": POST /projects/:id/statuses/:sha
//     {state: pending|running|success|failed|canceled, name, target_url, description}
//     https://docs.gitlab.com/api/commits.html#set-the-pipeline-status-of-a-commit
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "env_repo_fixture.h"
#include "support/git_servers.h"

namespace sluice::testing {
namespace {

using nlohmann::json;

struct Received {
  std::string method;
  std::string target;  // path and query as sent
  std::map<std::string, std::string> headers;
  json body;
};

// A forge stand-in: GETs answered from a table keyed by the exact target
// (anything else: 404, as the API answers an unknown path), POSTs answered
// with `post_status`; every request recorded.
class ForgeStandIn {
 public:
  ForgeStandIn() {
    port_ = FreePort();
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      std::lock_guard lock(mu_);
      auto it = gets_.find(req.target);
      if (it == gets_.end()) {
        res.status = 404;
        res.set_content(R"({"message":"Not Found"})", "application/json");
        return;
      }
      res.set_content(it->second.dump(), "application/json");
    });
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      std::lock_guard lock(mu_);
      res.status = post_status_;
      res.set_content(post_status_ == 201 ? R"({"id":1})" : R"({"message":"Server Error"})",
                      "application/json");
    });
    thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
    EXPECT_TRUE(WaitForPort(port_));
  }
  ~ForgeStandIn() {
    server_.stop();
    thread_.join();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void OnGet(const std::string& target, json reply) {
    std::lock_guard lock(mu_);
    gets_[target] = std::move(reply);
  }
  void SetPostStatus(int status) {
    std::lock_guard lock(mu_);
    post_status_ = status;
  }
  // The targets of the GETs received so far.
  std::vector<std::string> GetTargets() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& r : received_) {
      if (r.method == "GET") out.push_back(r.target);
    }
    return out;
  }
  // The POSTs received, and forgets them.
  std::vector<Received> TakePosts() {
    std::lock_guard lock(mu_);
    std::vector<Received> out;
    for (auto& r : received_) {
      if (r.method == "POST") out.push_back(std::move(r));
    }
    received_.clear();
    return out;
  }

 private:
  void Record(const httplib::Request& req) {
    Received r{req.method, req.target, {}, json::parse(req.body, nullptr, false)};
    for (const auto& [k, v] : req.headers) r.headers[k] = v;
    std::lock_guard lock(mu_);
    received_.push_back(std::move(r));
  }

  int port_ = 0;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, json> gets_;
  int post_status_ = 201;
  std::vector<Received> received_;
};

const Received* PostFor(const std::vector<Received>& posts, const std::string& context_key,
                        const std::string& context) {
  for (const auto& p : posts) {
    if (p.body.is_object() && p.body.value(context_key, "") == context) return &p;
  }
  return nullptr;
}

class PullRequestStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // dev runs api 'a' (verified: no checks), so prod may take 'a'.
    f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('a'))}},
                     "dev runs api a");
    f_.Reconcile();
    main_ = f_.RemoteRef("refs/heads/main");
    ASSERT_EQ(main_.size(), 40u);
  }

  // Pull request #7 by bob from main: the given files, published where
  // GitHub publishes a pull request's head. Returns the head.
  std::string OpenPullRequest(const std::map<std::string, std::string>& files,
                              const std::string& ref = "refs/pull/7/head") {
    Git(f_.work, {"checkout", "-q", "-b", "bob/change", main_});
    for (const auto& [path, content] : files) WriteFile(f_.work + "/" + path, content);
    Git(f_.work, {"add", "-A"});
    Git(f_.work, {"-c", "user.name=Bob", "-c", "user.email=bob@example.com", "commit", "-q", "-m",
                  "bob's change"});
    std::string head = Git(f_.work, {"rev-parse", "HEAD"}).out;
    head = head.substr(0, 40);
    Git(f_.work, {"push", "-q", "origin", "HEAD:" + ref});
    Git(f_.work, {"checkout", "-q", "main"});
    return head;
  }

  std::vector<std::string> GitHubConfig() {
    const std::string path = f_.state + "/controller.yaml";
    WriteFile(path, "forge: { type: github, api: " + forge_.Url() +
                        ", repo: shop/envs, dashboardUrl: https://sluice.example.com/ }\n");
    return {"--config", path};
  }

  json Reconcile(const std::vector<std::string>& config, int expected_exit = 0) {
    std::vector<std::string> args = {"reconcile", "--once",      "--format",
                                     "json",      "--log-level", "warn"};
    args.insert(args.end(), config.begin(), config.end());
    CommandOutput r = f_.Sluice(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err << r.out;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  void ListPullRequest(const std::string& head) {
    forge_.OnGet("/repos/shop/envs/pulls?state=open&base=main&per_page=100",
                 json::array({{{"number", 7},
                               {"html_url", "https://github.example/shop/envs/pull/7"},
                               {"user", {{"login", "bob"}}},
                               {"head", {{"sha", head}, {"ref", "bob/change"}}}}}));
  }
  void SetReviews(json reviews) {
    forge_.OnGet("/repos/shop/envs/pulls/7/reviews?per_page=100", std::move(reviews));
  }

  EnvRepoFixture f_;
  ForgeStandIn forge_;
  std::string main_;
};

TEST_F(PullRequestStatusTest, PostsPendingThenSuccessAsTheReviewArrivesAndOnlyWhatChanged) {
  const std::string head =
      OpenPullRequest({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('b'))},
                       {"environments/prod/apps/api.yaml", f_.PinYaml(Digest('a'))}});
  ListPullRequest(head);
  SetReviews(json::array());
  auto config = GitHubConfig();

  json pass = Reconcile(config);
  std::vector<Received> posts = forge_.TakePosts();
  ASSERT_EQ(posts.size(), 2u) << pass.dump();
  const Received* dev = PostFor(posts, "context", "sluice/dev");
  const Received* prod = PostFor(posts, "context", "sluice/prod");
  ASSERT_NE(dev, nullptr);
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ(dev->target, "/repos/shop/envs/statuses/" + head);
  EXPECT_EQ(dev->body["state"], "success") << dev->body.dump();
  EXPECT_EQ(dev->body["description"], "every gate passes as if merged (api)");
  EXPECT_EQ(dev->body["target_url"], "https://sluice.example.com/");
  EXPECT_EQ(dev->headers.count("Authorization"), 0u);  // no token configured
  // prod needs one approval from release-managers (alice): waiting for it.
  EXPECT_EQ(prod->target, "/repos/shop/envs/statuses/" + head);
  EXPECT_EQ(prod->body["state"], "pending") << prod->body.dump();
  EXPECT_NE(prod->body["description"].get<std::string>().find("api: "), std::string::npos);
  EXPECT_NE(prod->body["description"].get<std::string>().find("waiting for review"),
            std::string::npos)
      << prod->body.dump();
  EXPECT_LE(prod->body["description"].get<std::string>().size(), 140u);
  ASSERT_TRUE(pass.contains("pullRequests")) << pass.dump();
  EXPECT_EQ(pass["pullRequests"].size(), 2u);
  // Nothing of the pull request was applied or recorded: it is not merged.
  EXPECT_EQ(f_.Deploys().size(), 1u);
  EXPECT_TRUE(f_.RemoteEvents(head).empty());

  // Alice approves the head: prod turns success; dev, unchanged, is not
  // posted again (even by a new process: what was posted is kept).
  SetReviews(json::array(
      {{{"id", 80}, {"user", {{"login", "alice"}}}, {"state", "APPROVED"}, {"commit_id", head}}}));
  pass = Reconcile(config);
  posts = forge_.TakePosts();
  ASSERT_EQ(posts.size(), 1u) << pass.dump();
  EXPECT_EQ(posts[0].body["context"], "sluice/prod");
  EXPECT_EQ(posts[0].body["state"], "success") << posts[0].body.dump();

  // A third pass with nothing new posts nothing.
  Reconcile(config);
  EXPECT_TRUE(forge_.TakePosts().empty());
}

// Trust rule 1: a pull request that drops prod's approval rule and changes
// its pin is judged by the policy in force, not by the one it brings.
TEST_F(PullRequestStatusTest, APolicyEditInThePullRequestDoesNotJudgeItself) {
  const std::string head =
      OpenPullRequest({{"environments/prod/environment.yaml", "upstream: dev\n"},
                       {"environments/prod/apps/api.yaml", f_.PinYaml(Digest('a'))}});
  ListPullRequest(head);
  SetReviews(json::array());
  Reconcile(GitHubConfig());
  std::vector<Received> posts = forge_.TakePosts();
  const Received* prod = PostFor(posts, "context", "sluice/prod");
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ(prod->body["state"], "pending") << prod->body.dump();
  EXPECT_NE(prod->body["description"].get<std::string>().find("approval"), std::string::npos);
}

TEST_F(PullRequestStatusTest, ABlockingGateIsAFailureNamingIt) {
  // A tag in place of a digest is blocked (SPEC 1.1).
  std::string pin = f_.PinYaml(Digest('c'));
  pin.replace(pin.find(Digest('c')), Digest('c').size(), "latest");
  const std::string head = OpenPullRequest({{"environments/dev/apps/api.yaml", pin}});
  ListPullRequest(head);
  Reconcile(GitHubConfig());
  std::vector<Received> posts = forge_.TakePosts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].body["context"], "sluice/dev");
  EXPECT_EQ(posts[0].body["state"], "failure") << posts[0].body.dump();
  EXPECT_NE(posts[0].body["description"].get<std::string>().find("api: "), std::string::npos);
}

TEST_F(PullRequestStatusTest, AForgeErrorNeverHoldsARelease) {
  const std::string head =
      OpenPullRequest({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('b'))}});
  ListPullRequest(head);
  forge_.SetPostStatus(500);
  // A change merged to main meanwhile is applied; the refused status is a
  // warning of the pass, whose exit code stays 0.
  f_.CommitAndPush({{"environments/dev/apps/web.yaml", f_.PinYaml(Digest('d'))}}, "dev web d");
  json pass = Reconcile(GitHubConfig(), 0);
  EXPECT_EQ(f_.Deploys().size(), 2u) << pass.dump();
  ASSERT_TRUE(pass.contains("pullRequestProblems")) << pass.dump();
  ASSERT_EQ(pass["pullRequestProblems"].size(), 1u) << pass.dump();
  EXPECT_NE(pass["pullRequestProblems"][0].get<std::string>().find("HTTP 500"), std::string::npos);
  EXPECT_TRUE(pass["problems"].empty());
  // The forge is back: the status is posted by the next pass.
  forge_.TakePosts();
  forge_.SetPostStatus(201);
  Reconcile(GitHubConfig());
  EXPECT_EQ(forge_.TakePosts().size(), 1u);
}

TEST_F(PullRequestStatusTest, GitLabGetsItsOwnStateNamesAndEndpoint) {
  const std::string head =
      OpenPullRequest({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('b'))},
                       {"environments/prod/apps/api.yaml", f_.PinYaml(Digest('a'))}},
                      "refs/merge-requests/3/head");
  forge_.OnGet(
      "/api/v4/projects/shop%2Fenvs/merge_requests?state=opened&target_branch=main&per_page=100",
      json::array({{{"iid", 3},
                    {"web_url", "https://gitlab.example/shop/envs/-/merge_requests/3"},
                    {"author", {{"username", "bob"}}},
                    {"sha", head}}}));
  forge_.OnGet("/api/v4/projects/shop%2Fenvs/approvals", {{"reset_approvals_on_push", true}});
  forge_.OnGet("/api/v4/projects/shop%2Fenvs/merge_requests/3/approvals",
               {{"approved_by", json::array({{{"user", {{"username", "alice"}}}}})}});
  const std::string path = f_.state + "/controller.yaml";
  WriteFile(path, "forge: { type: gitlab, api: " + forge_.Url() + "/api/v4, repo: shop/envs }\n");
  Reconcile({"--config", path});
  std::vector<Received> posts = forge_.TakePosts();
  ASSERT_EQ(posts.size(), 2u);
  const Received* dev = PostFor(posts, "name", "sluice/dev");
  const Received* prod = PostFor(posts, "name", "sluice/prod");
  ASSERT_NE(dev, nullptr);
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ(dev->target, "/api/v4/projects/shop%2Fenvs/statuses/" + head);
  EXPECT_EQ(dev->body["state"], "success");
  EXPECT_FALSE(dev->body.contains("target_url"));
  // prod: approved by alice on a project that resets approvals on push.
  EXPECT_EQ(prod->body["state"], "success") << prod->body.dump();
  EXPECT_EQ(prod->body["description"], "every gate passes as if merged (api)");
  EXPECT_EQ(prod->headers.count("PRIVATE-TOKEN"), 0u);
}

// The pin of an open request is written by whoever opened it: the
// controller does not contact the registry it names before it lands.
TEST_F(PullRequestStatusTest, TheRegistryAnOpenRequestNamesIsNotContacted) {
  f_.CommitAndPush(
      {{"environments/dev/environment.yaml", "gates:\n  registry: {verifyDigest: true}\n"}},
      "dev checks the registry");
  main_ = f_.RemoteRef("refs/heads/main");
  std::string pin = f_.PinYaml(Digest('b'));
  const std::string host = forge_.Url().substr(std::string("http://").size());
  pin.replace(pin.find("registry.example.com"), std::string("registry.example.com").size(), host);
  const std::string head = OpenPullRequest({{"environments/dev/apps/api.yaml", pin}});
  ListPullRequest(head);
  json pass = Reconcile(GitHubConfig());
  for (const std::string& target : forge_.GetTargets()) {
    EXPECT_EQ(target.find("/v2/"), std::string::npos) << target;
  }
  std::vector<Received> posts = forge_.TakePosts();
  ASSERT_EQ(posts.size(), 1u) << pass.dump();
  EXPECT_EQ(posts[0].body["state"], "success") << posts[0].body.dump();
}

TEST_F(PullRequestStatusTest, StatusesOffPostsNothing) {
  const std::string head =
      OpenPullRequest({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('b'))}});
  ListPullRequest(head);
  const std::string path = f_.state + "/controller.yaml";
  WriteFile(path, "forge: { type: github, api: " + forge_.Url() +
                      ", repo: shop/envs, statuses: false }\n");
  json pass = Reconcile({"--config", path});
  EXPECT_TRUE(forge_.TakePosts().empty());
  EXPECT_FALSE(pass.contains("pullRequests"));
}

}  // namespace
}  // namespace sluice::testing
