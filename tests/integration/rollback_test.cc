// Rollback in one commit: `sluice rollback`, `git revert`, and the
// controller's own rollback after a failed verification, all applied on the
// fast path and recorded.
#include <gtest/gtest.h>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

// A pin whose verification cannot pass (nothing listens on port 1).
std::string FailingPin(const EnvRepoFixture& f, const std::string& digest) {
  return f.PinYaml(digest, "2.0.0") +
         "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", retries: 0}\n";
}

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& state) {
  for (const auto& o : pass["outcomes"]) {
    if (o["state"] == state) return &o;
  }
  return nullptr;
}

class RollbackTest : public ::testing::Test {
 protected:
  // dev/api: 1.0.0 verified (the LKG), then 2.0.0 deployed and failing
  // verification.
  void SetUp() override {
    good_ = f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('a'), "1.0.0")}},
                             "api 1.0.0");
    ASSERT_NE(Outcome(f_.Reconcile(), "verified"), nullptr);
    bad_ = f_.CommitAndPush({{"environments/dev/apps/api.yaml", FailingPin(f_, Digest('b'))}},
                            "api 2.0.0");
    nlohmann::json pass = f_.Reconcile(/*expected_exit=*/1);
    ASSERT_NE(Outcome(pass, "failed"), nullptr) << pass.dump();
    ASSERT_EQ(f_.RemoteRef("refs/sluice/lkg/dev/api"), good_);
  }

  std::string DeployedDigest() {
    auto rows = nlohmann::json::parse(
        f_.Sluice({"status", "--format", "json", "--env", "dev", "--log-level", "off"}).out);
    return rows.at(0)["deployed"]["digest"];
  }

  EnvRepoFixture f_;
  std::string good_, bad_;
};

TEST_F(RollbackTest, RollbackCommandRestoresTheLkgPinAndTheControllerAppliesIt) {
  CommandOutput r = f_.Sluice({"rollback", "dev", "api", "--incident", "INC-7", "--push",
                               "--format", "json", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["target"], good_);
  EXPECT_EQ(j["digest"], Digest('a'));
  std::string commit = j["commit"];
  // One commit on the branch, with the trailers, restoring exactly the LKG pin.
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), commit);
  std::string msg = Git(f_.bare, {"log", "-1", "--format=%B", commit}).out;
  EXPECT_NE(msg.find("Sluice-Rollback: " + good_), std::string::npos) << msg;
  EXPECT_NE(msg.find("Sluice-Incident: INC-7"), std::string::npos) << msg;
  EXPECT_EQ(Git(f_.bare, {"show", commit + ":environments/dev/apps/api.yaml"}).out,
            Git(f_.bare, {"show", good_ + ":environments/dev/apps/api.yaml"}).out);

  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* verified = Outcome(pass, "verified");
  ASSERT_NE(verified, nullptr) << pass.dump();
  // The pass report says it was a rollback, not just "verified".
  EXPECT_EQ(
      (*verified)["reason"].get<std::string>().rfind("rolled back to " + good_.substr(0, 12), 0),
      0u)
      << pass.dump();
  std::vector<std::string> kinds;
  for (const auto& e : f_.RemoteEvents(commit)) kinds.push_back(e["event"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"applying", "rolled-back", "verified"}));
  EXPECT_EQ(f_.RemoteEvents(commit)[1]["rollbackTo"], good_);
  EXPECT_EQ(DeployedDigest(), Digest('a'));
  EXPECT_EQ(f_.RemoteRef("refs/sluice/lkg/dev/api"), commit);
}

TEST_F(RollbackTest, WithoutPushTheRollbackGoesToABranchForAPullRequest) {
  CommandOutput r = f_.Sluice({"rollback", "dev", "api", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sluice/rollback-dev-api-"), std::string::npos) << r.out;
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), bad_);
}

TEST_F(RollbackTest, GitRevertOfTheBadPinIsRecognisedAsARollback) {
  Git(f_.work, {"revert", "--no-edit", bad_});
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "verified"), nullptr) << pass.dump();
  std::string revert = f_.RemoteRef("refs/heads/main");
  bool rolled_back = false;
  for (const auto& e : f_.RemoteEvents(revert)) {
    if (e["event"] == "rolled-back") rolled_back = e["rollbackTo"] == good_;
  }
  EXPECT_TRUE(rolled_back);
  EXPECT_EQ(DeployedDigest(), Digest('a'));
}

TEST_F(RollbackTest, ToACommitThatWasNeverVerifiedIsRefused) {
  CommandOutput r = f_.Sluice({"rollback", "dev", "api", "--to", bad_, "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("never verified"), std::string::npos) << r.err;
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), bad_);
}

TEST(RollbackRefusalTest, NothingVerifiedMeansNothingToRollBackTo) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", FailingPin(f, Digest('c'))}}, "api");
  f.Reconcile(/*expected_exit=*/1);  // fails verification
  CommandOutput r = f.Sluice({"rollback", "dev", "api", "--push", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no last-known-good"), std::string::npos) << r.err;
}

TEST(OnFailureRollbackTest, ControllerCommitsAndAppliesTheRollbackItself) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/environment.yaml", "onFailure: rollback\n"}},
                  "dev rolls back by itself");
  std::string good = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}}, "api 1.0.0");
  ASSERT_NE(Outcome(f.Reconcile(), "verified"), nullptr);
  std::string bad = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", FailingPin(f, Digest('b'))}}, "api 2.0.0");

  nlohmann::json pass = f.Reconcile(/*expected_exit=*/1);
  // One pass: the bad release fails verification, the controller pushes the
  // rollback commit and applies it.
  ASSERT_NE(Outcome(pass, "failed"), nullptr) << pass.dump();
  ASSERT_NE(Outcome(pass, "verified"), nullptr) << pass.dump();
  std::string rollback = f.RemoteRef("refs/heads/main");
  EXPECT_NE(rollback, bad);
  std::string msg = Git(f.bare, {"log", "-1", "--format=%an%n%B", rollback}).out;
  EXPECT_NE(msg.find("Sluice controller"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Sluice-Rollback: " + good), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:1/ready"), std::string::npos) << msg;  // the failing check
  auto failed = f.RemoteEvents(bad);
  ASSERT_FALSE(failed.empty());
  EXPECT_NE(failed.back()["reason"].get<std::string>().find("rolled back by"), std::string::npos)
      << failed.back().dump();
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), rollback);
  EXPECT_EQ(f.RemoteRef("refs/sluice/lkg/dev/api"), rollback);
}

}  // namespace
}  // namespace sluice::testing
