// The rollback use case on a real repository whose record a real pass
// wrote: the paths the end-to-end tests of `sluice rollback` do not reach.
#include "engine/execute_rollback.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/engine_fixture.h"
#include "support/git_servers.h"

namespace sluice::engine {
namespace {

using testing::Git;

std::string D(char c) { return "sha256:" + std::string(64, c); }

const git::Person kCarol{"Carol Oncall", "carol@example.com", {}};

class ExecuteRollbackTest : public testing::EngineFixture {
 protected:
  static std::string Pin(const std::string& digest, const std::string& version) {
    return "artifact:\n  image: r.example.com/shop/api\n  digest: " + digest +
           "\n  version: " + version +
           "\ndeploy:\n  adapter: exec\n  exec: {command: [\"true\"]}\n";
  }

  // prod verifies api 1.0.0 in a pass (its LKG is `good_`), then 1.1.0 is
  // pinned on main: the release to roll back.
  void DeployThenPinAnother(record::Workspace& ws) {
    // An environment's policy lands before its pins.
    Push({{"sluice.yaml", "pipeline: [prod]\n"}, {"environments/prod/environment.yaml", "{}\n"}});
    good_ = Push({{"environments/prod/apps/api.yaml", Pin(D('a'), "1.0.0")}});
    auto pass = MakeReconciler(ws)->RunOnce();
    ASSERT_TRUE(pass.ok()) << pass.status().ToString();
    std::string outcomes;
    for (const auto& o : pass->outcomes) {
      outcomes += o.env + "/" + o.app + " " + std::string(record::OutcomeName(o.state)) + ": " +
                  o.reason + "\n";
    }
    ASSERT_EQ(RemoteRef("refs/sluice/lkg/prod/api"), good_) << outcomes;
    bad_ = Push({{"environments/prod/apps/api.yaml", Pin(D('b'), "1.1.0")}});
  }

  RollbackRequest Request(bool push) {
    RollbackRequest request;
    request.env = "prod";
    request.app = "api";
    request.incident = "INC-7";
    request.author = kCarol;
    request.push = push;
    return request;
  }

  RollbackSeams Seams() { return {runner_, verifier_, http_, clock_}; }

  std::string good_;
  std::string bad_;
};

TEST_F(ExecuteRollbackTest, WritesTheLkgPinOnABranchOfItsOwnWithTheTrailers) {
  auto ws = OpenWorkspace();
  ASSERT_TRUE(ws);
  DeployThenPinAnother(*ws);
  auto done = ExecuteRollback(*ws, Request(/*push=*/false), Seams());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->plan.target, good_);
  EXPECT_EQ(done->plan.head, bad_);
  EXPECT_EQ(done->pushed_to, "sluice/rollback-prod-api-" + done->commit.substr(0, 8));
  EXPECT_EQ(RemoteRef("refs/heads/" + done->pushed_to), done->commit);
  EXPECT_EQ(RemoteRef("refs/heads/main"), bad_);  // main waits for the pull request

  auto info = ws->repo().GetCommit(done->commit);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->parents, std::vector<std::string>{bad_});
  EXPECT_EQ(info->author.email, "carol@example.com");
  EXPECT_EQ(info->Subject(), "Roll back prod/api to 1.0.0");
  EXPECT_NE(info->message.find("Sluice-Rollback: " + good_ + "\nSluice-Incident: INC-7\n"),
            std::string::npos)
      << info->message;
  EXPECT_EQ(*ws->repo().ReadFile(done->commit, "environments/prod/apps/api.yaml"),
            Pin(D('a'), "1.0.0"));
}

TEST_F(ExecuteRollbackTest, WithPushTheCommitLandsOnTheTrackedBranch) {
  auto ws = OpenWorkspace();
  ASSERT_TRUE(ws);
  DeployThenPinAnother(*ws);
  auto done = ExecuteRollback(*ws, Request(/*push=*/true), Seams());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->pushed_to, "main");
  EXPECT_EQ(RemoteRef("refs/heads/main"), done->commit);
}

TEST_F(ExecuteRollbackTest, WithoutALastKnownGoodNothingIsWritten) {
  Push({{"sluice.yaml", "pipeline: [prod]\n"},
        {"environments/prod/apps/api.yaml", Pin(D('b'), "1.1.0")}});
  const std::string head = RemoteRef("refs/heads/main");
  auto ws = OpenWorkspace();
  ASSERT_TRUE(ws);
  auto done = ExecuteRollback(*ws, Request(/*push=*/true), Seams());
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), Status::Code::kFailedPrecondition) << done.status().ToString();
  EXPECT_EQ(
      done.status().message().rfind("nothing to roll back to: prod/api has no last-known-good", 0),
      0u)
      << done.status().message();
  EXPECT_EQ(RemoteRef("refs/heads/main"), head);
}

TEST_F(ExecuteRollbackTest, ToACommitNeverVerifiedThereIsRefused) {
  auto ws = OpenWorkspace();
  ASSERT_TRUE(ws);
  DeployThenPinAnother(*ws);
  RollbackRequest request = Request(/*push=*/true);
  request.to = bad_;
  auto done = ExecuteRollback(*ws, request, Seams());
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.status().message().find("was never verified at " + bad_.substr(0, 12)),
            std::string::npos)
      << done.status().message();
  EXPECT_EQ(RemoteRef("refs/heads/main"), bad_);
}

// Another writer moves main while the rollback is pushed (a pre-receive
// hook of the remote does it): the push fails and says to run again.
TEST_F(ExecuteRollbackTest, PushConflictSaysTheTrackedBranchMoved) {
  {
    auto ws = OpenWorkspace();
    ASSERT_TRUE(ws);
    DeployThenPinAnother(*ws);
  }
  const std::string hook = bare_ + "/hooks/pre-receive";
  testing::WriteFile(hook,
                     "#!/bin/sh\n"
                     "cat >/dev/null\n"
                     "unset GIT_QUARANTINE_PATH\n"
                     "git update-ref refs/heads/main " +
                         good_ + "\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all);
  testing::GitDaemon daemon(tmp_.Sub("srv"));
  // The same controller over git://: its own key signed the record.
  record::TrustOptions trust;
  trust.signing_key_file = tmp_.Sub("workdir/controller-key");
  auto ws =
      record::Workspace::Open(tmp_.Sub("workdir-daemon"), daemon.Url("envs.git"), "main", trust);
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();

  auto done = ExecuteRollback(**ws, Request(/*push=*/true), Seams());
  ASSERT_FALSE(done.ok());
  EXPECT_TRUE(done.status().IsConflict()) << done.status().ToString();
  EXPECT_EQ(done.status().message(),
            "main moved while the rollback was written; run the command again");
  EXPECT_EQ(RemoteRef("refs/heads/main"), good_);  // the other writer's, not ours
}

}  // namespace
}  // namespace sluice::engine
