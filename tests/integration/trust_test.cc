// The trust rule (SPEC section 1.3, rules 1-3), tried the way an engineer
// with push access and no approval would: the real binary, a real git
// daemon, merges signed with ssh-keygen and verified for real. Each test is
// one side door of docs/security.md and keeps it closed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

class TrustTest : public ::testing::Test {
 protected:
  TrustTest()
      : alice_("alice@example.com"),
        settings_("groups:\n  release-managers: [alice@example.com]\nsigners:\n  - " +
                  alice_.signer_line + "\n"),
        f_({{"sluice.yaml", "pipeline: [dev, prod]\n" + settings_},
            {"environments/prod/environment.yaml", kProtected}}),
        key_(alice_.path) {
    policy_commit_ = Head();
  }

  static constexpr char kProtected[] =
      "approval:\n  required: 1\n  from: [release-managers]\n  evidence: signed\n";

  // Commits `files` on a branch and merges it into main with --no-ff, the
  // merge signed by alice (an approver) when `sign`; pushes main.
  std::string Merge(const std::map<std::string, std::optional<std::string>>& files,
                    const std::string& message, bool sign) {
    const std::string branch = "change-" + std::to_string(++branches_);
    Git(f_.work, {"checkout", "-q", "-b", branch});
    CommitFiles(f_.work, files, message);
    Git(f_.work, {"checkout", "-q", "main"});
    std::vector<std::string> merge = {
        "-c", "gpg.format=ssh", "-c", "user.signingkey=" + key_, "merge",
        "-q", "--no-ff",        "-m", "Merge: " + message};
    if (sign) merge.push_back("-S");
    merge.push_back(branch);
    Git(f_.work, merge);
    Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
    return Head();
  }

  // An approved change: prod gets a custom gate `smoke` running
  // scripts/gate.sh, which leaves `marker` behind when it runs.
  void AddSmokeGate(const std::string& marker) {
    Merge({{"scripts/gate.sh", MarkerScript(marker)},
           {"environments/prod/environment.yaml",
            std::string(kProtected) + "gates:\n  custom: [{ name: smoke, command: [sh, "
                                      "scripts/gate.sh], timeout: 30s }]\n"}},
          "Add a smoke gate", true);
  }

  std::string Head() { return Git(f_.work, {"rev-parse", "HEAD"}).out.substr(0, 40); }

  const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& env) {
    for (const auto& o : pass["outcomes"]) {
      if (o["env"] == env) return &o;
    }
    return nullptr;
  }

  // A script that leaves `marker` behind when it runs: proof that code ran.
  std::string MarkerScript(const std::string& marker) {
    return "#!/bin/sh\ntouch '" + marker + "'\nexit 0\n";
  }

  SigningKey alice_;
  std::string settings_;
  EnvRepoFixture f_;
  std::string key_;
  std::string policy_commit_;
  int branches_ = 0;
};

// `sluice plan --branch <pull request>` run on the controller's own workdir
// (as a reviewer previews a change) must not leave the pull request's walk of
// the policy history where the controller keeps main's: the controller would
// find main "rewritten" and stop judging prod.
TEST_F(TrustTest, PlanOfAPullRequestBranchOnTheControllersWorkdirLeavesMainsTrustAlone) {
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('a'))}}, "prod api a");
  f_.Reconcile();  // prod: blocked (a direct push), main's policy walk kept
  Git(f_.work, {"checkout", "-q", "-b", "preview"});
  CommitFiles(f_.work, {{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('b'))}},
              "prod api b");
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/preview"});
  Git(f_.work, {"checkout", "-q", "main"});
  CommandOutput plan = f_.Sluice({"plan", "--branch", "preview", "--env", "prod"});
  EXPECT_NE(plan.exit_code, 1) << plan.err;

  // main moves on without the preview's commit.
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('c'))}}, "prod api c");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  EXPECT_EQ((*prod)["reason"].get<std::string>().find("rewritten"), std::string::npos)
      << pass.dump();
}

// Side door 1: a policy pushed to refs/sluice/applied/prod (never to main)
// used to become the policy in force.
TEST_F(TrustTest, PolicyPushedToTheRecordRefDoesNotDecide) {
  Git(f_.work, {"checkout", "-q", "-b", "forged"});
  std::string forged = CommitFiles(f_.work, {{"environments/prod/environment.yaml", "{}\n"}},
                                   "No approval needed, honest");
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/sluice/applied/prod"});
  Git(f_.work, {"checkout", "-q", "main"});
  Git(f_.work, {"merge", "-q", "--ff-only", "forged"});  // main now descends from it too
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('a'))}},
                   "Straight to prod");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  EXPECT_TRUE(f_.Deploys().empty());
  // plan names the edit that took no effect.
  CommandOutput plan = f_.Sluice({"plan", "--env", "prod", "--log-level", "off"});
  EXPECT_EQ(plan.exit_code, 3) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("environments/prod/environment.yaml in " + forged.substr(0, 12) +
                                  " ignored: not approved"));
}

// Side door 2: an unsigned commit on top of an approved merge edits the
// deploy script; the head's tree used to be exported and run.
TEST_F(TrustTest, UnreviewedScriptEditOnTopOfAnApprovedMergeBlocksAndNeverRuns) {
  Merge({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('b'))}}, "Promote api", true);
  const std::string marker = f_.state + "/evil-ran";
  std::string evil =
      f_.CommitAndPush({{"scripts/deploy.sh", MarkerScript(marker)}}, "Tidy the deploy script");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  std::string reason = (*prod)["reason"];
  EXPECT_THAT(reason, HasSubstr(evil.substr(0, 12)));
  EXPECT_THAT(reason, HasSubstr("scripts/deploy.sh"));
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_TRUE(f_.Deploys().empty());

  // Reverted (by anyone: a revert to approved content widens nothing), what
  // runs is what was approved again.
  Git(f_.work, {"revert", "--no-edit", evil});
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  pass = f_.Reconcile();
  prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "verified") << pass.dump();
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(f_.Deploys().size(), 1u);
}

// Side door 2, beside the command: a new file in the deploy command's
// directory (a helper it could source), pushed unsigned after the approved
// merge, blocks the app.
TEST_F(TrustTest, UnapprovedFileBesideTheDeployCommandBlocks) {
  Merge({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('c'))}}, "Promote api", true);
  // The exec command's arguments are not files; the command's own directory
  // is. A new helper script beside it, pushed unsigned, is in the way.
  std::string helper =
      f_.CommitAndPush({{"scripts/helper.sh", "#!/bin/sh\nexit 0\n"}}, "Add a helper");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  EXPECT_THAT(std::string((*prod)["reason"]), HasSubstr(helper.substr(0, 12)));
  EXPECT_TRUE(f_.Deploys().empty());
}

// Side door 3: a direct push edits prod's custom-gate script and its pin;
// the edited script used to run (as the controller's user) before approval
// was checked, and `sluice plan` ran it on a reviewer's machine.
TEST_F(TrustTest, CustomGateEditedByADirectPushNeverRunsInReconcileOrPlan) {
  const std::string honest = f_.state + "/gate-ran-honest";
  AddSmokeGate(honest);
  const std::string marker = f_.state + "/evil-gate-ran";
  Git(f_.work, {"checkout", "-q", "-b", "hostile"});
  CommitFiles(f_.work,
              {{"scripts/gate.sh", MarkerScript(marker)},
               {"environments/prod/apps/api.yaml", f_.PinYaml(Digest('d'))}},
              "Ship it");
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/hostile"});
  // A reviewer previews the hostile branch.
  CommandOutput plan =
      f_.Sluice({"plan", "--branch", "hostile", "--env", "prod", "--log-level", "off"});
  EXPECT_EQ(plan.exit_code, 3) << plan.out << plan.err;
  EXPECT_FALSE(std::filesystem::exists(marker));
  // And it lands on main by a direct push.
  Git(f_.work, {"checkout", "-q", "main"});
  Git(f_.work, {"merge", "-q", "--ff-only", "hostile"});
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_FALSE(std::filesystem::exists(honest));
  EXPECT_TRUE(f_.Deploys().empty());
}

// Rule 3, the passing side: once approval passed, the gate runs from the
// commit of the policy in force, never from the candidate.
TEST_F(TrustTest, CustomGateRunsFromThePolicyCommitOnceApproved) {
  const std::string honest = f_.state + "/gate-ran-honest";
  AddSmokeGate(honest);
  Merge({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('e'))}}, "Promote api", true);
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "verified") << pass.dump();
  EXPECT_TRUE(std::filesystem::exists(honest));
}

// Side door 5: an approved commit adds environment stage with an approval
// policy; an unsigned commit relaxes it; an unsigned commit pins it.
TEST_F(TrustTest, TwoStepPolicyEditCannotOpenANewEnvironment) {
  Merge({{"sluice.yaml", "pipeline: [dev, stage, prod]\n" + settings_},
         {"environments/stage/environment.yaml", kProtected}},
        "Add stage", true);
  std::string relax =
      f_.CommitAndPush({{"environments/stage/environment.yaml", "{}\n"}}, "Relax stage");
  f_.CommitAndPush({{"environments/stage/apps/api.yaml", f_.PinYaml(Digest('f'))}}, "Pin stage");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* stage = Outcome(pass, "stage");
  ASSERT_NE(stage, nullptr) << pass.dump();
  EXPECT_EQ((*stage)["state"], "blocked") << pass.dump();
  EXPECT_TRUE(f_.Deploys().empty());
  CommandOutput plan = f_.Sluice({"plan", "--env", "stage", "--format", "json"});
  auto rows = nlohmann::json::parse(plan.out, nullptr, false);
  ASSERT_TRUE(rows.is_array() && rows.size() == 1) << plan.out << plan.err;
  ASSERT_EQ(rows[0]["policyNotes"].size(), 1u) << rows.dump();
  EXPECT_THAT(std::string(rows[0]["policyNotes"][0]), HasSubstr(relax.substr(0, 12)));
}

// Rule 1, the passing side: a policy edit approved under the policy it
// changes takes effect at once.
TEST_F(TrustTest, ApprovedPolicyEditTakesEffect) {
  Merge({{"environments/prod/environment.yaml", "{}\n"}}, "Open prod (approved)", true);
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('1'))}},
                   "Straight to prod, now allowed");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "verified") << pass.dump();
}

// Rule 1: an approved edit built on an unapproved one does not carry it in.
TEST_F(TrustTest, ApprovedEditOnTopOfAnUnapprovedOneDoesNotCarryItIn) {
  f_.CommitAndPush({{"environments/prod/environment.yaml", "{}\n"}}, "Relax prod");
  Merge({{"environments/prod/environment.yaml", "# reviewed comment\n{}\n"}}, "Comment", true);
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('2'))}},
                   "Straight to prod");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  EXPECT_TRUE(f_.Deploys().empty());
}

// trust.bootstrap: a pinned starting point that is not in the branch's
// history (a rewritten branch) stops everything, fail closed.
TEST_F(TrustTest, BootstrapOutsideTheHistoryFailsClosed) {
  const std::string config = f_.state + "/controller.yaml";
  WriteFile(config, "trust:\n  bootstrap: " + std::string(40, 'a') + "\n");
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('3'))}}, "Pin dev");
  CommandOutput r = f_.Sluice(
      {"reconcile", "--once", "--format", "json", "--log-level", "warn", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto pass = nlohmann::json::parse(r.out, nullptr, false);
  const nlohmann::json* dev = Outcome(pass, "dev");
  ASSERT_NE(dev, nullptr) << r.out;
  EXPECT_EQ((*dev)["state"], "blocked") << r.out;
  EXPECT_THAT(std::string((*dev)["reason"]), HasSubstr("trust.bootstrap"));
  EXPECT_TRUE(f_.Deploys().empty());

  // Pinned at the policy commit, dev (no approval) deploys.
  WriteFile(config, "trust:\n  bootstrap: " + policy_commit_ + "\n");
  r = f_.Sluice(
      {"reconcile", "--once", "--format", "json", "--log-level", "warn", "--config", config});
  pass = nlohmann::json::parse(r.out, nullptr, false);
  dev = Outcome(pass, "dev");
  ASSERT_NE(dev, nullptr) << r.out;
  EXPECT_EQ((*dev)["state"], "verified") << r.out;
}

// Side door 5c: a force push replaces main with a new history whose first
// prod policy is empty. What this controller judged before is no longer an
// ancestor: a protected environment stops instead of trusting the new root.
TEST_F(TrustTest, RewrittenBranchStopsAProtectedEnvironment) {
  f_.Reconcile();  // the controller has judged this history
  Git(f_.work, {"checkout", "-q", "--orphan", "rewritten"});
  CommitFiles(f_.work,
              {{"environments/prod/environment.yaml", "{}\n"},
               {"environments/prod/apps/api.yaml", f_.PinYaml(Digest('4'))}},
              "A fresh start");
  Git(f_.work, {"push", "-q", "-f", "origin", "HEAD:refs/heads/main"});
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* prod = Outcome(pass, "prod");
  ASSERT_NE(prod, nullptr) << pass.dump();
  EXPECT_EQ((*prod)["state"], "blocked") << pass.dump();
  EXPECT_THAT(std::string((*prod)["reason"]), HasSubstr("the branch was rewritten"));
  EXPECT_TRUE(f_.Deploys().empty());
}

TEST_F(TrustTest, BadBootstrapIsAConfigErrorNamingTheLine) {
  const std::string config = f_.state + "/controller.yaml";
  WriteFile(config, "logLevel: warn\ntrust:\n  bootstrap: main\n");
  CommandOutput r = f_.Sluice({"reconcile", "--once", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(config + ":3: trust.bootstrap must be a full 40-character"));
}

}  // namespace
}  // namespace sluice::testing
