// The promotion use case on a real clone of a local environments repository,
// with the forge behind a FakeHttpClient: the paths the end-to-end tests of
// `sluice promote` do not reach.
#include "engine/execute_promotion.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/engine_fixture.h"
#include "support/fake_http.h"
#include "support/git_servers.h"

namespace sluice::engine {
namespace {

using testing::Git;

std::string D(char c) { return "sha256:" + std::string(64, c); }

constexpr char kBranch[] = "sluice/promote/api-prod-aaaaaaaa";
constexpr char kPullsUrl[] = "https://forge.example.com/api/repos/shop/envs/pulls";

class ExecutePromotionTest : public testing::EngineFixture {
 protected:
  // staging runs api 1.1.0 (digest a), prod 1.0.0 (digest 0); with
  // `verified`, the record says staging verified it (its LKG).
  void SetUpRepository(bool verified) {
    Git(work(), {"config", "user.name", "Dana Developer"});
    Git(work(), {"config", "user.email", "dana@example.com"});
    std::string commit = Push({{"sluice.yaml", "pipeline: [dev, staging, prod]\n"},
                               {"environments/staging/apps/api.yaml", Pin(D('a'), "1.1.0")},
                               {"environments/prod/apps/api.yaml", Pin(D('0'), "1.0.0")}});
    if (verified) Git(bare_, {"update-ref", "refs/sluice/lkg/staging/api", commit});
  }

  static std::string Pin(const std::string& digest, const std::string& version) {
    return "artifact:\n  image: r.example.com/shop/api\n  digest: " + digest +
           "\n  version: " + version +
           "\ndeploy:\n  adapter: exec\n  exec: {command: [\"true\"]}\n";
  }

  std::unique_ptr<git::Repository> OpenClone() {
    auto repo = git::Repository::Open(work());
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(*repo) : nullptr;
  }

  PromotionRequest Request() {
    PromotionRequest request;
    request.app = "api";
    request.from = "staging";
    request.to = "prod";
    request.clone_path = work();
    request.preview_workdir = tmp_.Sub("preview");
    return request;
  }

  static std::optional<ForgeAccess> GitHub() {
    config::ForgeSettings settings;
    settings.type = "github";
    settings.api = "https://forge.example.com/api";
    settings.repo = "shop/envs";
    return ForgeAccess{settings, "t0ken"};
  }

  PromotionSeams Seams() { return {runner_, verifier_, forge_http_, clock_}; }

  testing::FakeHttpClient forge_http_;
};

TEST_F(ExecutePromotionTest, PrepareRefusesWhenTheUpstreamHasNoLastKnownGood) {
  SetUpRepository(/*verified=*/false);
  auto clone = OpenClone();
  auto plan = PreparePromotion(*clone, Request());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->outcome, PromotionPlan::Outcome::kRefused);
  EXPECT_NE(plan->reason.find("staging has nothing verified for api"), std::string::npos)
      << plan->reason;
  EXPECT_FALSE(clone->ResolveRef(std::string("refs/heads/") + kBranch).ok());
}

TEST_F(ExecutePromotionTest, PrepareNamesABranchTheRemoteDoesNotHave) {
  SetUpRepository(/*verified=*/true);
  auto clone = OpenClone();
  PromotionRequest request = Request();
  request.branch = "release";
  auto plan = PreparePromotion(*clone, request);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "branch release does not exist on origin (choose the target branch with --branch)");
}

TEST_F(ExecutePromotionTest, PrepareFailsOnControllerKeysItCannotRead) {
  SetUpRepository(/*verified=*/true);
  auto clone = OpenClone();
  PromotionRequest request = Request();
  request.controller_keys_file = tmp_.Sub("no-such-keys.pub");
  auto plan = PreparePromotion(*clone, request);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "cannot read --controller-keys " + tmp_.Sub("no-such-keys.pub"));
}

TEST_F(ExecutePromotionTest, CommitsOnTheBranchWithoutPushingByDefault) {
  SetUpRepository(/*verified=*/true);
  auto clone = OpenClone();
  auto plan = PreparePromotion(*clone, Request());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->outcome, PromotionPlan::Outcome::kReady) << plan->reason;
  auto done = ExecutePromotion(*clone, *plan, Request(), std::nullopt, Seams());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_FALSE(done->pushed);
  EXPECT_FALSE(done->pr);
  EXPECT_EQ(*clone->ResolveRef(std::string("refs/heads/") + kBranch), done->commit);
  EXPECT_EQ(*clone->ReadFile(done->commit, "environments/prod/apps/api.yaml"), plan->new_content);
  EXPECT_EQ(RemoteRef(std::string("refs/heads/") + kBranch), "");
  EXPECT_EQ(done->preview.commit, done->commit);
  EXPECT_EQ(forge_http_.request_count(), 0u);
}

TEST_F(ExecutePromotionTest, PushConflictWhenTheRemoteHasTheBranchWithOtherCommits) {
  SetUpRepository(/*verified=*/true);
  // Someone else's commit on the promotion branch, on the remote only.
  Git(work(), {"checkout", "-q", "-b", "elsewhere"});
  testing::CommitFiles(work(), {{"notes.txt", "not a promotion\n"}}, "other work");
  Git(work(), {"push", "-q", "origin", std::string("HEAD:refs/heads/") + kBranch});
  Git(work(), {"checkout", "-q", "main"});
  Git(work(), {"branch", "-q", "-D", "elsewhere"});
  const std::string theirs = RemoteRef(std::string("refs/heads/") + kBranch);

  auto clone = OpenClone();
  PromotionRequest request = Request();
  request.push = true;
  auto plan = PreparePromotion(*clone, request);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto done = ExecutePromotion(*clone, *plan, request, std::nullopt, Seams());
  ASSERT_FALSE(done.ok());
  EXPECT_TRUE(done.status().IsConflict()) << done.status().ToString();
  EXPECT_EQ(done.status().message().rfind(std::string("origin already has a branch ") + kBranch +
                                              " with other commits; delete it there or merge it, "
                                              "then run again (",
                                          0),
            0u)
      << done.status().message();
  // The remote keeps its branch; the local commit stays for a run again.
  EXPECT_EQ(RemoteRef(std::string("refs/heads/") + kBranch), theirs);
  EXPECT_TRUE(clone->ResolveRef(std::string("refs/heads/") + kBranch).ok());
}

TEST_F(ExecutePromotionTest, RefusesToMoveALocalBranchWithUnmergedCommits) {
  SetUpRepository(/*verified=*/true);
  Git(work(), {"checkout", "-q", "-b", kBranch});
  testing::CommitFiles(work(), {{"notes.txt", "unmerged\n"}}, "unmerged work");
  Git(work(), {"checkout", "-q", "main"});
  auto clone = OpenClone();
  const std::string before = *clone->ResolveRef(std::string("refs/heads/") + kBranch);
  auto plan = PreparePromotion(*clone, Request());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto done = ExecutePromotion(*clone, *plan, Request(), std::nullopt, Seams());
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.status().message().find("already exists with commits that are not on main"),
            std::string::npos)
      << done.status().message();
  EXPECT_EQ(*clone->ResolveRef(std::string("refs/heads/") + kBranch), before);
}

TEST_F(ExecutePromotionTest, OpensThePullRequestThroughTheForgeAfterPushing) {
  SetUpRepository(/*verified=*/true);
  forge_http_.On(
      "POST", kPullsUrl,
      testing::Response(
          201, R"({"number": 7, "html_url": "https://forge.example.com/shop/envs/pull/7"})"));
  auto clone = OpenClone();
  auto plan = PreparePromotion(*clone, Request());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto done = ExecutePromotion(*clone, *plan, Request(), GitHub(), Seams());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->pushed);
  ASSERT_TRUE(done->pr);
  EXPECT_EQ(done->pr->number, "#7");
  EXPECT_EQ(done->pr->url, "https://forge.example.com/shop/envs/pull/7");
  EXPECT_EQ(RemoteRef(std::string("refs/heads/") + kBranch), done->commit);

  auto requests = forge_http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, kPullsUrl);
  auto body = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(body["head"], kBranch);
  EXPECT_EQ(body["base"], "main");
  auto info = clone->GetCommit(done->commit);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(body["title"], info->Subject());
  EXPECT_NE(body["body"].get<std::string>().find(done->commit.substr(0, 12)), std::string::npos)
      << body["body"];
}

TEST_F(ExecutePromotionTest, AForgeRefusalLeavesTheBranchPushedAndSaysSo) {
  SetUpRepository(/*verified=*/true);
  forge_http_.On("POST", kPullsUrl,
                 testing::Response(422, R"({"message": "A pull request already exists"})"));
  auto clone = OpenClone();
  auto plan = PreparePromotion(*clone, Request());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto done = ExecutePromotion(*clone, *plan, Request(), GitHub(), Seams());
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().message().rfind(std::string("branch ") + kBranch +
                                              " is pushed, but the pull request was not opened: ",
                                          0),
            0u)
      << done.status().message();
  EXPECT_EQ(RemoteRef(std::string("refs/heads/") + kBranch),
            *clone->ResolveRef(std::string("refs/heads/") + kBranch));
}

TEST_F(ExecutePromotionTest, RefusesAPlanThatIsNotReady) {
  SetUpRepository(/*verified=*/false);
  auto clone = OpenClone();
  auto plan = PreparePromotion(*clone, Request());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->outcome, PromotionPlan::Outcome::kRefused);
  auto done = ExecutePromotion(*clone, *plan, Request(), GitHub(), Seams());
  EXPECT_FALSE(done.ok());
  EXPECT_FALSE(clone->ResolveRef(std::string("refs/heads/") + kBranch).ok());
  EXPECT_EQ(forge_http_.request_count(), 0u);
}

}  // namespace
}  // namespace sluice::engine
