// `sluice promote`, end to end: the real binary in a real clone, a real git
// daemon as the remote, and loopback servers shaped like the GitHub and
// GitLab APIs that record what they were asked to open.
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <thread>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

constexpr char kSource[] = "87fea83a9553070349f1447d1db14d8bf18656a6";
constexpr char kToken[] = "glpat-s3cr3t-t0ken-for-tests";

// One request a fake forge received.
struct Received {
  std::string method;
  std::string target;  // path and query as sent (not decoded)
  std::map<std::string, std::string> headers;
  nlohmann::json body;
};

// A loopback HTTP server that answers every POST with `reply` (status 201)
// and every GET with an empty JSON array, recording the requests.
class FakeForge {
 public:
  explicit FakeForge(nlohmann::json reply) : reply_(std::move(reply)) {
    port_ = FreePort();
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.status = 201;
      res.set_content(reply_.dump(), "application/json");
    });
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.set_content("[]", "application/json");
    });
    thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
    EXPECT_TRUE(WaitForPort(port_));
  }
  ~FakeForge() {
    server_.stop();
    thread_.join();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<Received> Posts() {
    std::lock_guard lock(mu_);
    std::vector<Received> out;
    for (const auto& r : received_) {
      if (r.method == "POST") out.push_back(r);
    }
    return out;
  }

 private:
  void Record(const httplib::Request& req) {
    Received r{req.method, req.target, {}, nlohmann::json::parse(req.body, nullptr, false)};
    for (const auto& [k, v] : req.headers) r.headers[k] = v;
    std::lock_guard lock(mu_);
    received_.push_back(std::move(r));
  }

  nlohmann::json reply_;
  int port_ = 0;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> received_;
};

class PromoteTest : public ::testing::Test {
 protected:
  // dev -> staging -> prod; prod releases need a release manager's signed
  // merge: the first policy version, trusted as it lands (trust rule 1).
  PromoteTest()
      : f_({{"sluice.yaml", Settings("")},
            {"environments/staging/environment.yaml", "{}\n"},
            {"environments/prod/environment.yaml",
             "upstream: staging\n"
             "approval: { required: 1, from: [release-managers], evidence: signed }\n"
             "gates: { upstreamVerified: true }\n"}}) {}

  void SetUp() override {
    Git(f_.work, {"config", "user.name", "Dana Developer"});
    Git(f_.work, {"config", "user.email", "dana@example.com"});
    f_.CommitAndPush({{"environments/staging/apps/api.yaml", StagingPin()},
                      {"environments/prod/apps/api.yaml", ProdPin()}},
                     "staging runs api 1.1.0; prod runs 1.0.0");
    // staging deploys and verifies (no checks: verified at once); prod's
    // first pin, pushed straight to main, is blocked for lack of approval.
    f_.Reconcile();
    lkg_ = f_.RemoteRef("refs/sluice/lkg/staging/api");
    ASSERT_EQ(lkg_.size(), 40u) << "staging has no verified api";
    base_ = f_.RemoteRef("refs/heads/main");
  }

  static std::string Settings(const std::string& extra = "") {
    return "pipeline: [dev, staging, prod]\ngroups:\n  release-managers: [alice@example.com]\n" +
           extra;
  }

  // The forge lives in the controller's configuration (SPEC 1.3 rule 5):
  // writes `forge` as a --config file and returns the flags naming it.
  std::vector<std::string> ForgeConfig(const std::string& forge) {
    std::string path = f_.state + "/controller.yaml";
    WriteFile(path, forge);
    return {"--config", path};
  }

  std::string StagingPin() const {
    std::string pin = f_.PinYaml(Digest('a'), "1.1.0");
    return pin.insert(pin.find("deploy:"), std::string("  source: ") + kSource + "\n");
  }

  // The prod pin as a person wrote it: comments, an end-of-line comment.
  std::string ProdPin() const {
    std::string pin = "# api in prod: owned by the shop team\n" + f_.PinYaml(Digest('0'), "1.0.0");
    pin.replace(pin.find("version: 1.0.0"), 14, "version: 1.0.0   # informative");
    return pin;
  }

  CommandOutput Promote(std::vector<std::string> extra = {},
                        const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {SLUICE_BINARY,
                                     "promote",
                                     "api",
                                     "--from",
                                     "staging",
                                     "--to",
                                     "prod",
                                     "--repo",
                                     f_.work,
                                     "--workdir",
                                     f_.workdir + "-promote",
                                     "--controller-keys",
                                     f_.workdir + "/controller-key.pub"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, "", env);
  }

  std::string Show(const std::string& what) { return Git(f_.work, {"show", what}).out; }

  const std::string kBranch = "sluice/promote/api-prod-aaaaaaaa";
  EnvRepoFixture f_;
  std::string lkg_;
  std::string base_;
};

TEST_F(PromoteTest, CommitsTheVerifiedDigestOnANewBranchKeepingThePinAsWritten) {
  CommandOutput r = Promote({"--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["branch"], kBranch);
  EXPECT_EQ(out["digest"], Digest('a'));
  EXPECT_EQ(out["from"], "staging");
  EXPECT_EQ(out["to"], "prod");
  EXPECT_EQ(out["upstreamCommit"], lkg_);
  EXPECT_TRUE(out["pr"].is_null());
  EXPECT_EQ(out["pushed"], false);
  const std::string commit = out["commit"];
  EXPECT_EQ(Git(f_.work, {"rev-parse", kBranch}).out.substr(0, 40), commit);

  // The commit: on the remote's main, by the clone's git identity, with the
  // rendered message and the trailer.
  EXPECT_EQ(Git(f_.work, {"rev-parse", commit + "^"}).out.substr(0, 40), base_);
  EXPECT_EQ(Git(f_.work, {"log", "-1", "--format=%an <%ae>|%cn", commit}).out,
            "Dana Developer <dana@example.com>|Dana Developer\n");
  std::string message = Git(f_.work, {"log", "-1", "--format=%B", commit}).out;
  EXPECT_EQ(message.substr(0, message.find('\n')), "prod: promote api 1.1.0 from staging");
  CommandOutput trailer =
      Git(f_.work, {"log", "-1", "--format=%(trailers:key=Sluice-Promote)", commit});
  EXPECT_EQ(trailer.out, "Sluice-Promote: api " + Digest('a') + " staging -> prod\n\n");
  EXPECT_EQ(Git(f_.work, {"diff", "--name-only", base_, commit}).out,
            "environments/prod/apps/api.yaml\n");

  // The pin: the new artifact, everything else as the user wrote it.
  std::string pin = Show(commit + ":environments/prod/apps/api.yaml");
  std::string expected = ProdPin();
  expected.replace(expected.find(Digest('0')), Digest('0').size(), Digest('a'));
  expected.replace(expected.find("version: 1.0.0"), 14, "version: 1.1.0");
  expected.insert(expected.find("deploy:"),
                  std::string("  source: ") + kSource + "\n  promotedFrom: staging@" + lkg_ + "\n");
  EXPECT_EQ(pin, expected);

  // The gate preview is the controller's own judgement of that commit.
  ASSERT_TRUE(out["preview"].contains("gates")) << out.dump(2);
  EXPECT_EQ(out["preview"]["result"], "block");
  std::map<std::string, std::string> gates;
  for (const auto& g : out["preview"]["gates"]) gates[g["name"]] = g["result"];
  EXPECT_EQ(gates["approval"], "block") << out.dump(2);
  EXPECT_EQ(gates["upstreamVerified"], "pass") << out.dump(2);
  EXPECT_NE(out["approval"].get<std::string>().find("1 approval from release-managers"),
            std::string::npos)
      << out["approval"];

  // The user's checkout is untouched, and nothing went to the remote.
  EXPECT_EQ(Git(f_.work, {"status", "--porcelain"}).out, "");
  EXPECT_EQ(Git(f_.work, {"rev-parse", "--abbrev-ref", "HEAD"}).out, "main\n");
  EXPECT_EQ(f_.RemoteRef("refs/heads/" + kBranch), "");
}

TEST_F(PromoteTest, WithoutAForgeSaysWhatToDoNext) {
  CommandOutput r = Promote();
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("on branch " + kBranch), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("git push origin " + kBranch), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open a pull request from " + kBranch + " into main"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("release-managers (alice@example.com)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("approval"), std::string::npos) << r.out;
}

TEST_F(PromoteTest, PushLandsTheBranchOnTheRemote) {
  CommandOutput r = Promote({"--push", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["pushed"], true);
  EXPECT_EQ(f_.RemoteRef("refs/heads/" + kBranch), out["commit"]);
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), base_);  // main itself does not move
}

TEST_F(PromoteTest, RunningAgainReusesTheSameCommitAndOpensThePullRequest) {
  FakeForge forge({{"number", 5}, {"html_url", "https://github.example/shop/envs/pull/5"}});
  auto config = ForgeConfig("forge: { type: github, api: " + forge.Url() + ", repo: s/e }\n");
  CommandOutput first = Promote({"--push", "--format", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  config.insert(config.begin(), {"--open-pr", "--format", "json"});
  CommandOutput again = Promote(config);
  ASSERT_EQ(again.exit_code, 0) << again.err << again.out;
  EXPECT_EQ(nlohmann::json::parse(again.out)["commit"], nlohmann::json::parse(first.out)["commit"]);
  EXPECT_EQ(forge.Posts().size(), 1u);
}

TEST_F(PromoteTest, RefusesWhenTheUpstreamHasNothingVerified) {
  CommandOutput r = RunCommand(
      {SLUICE_BINARY, "promote", "api", "--from", "dev", "--to", "staging", "--repo", f_.work});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_NE(r.err.find("dev has nothing verified for api"), std::string::npos) << r.err;
  EXPECT_EQ(Git(f_.work, {"branch", "--list", "sluice/*"}).out, "");
}

TEST_F(PromoteTest, RefusesToPromoteBackwardsAndNamesThePipeline) {
  CommandOutput r = RunCommand(
      {SLUICE_BINARY, "promote", "api", "--from", "prod", "--to", "staging", "--repo", f_.work});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_NE(r.err.find("[dev, staging, prod]"), std::string::npos) << r.err;
}

TEST_F(PromoteTest, NothingToPromoteWhenTheTargetAlreadyPinsTheDigest) {
  std::string pin = ProdPin();
  pin.replace(pin.find(Digest('0')), Digest('0').size(), Digest('a'));
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", pin}}, "prod: api 1.1.0");
  CommandOutput r = Promote();
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("nothing to promote"), std::string::npos) << r.out;
  EXPECT_EQ(Git(f_.work, {"branch", "--list", "sluice/*"}).out, "");
}

TEST_F(PromoteTest, ClearErrorWhenGitDoesNotKnowWhoYouAre) {
  Git(f_.work, {"config", "--unset", "user.name"});
  Git(f_.work, {"config", "--unset", "user.email"});
  TempDir home;
  CommandOutput r = Promote({}, {"HOME=" + home.path(), "XDG_CONFIG_HOME=" + home.path()});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_NE(r.err.find("user.name"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("user.email"), std::string::npos) << r.err;
}

TEST_F(PromoteTest, OpenPrOnGitHubPostsTheBranchAndAGateTable) {
  FakeForge forge({{"number", 42}, {"html_url", "https://github.example/shop/envs/pull/42"}});
  std::string token_file = f_.state + "/github-token";
  WriteFile(token_file, std::string(kToken) + "\n");
  auto config = ForgeConfig("forge: { type: github, api: " + forge.Url() +
                            ", repo: shop/envs, tokenFile: " + token_file + " }\n");
  config.insert(config.begin(), "--open-pr");
  CommandOutput r = Promote(config);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("https://github.example/shop/envs/pull/42"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kToken), std::string::npos);
  EXPECT_EQ(r.err.find(kToken), std::string::npos);

  auto posts = forge.Posts();
  ASSERT_EQ(posts.size(), 1u);
  Received p = posts[0];
  EXPECT_EQ(p.target, "/repos/shop/envs/pulls");
  EXPECT_EQ(p.headers["Authorization"], std::string("Bearer ") + kToken);
  EXPECT_EQ(p.headers["Content-Type"], "application/json");
  EXPECT_EQ(p.headers["Accept"], "application/json");
  EXPECT_EQ(p.headers["X-GitHub-Api-Version"], "2022-11-28");
  ASSERT_TRUE(p.body.is_object());
  EXPECT_EQ(p.body["title"], "prod: promote api 1.1.0 from staging");
  EXPECT_EQ(p.body["head"], kBranch);
  EXPECT_EQ(p.body["base"], "main");
  const std::string body = p.body["body"];
  EXPECT_NE(body.find("| gate | result | reason |"), std::string::npos) << body;
  EXPECT_NE(body.find("| approval | block |"), std::string::npos) << body;
  EXPECT_NE(body.find("| upstreamVerified | pass |"), std::string::npos) << body;
  EXPECT_NE(body.find(Digest('a')), std::string::npos) << body;
  EXPECT_NE(body.find("release-managers"), std::string::npos) << body;
  // --open-pr pushes first: the pull request's head exists on the remote.
  EXPECT_EQ(f_.RemoteRef("refs/heads/" + kBranch),
            Git(f_.work, {"rev-parse", kBranch}).out.substr(0, 40));
}

TEST_F(PromoteTest, OpenPrOnGitLabPostsAMergeRequest) {
  FakeForge forge({{"iid", 3}, {"web_url", "https://gitlab.example/shop/envs/-/merge_requests/3"}});
  auto config =
      ForgeConfig("forge: { type: gitlab, api: " + forge.Url() + "/api/v4, repo: shop/envs }\n");
  config.insert(config.begin(), {"--open-pr", "--format", "json"});
  CommandOutput r = Promote(config, {std::string("SLUICE_FORGE_TOKEN=") + kToken});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["pr"]["url"], "https://gitlab.example/shop/envs/-/merge_requests/3");
  EXPECT_EQ(out["pr"]["number"], "!3");
  EXPECT_EQ(r.out.find(kToken), std::string::npos);
  EXPECT_EQ(r.err.find(kToken), std::string::npos);

  auto posts = forge.Posts();
  ASSERT_EQ(posts.size(), 1u);
  Received p = posts[0];
  EXPECT_EQ(p.target, "/api/v4/projects/shop%2Fenvs/merge_requests");
  EXPECT_EQ(p.headers["PRIVATE-TOKEN"], kToken);
  EXPECT_EQ(p.headers.count("Authorization"), 0u);
  ASSERT_TRUE(p.body.is_object());
  EXPECT_EQ(p.body["source_branch"], kBranch);
  EXPECT_EQ(p.body["target_branch"], "main");
  EXPECT_EQ(p.body["title"], "prod: promote api 1.1.0 from staging");
  const std::string body = p.body["description"];
  EXPECT_NE(body.find("| approval | block |"), std::string::npos) << body;
}

TEST_F(PromoteTest, TemplatesInTheRepositoryReplaceTheDefaults) {
  FakeForge forge({{"number", 1}, {"html_url", "https://github.example/pull/1"}});
  auto config = ForgeConfig("forge: { type: github, api: " + forge.Url() + ", repo: shop/envs }\n");
  f_.CommitAndPush(
      {{"templates/promotion-pr.md",
        "Team PR for {{app}} to {{to}}:{{#preview}}{{#gates}} {{name}}={{result}}{{/gates}}"
        "{{/preview}}\n"},
       {"templates/promotion-commit.md",
        "Release {{app}} {{version}} to {{to}}\n\nTicket: REL-1\n"}},
      "Our own promotion templates");
  config.insert(config.begin(), {"--open-pr", "--format", "json"});
  CommandOutput r = Promote(config);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto posts = forge.Posts();
  ASSERT_EQ(posts.size(), 1u);
  std::string body = posts[0].body["body"];
  EXPECT_EQ(body.rfind("Team PR for api to prod:", 0), 0u) << body;
  EXPECT_NE(body.find("approval=block"), std::string::npos) << body;
  EXPECT_EQ(posts[0].body["title"], "Release api 1.1.0 to prod");
  // The trailer joins the template's own trailer block.
  std::string commit = nlohmann::json::parse(r.out)["commit"];
  EXPECT_EQ(Git(f_.work, {"log", "-1", "--format=%B", commit}).out,
            "Release api 1.1.0 to prod\n\nTicket: REL-1\nSluice-Promote: api " + Digest('a') +
                " staging -> prod\n\n");
}

TEST_F(PromoteTest, OpenPrWithoutAForgeFailsBeforeWritingAnything) {
  CommandOutput r = Promote({"--open-pr"});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_NE(r.err.find("forge:"), std::string::npos) << r.err;
  EXPECT_EQ(Git(f_.work, {"branch", "--list", "sluice/*"}).out, "");
}

// SPEC 1.3 rule 5: a forge named by sluice.yaml (an API of the pusher's
// choosing) is never used, not even for opening a pull request.
TEST_F(PromoteTest, OpenPrIgnoresAForgeNamedBySluiceYaml) {
  FakeForge forge({{"number", 9}, {"html_url", "https://evil.example/pull/9"}});
  f_.CommitAndPush(
      {{"sluice.yaml", Settings("forge: { type: github, api: " + forge.Url() + ", repo: s/e }\n")}},
      "Name a forge in the repository");
  CommandOutput r = Promote({"--open-pr"});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_NE(r.err.find("--config"), std::string::npos) << r.err;
  EXPECT_TRUE(forge.Posts().empty());
}

}  // namespace
}  // namespace sluice::testing
