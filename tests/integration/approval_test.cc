// Approval as evidence, end to end: the real binary, a real git daemon, and
// SSH signatures made with ssh-keygen and verified for real.
#include <gtest/gtest.h>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

class ApprovalTest : public ::testing::Test {
 protected:
  // prod's rule is in the first commit: its first policy version is trusted
  // as it lands (trust rule 1), a later unsigned edit would not be.
  ApprovalTest()
      : alice_("alice@example.com"),
        f_({{"sluice.yaml",
             "pipeline: [dev, prod]\ngroups:\n  release-managers: [alice@example.com]\n"
             "signers:\n  - " +
                 alice_.signer_line + "\n"},
            {"environments/prod/environment.yaml",
             "approval:\n  required: 1\n  from: [release-managers]\n  evidence: signed\n"}}),
        key_(alice_.path) {}

  // Merges a branch carrying the pin into main; signed by alice when `sign`.
  std::string MergePromotion(const std::string& digest, bool sign) {
    Git(f_.work, {"checkout", "-q", "-b", "promote-" + digest.substr(7, 4)});
    CommitFiles(f_.work, {{"environments/prod/apps/api.yaml", f_.PinYaml(digest)}},
                "Promote api to prod");
    Git(f_.work, {"checkout", "-q", "main"});
    std::vector<std::string> merge = {
        "-c", "gpg.format=ssh", "-c", "user.signingkey=" + key_, "merge",
        "-q", "--no-ff",        "-m", "Merge promotion"};
    if (sign) merge.push_back("-S");
    merge.push_back("promote-" + digest.substr(7, 4));
    Git(f_.work, merge);
    Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
    return Git(f_.work, {"rev-parse", "HEAD"}).out.substr(0, 40);
  }

  const nlohmann::json* Prod(const nlohmann::json& pass) {
    for (const auto& o : pass["outcomes"]) {
      if (o["env"] == "prod") return &o;
    }
    return nullptr;
  }

  SigningKey alice_;
  EnvRepoFixture f_;
  std::string key_;
};

TEST_F(ApprovalTest, MergeSignedByAnApproverIsAppliedAndTheApproverRecorded) {
  std::string merge = MergePromotion(Digest('a'), /*sign=*/true);
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Prod(pass);
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "verified") << pass.dump();
  bool recorded = false;
  for (const auto& e : f_.RemoteEvents(merge)) {
    if (e["event"] == "applied") {
      EXPECT_EQ(e["approvers"], nlohmann::json::array({"alice@example.com"})) << e.dump();
      recorded = true;
    }
  }
  EXPECT_TRUE(recorded);
  auto rows = nlohmann::json::parse(f_.Sluice({"status", "--format", "json", "--env", "prod"}).out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["deployed"]["approvers"], nlohmann::json::array({"alice@example.com"}));
}

TEST_F(ApprovalTest, UnsignedMergeIsBlocked) {
  MergePromotion(Digest('b'), /*sign=*/false);
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Prod(pass);
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ((*prod)["state"], "blocked");
  EXPECT_TRUE(f_.Deploys().empty());
}

TEST_F(ApprovalTest, DirectPushIsBlockedAndNamesWhoPushed) {
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('c'))}},
                   "Straight to prod");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Prod(pass);
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ((*prod)["state"], "blocked");
  std::string reason = (*prod)["reason"];
  EXPECT_NE(reason.find("direct push"), std::string::npos) << reason;
  EXPECT_NE(reason.find("test@example.com"), std::string::npos) << reason;
  EXPECT_TRUE(f_.Deploys().empty());
}

TEST_F(ApprovalTest, ApprovedMergeAfterARevertedDirectPushOfTheSamePinIsJudgedAfresh) {
  std::string direct = f_.CommitAndPush(
      {{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('d'))}}, "Straight to prod");
  ASSERT_EQ((*Prod(f_.Reconcile()))["state"], "blocked");
  Git(f_.work, {"revert", "--no-edit", direct});
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  // The same pin content comes back, this time through a signed merge: the
  // merge is the change to judge, not the old direct push.
  std::string merge = MergePromotion(Digest('d'), /*sign=*/true);
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Prod(pass);
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "verified") << pass.dump();
  EXPECT_EQ((*prod)["commit"], merge);
}

}  // namespace
}  // namespace sluice::testing
