// The on-call path in a protected environment (issue 20), end to end: the
// real binary, a real git daemon, SSH signatures made by ssh-keygen.
//  - one on-call engineer rolls prod back with `sluice rollback --sign`
//    (or --signing-key): the signed rollback commit is the approval;
//  - without a way to meet the rollback rule, `rollback --push` refuses
//    before anything is written, saying what is needed;
//  - when the running release is itself the LKG, rollback goes to the
//    verified release before it (SPEC section 5).
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& env,
                              const std::string& state) {
  for (const auto& o : pass["outcomes"]) {
    if (o["env"] == env && o["state"] == state) return &o;
  }
  return nullptr;
}

// A pin whose verification cannot pass (nothing listens on port 1).
std::string FailingPin(const EnvRepoFixture& f, const std::string& digest,
                       const std::string& version) {
  return f.PinYaml(digest, version) +
         "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", retries: 0}\n";
}

// prod needs one signed approval from release-managers; its rollback rule is
// the default (one member of on-call, signed evidence). mallory signs but is
// in no group that may approve.
class OnCallRollbackTest : public ::testing::Test {
 protected:
  OnCallRollbackTest()
      : alice_("alice@example.com"),
        carol_("carol@example.com"),
        mallory_("mallory@example.com"),
        f_({{"sluice.yaml",
             "pipeline: [dev, prod]\ngroups:\n  release-managers: [alice@example.com]\n"
             "  on-call: [carol@example.com]\nsigners:\n  - " +
                 alice_.signer_line + "\n  - " + carol_.signer_line + "\n  - " +
                 mallory_.signer_line + "\n"},
            {"environments/prod/environment.yaml",
             "approval:\n  required: 1\n  from: [release-managers]\n  evidence: signed\n"}}) {
    // carol's git: SSH signing set up as git documents it, in her HOME.
    home_ = home_dir_.path();
    WriteFile(home_ + "/.gitconfig",
              "[user]\n\tname = Carol Oncall\n\temail = carol@example.com\n\tsigningkey = " +
                  carol_.path + "\n[gpg]\n\tformat = ssh\n");
    f_.extra_env = {"HOME=" + home_, "XDG_CONFIG_HOME=" + home_ + "/.config"};
  }

  // A release of prod/api through a merge signed by alice.
  std::string Release(const std::string& pin, const std::string& branch) {
    Git(f_.work, {"checkout", "-q", "-b", branch});
    CommitFiles(f_.work, {{"environments/prod/apps/api.yaml", pin}}, "Promote api to prod");
    Git(f_.work, {"checkout", "-q", "main"});
    Git(f_.work, {"-c", "gpg.format=ssh", "-c", "user.signingkey=" + alice_.path, "merge", "-q",
                  "--no-ff", "-S", "-m", "Merge " + branch, branch});
    Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
    return Git(f_.work, {"rev-parse", "HEAD"}).out.substr(0, 40);
  }

  // 1.0.0 verified in prod (the LKG), then 2.0.0 failing its verification.
  void GoodThenBad() {
    good_ = Release(f_.PinYaml(Digest('a'), "1.0.0"), "r1");
    nlohmann::json pass = f_.Reconcile();
    ASSERT_NE(Outcome(pass, "prod", "verified"), nullptr) << pass.dump();
    bad_ = Release(FailingPin(f_, Digest('b'), "2.0.0"), "r2");
    pass = f_.Reconcile(/*expected_exit=*/1);
    ASSERT_NE(Outcome(pass, "prod", "failed"), nullptr) << pass.dump();
    ASSERT_EQ(f_.RemoteRef("refs/sluice/lkg/prod/api"), good_);
  }

  std::string DeployedDigest() {
    auto rows = nlohmann::json::parse(
        f_.Sluice({"status", "--format", "json", "--env", "prod", "--log-level", "off"}).out);
    return rows.at(0)["deployed"]["digest"];
  }

  SigningKey alice_, carol_, mallory_;
  EnvRepoFixture f_;
  TempDir home_dir_;
  std::string home_;
  std::string good_, bad_;
};

TEST_F(OnCallRollbackTest, OneSignedRollbackByOnCallIsAppliedWithHerApprovalRecorded) {
  GoodThenBad();
  CommandOutput r = f_.Sluice({"rollback", "prod", "api", "--incident", "INC-42", "--push",
                               "--sign", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("(signed)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("approval: merge signed by carol@example.com"), std::string::npos) << r.out;
  std::string rollback = f_.RemoteRef("refs/heads/main");
  ASSERT_NE(rollback, bad_);

  // git itself accepts the signature, by carol's key.
  WriteFile(home_ + "/allowed", "carol@example.com " + carol_.public_key + "\n");
  CommandOutput verify =
      RunCommand({"git", "-C", f_.bare, "-c", "gpg.ssh.allowedSignersFile=" + home_ + "/allowed",
                  "verify-commit", rollback});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE(verify.err.find("Good \"git\" signature for carol@example.com"), std::string::npos)
      << verify.err;
  EXPECT_EQ(Git(f_.bare, {"log", "-1", "--format=%an <%ae>", rollback}).out,
            "Carol Oncall <carol@example.com>\n");

  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "prod", "verified"), nullptr) << pass.dump();
  bool approved_by_carol = false;
  std::vector<std::string> kinds;
  for (const auto& e : f_.RemoteEvents(rollback)) {
    kinds.push_back(e["event"]);
    if (e["event"] == "rolled-back") {
      approved_by_carol = e["approvers"] == nlohmann::json::array({"carol@example.com"});
    }
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"applying", "rolled-back", "verified"}));
  EXPECT_TRUE(approved_by_carol);
  EXPECT_EQ(DeployedDigest(), Digest('a'));
  // The reports name carol's signed approval of the rollback.
  const std::string report =
      f_.Sluice({"incident-report", "prod", "api", "--incident", "INC-42", "--log-level", "off"})
          .out;
  EXPECT_NE(report.find("Rollback:\n- carol@example.com — signed rollback commit"),
            std::string::npos)
      << report;
  EXPECT_EQ(report.find("no approval required"), std::string::npos) << report;
  const std::string notes = f_.Sluice({"release-notes", "prod", "api", "--log-level", "off"}).out;
  EXPECT_NE(notes.find("## Approvals\n\n- carol@example.com\n"), std::string::npos) << notes;
  EXPECT_EQ(notes.find("None recorded"), std::string::npos) << notes;
}

TEST_F(OnCallRollbackTest, SigningKeyFileSignsWithoutAnyGitSigningSetup) {
  GoodThenBad();
  WriteFile(home_ + "/.gitconfig", "[user]\n\tname = Carol Oncall\n\temail = carol@example.com\n");
  CommandOutput r = f_.Sluice({"rollback", "prod", "api", "--push", "--signing-key", carol_.path,
                               "--format", "json", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["signed"], true);
  EXPECT_EQ(j["target"], good_);
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), j["commit"]);
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "prod", "verified"), nullptr) << pass.dump();
  EXPECT_EQ(DeployedDigest(), Digest('a'));
}

TEST_F(OnCallRollbackTest, UnsignedPushIsRefusedUpFrontSayingWhatIsNeeded) {
  GoodThenBad();
  CommandOutput r = f_.Sluice({"rollback", "prod", "api", "--push", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_NE(r.err.find("rerun with --sign"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--signing-key FILE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("on-call (carol@example.com)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing pushed"), std::string::npos) << r.err;
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), bad_);
  // Without --push it is a branch for a pull request, which says what its
  // merge will need.
  CommandOutput pr = f_.Sluice({"rollback", "prod", "api", "--log-level", "off"});
  ASSERT_EQ(pr.exit_code, 0) << pr.err;
  EXPECT_NE(pr.out.find("rollback rule needs 1 approval from on-call"), std::string::npos)
      << pr.out;
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), bad_);
}

TEST_F(OnCallRollbackTest, SignerOutsideOnCallIsRefusedBeforeThePush) {
  GoodThenBad();
  CommandOutput r = f_.Sluice(
      {"rollback", "prod", "api", "--push", "--signing-key", mallory_.path, "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;
  EXPECT_NE(r.err.find("mallory@example.com signed the merge but is not in on-call"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), bad_);
}

TEST_F(OnCallRollbackTest, SignWithoutAGitSigningSetupSaysWhatToConfigure) {
  GoodThenBad();
  WriteFile(home_ + "/.gitconfig", "[user]\n\tname = Carol Oncall\n\temail = carol@example.com\n");
  CommandOutput r =
      f_.Sluice({"rollback", "prod", "api", "--push", "--sign", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_NE(r.err.find("gpg.format ssh"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--signing-key FILE"), std::string::npos) << r.err;
  EXPECT_EQ(f_.RemoteRef("refs/heads/main"), bad_);
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// The runbook's remedy for an unsigned rollback that landed (a plain git
// revert, blocked for want of on-call's signature): undo it, then roll back
// signed. A signed rollback straight on top says what to do instead.
TEST_F(OnCallRollbackTest, UnsignedRevertIsUndoneThenRolledBackSigned) {
  GoodThenBad();
  Git(f_.work, {"revert", "--no-edit", "-m", "1", bad_});  // bad_ is a merge
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  const std::string unsigned_revert = f_.RemoteRef("refs/heads/main");
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "prod", "blocked"), nullptr) << pass.dump();

  CommandOutput again =
      f_.Sluice({"rollback", "prod", "api", "--push", "--sign", "--log-level", "off"});
  // Nothing to do is not a failure (exit 0, as promote with nothing to
  // promote); the message still says how to get the rollback applied.
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("git revert " + unsigned_revert.substr(0, 12)), std::string::npos)
      << again.out;

  Git(f_.work, {"revert", "--no-edit", unsigned_revert});
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  CommandOutput r =
      f_.Sluice({"rollback", "prod", "api", "--push", "--sign", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "prod", "verified"), nullptr) << pass.dump();
  EXPECT_EQ(DeployedDigest(), Digest('a'));
}

// The failed release stays in view while what follows it is blocked (an
// unsigned revert), with the command that rolls back; every reason is
// printed whole (wrapped, not cut at 100 columns) and says when it was
// recorded.
TEST_F(OnCallRollbackTest, StatusKeepsTheFailureInViewWhileTheRevertIsBlocked) {
  GoodThenBad();
  Git(f_.work, {"revert", "--no-edit", "-m", "1", bad_});
  Git(f_.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "prod", "blocked"), nullptr) << pass.dump();

  auto rows = nlohmann::json::parse(
      f_.Sluice({"status", "--format", "json", "--env", "prod", "--log-level", "off"}).out);
  ASSERT_EQ(rows.size(), 1u);
  const nlohmann::json& row = rows[0];
  EXPECT_EQ(row["state"], "blocked");
  ASSERT_TRUE(row["lastFailure"].is_object()) << row.dump(2);
  EXPECT_EQ(row["lastFailure"]["commit"], bad_);
  EXPECT_EQ(row["lastFailure"]["version"], "2.0.0");
  EXPECT_NE(row["lastFailure"]["reason"].get<std::string>().find("verification failed"),
            std::string::npos)
      << row.dump(2);
  EXPECT_EQ(row["rollbackCommand"], "sluice rollback prod api --push");
  EXPECT_TRUE(row["reasonsAsOf"].is_string()) << row.dump(2);

  CommandOutput text = f_.Sluice({"status", "--env", "prod", "--log-level", "off"});
  EXPECT_NE(text.out.find("  failed   2.0.0 at " + bad_.substr(0, 12)), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  rollback sluice rollback prod api --push\n"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  as of    "), std::string::npos) << text.out;
  // For a monitor: --exit-code says blocked (3); without it, 0.
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_EQ(f_.Sluice({"status", "--env", "prod", "--exit-code", "--log-level", "off"}).exit_code,
            3);
  EXPECT_EQ(f_.Sluice({"status", "--env", "dev", "--exit-code", "--log-level", "off"}).exit_code,
            0);
  // Every line within 100 columns, and each reason whole once the wrapped
  // lines are joined again.
  std::istringstream lines(text.out);
  std::string joined;
  for (std::string line; std::getline(lines, line);) {
    const auto columns = std::count_if(line.begin(), line.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    });
    EXPECT_LE(columns, 100) << line;
    size_t start = line.find_first_not_of(' ');
    if (line.rfind("  why      ", 0) == 0) start = 11;
    joined += " " + (start == std::string::npos ? "" : line.substr(start));
  }
  for (const auto& reason : row["reasons"]) {
    EXPECT_NE(joined.find(reason.get<std::string>()), std::string::npos) << reason << "\n"
                                                                         << text.out;
  }
}

// After prod rolled back 2.0.0, promoting the same digest from dev again
// warns, saying when it failed in prod.
TEST_F(OnCallRollbackTest, PromotingTheDigestThatJustFailedInProdWarns) {
  GoodThenBad();
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('b'), "2.0.0")}},
                   "dev runs api 2.0.0");
  ASSERT_NE(Outcome(f_.Reconcile(), "dev", "verified"), nullptr);
  ASSERT_EQ(
      f_.Sluice({"rollback", "prod", "api", "--push", "--sign", "--log-level", "off"}).exit_code,
      0);
  f_.Reconcile();
  std::string failed_at;
  for (const auto& e : f_.RemoteEvents(bad_)) {
    if (e["event"] == "failed") failed_at = e["time"].get<std::string>().substr(0, 19);
  }
  ASSERT_FALSE(failed_at.empty());

  CommandOutput r =
      RunCommand({SLUICE_BINARY, "promote", "api", "--from", "dev", "--to", "prod", "--repo",
                  f_.work, "--workdir", f_.workdir + "-promote", "--format", "json"},
                 "", f_.extra_env);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("warning: prod already ran 2.0.0 (" + Digest('b') +
                       ") and it FAILED there at " + failed_at),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("release " + bad_.substr(0, 12)), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["failedInTarget"]["commit"], bad_);
}

// A digest that never failed in prod is promoted without a word.
TEST_F(OnCallRollbackTest, PromotingAFreshDigestDoesNotWarn) {
  GoodThenBad();
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('c'), "2.0.1")}},
                   "dev runs api 2.0.1");
  ASSERT_NE(Outcome(f_.Reconcile(), "dev", "verified"), nullptr);
  CommandOutput r =
      RunCommand({SLUICE_BINARY, "promote", "api", "--from", "dev", "--to", "prod", "--repo",
                  f_.work, "--workdir", f_.workdir + "-promote", "--format", "json"},
                 "", f_.extra_env);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.err.find("warning:"), std::string::npos) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["failedInTarget"].is_null());
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// 1.0.0 and then 2.0.0 pass verification in dev; 2.0.0 turns out bad. What
// runs is the LKG itself, so rollback goes to the verified release before it.
TEST(RollbackFromARunningLkgTest, GoesToTheVerifiedReleaseBeforeIt) {
  EnvRepoFixture f;
  std::string first = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}}, "api 1.0.0");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  std::string second = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'), "2.0.0")}}, "api 2.0.0");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  ASSERT_EQ(f.RemoteRef("refs/sluice/lkg/dev/api"), second);

  CommandOutput r =
      f.Sluice({"rollback", "dev", "api", "--incident", "INC-9", "--push", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("what runs is the last-known-good itself (" + second.substr(0, 12) + ")"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("to 1.0.0 (" + first.substr(0, 12) + ", verified)"), std::string::npos)
      << r.out;
  std::string rollback = f.RemoteRef("refs/heads/main");
  EXPECT_NE(
      Git(f.bare, {"log", "-1", "--format=%B", rollback}).out.find("Sluice-Rollback: " + first),
      std::string::npos);

  nlohmann::json pass = f.Reconcile();
  ASSERT_NE(Outcome(pass, "dev", "verified"), nullptr) << pass.dump();
  std::vector<std::string> kinds;
  for (const auto& e : f.RemoteEvents(rollback)) kinds.push_back(e["event"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"applying", "rolled-back", "verified"}));
  auto rows = nlohmann::json::parse(
      f.Sluice({"status", "--format", "json", "--env", "dev", "--log-level", "off"}).out);
  EXPECT_EQ(rows.at(0)["deployed"]["digest"], Digest('a'));
}

TEST(RollbackFromARunningLkgTest, WithNothingVerifiedBeforeItSaysToFixForward) {
  EnvRepoFixture f;
  std::string only = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}}, "api 1.0.0");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  CommandOutput r = f.Sluice({"rollback", "dev", "api", "--push", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("runs its last-known-good (" + only.substr(0, 12) + ")"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("fix forward"), std::string::npos) << r.err;
  EXPECT_EQ(f.RemoteRef("refs/heads/main"), only);
}

// `sluice history`: what `rollback --to` chooses from, newest first, with
// who proposed and approved each release.
TEST_F(OnCallRollbackTest, HistoryListsTheReleasesNewestFirstWithTheirApprovers) {
  GoodThenBad();
  CommandOutput rb =
      f_.Sluice({"rollback", "prod", "api", "--push", "--sign", "--log-level", "off"});
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  std::string rollback = f_.RemoteRef("refs/heads/main");
  f_.Reconcile();

  CommandOutput r = f_.Sluice({"history", "prod", "api", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 3u) << rows.dump(2);
  EXPECT_EQ(rows[0]["commit"], rollback);
  EXPECT_EQ(rows[0]["verified"], true);
  EXPECT_EQ(rows[0]["running"], true);
  EXPECT_EQ(rows[0]["lkg"], true);
  EXPECT_EQ(rows[0]["approvers"], nlohmann::json::array({"carol@example.com"}));
  EXPECT_EQ(rows[0]["rollsBack"], bad_);
  EXPECT_EQ(rows[1]["commit"], bad_);
  EXPECT_EQ(rows[1]["version"], "2.0.0");
  EXPECT_EQ(rows[1]["digest"], Digest('b'));
  EXPECT_EQ(rows[1]["verified"], false);
  EXPECT_EQ(rows[1]["outcome"], "rolled-back");
  EXPECT_TRUE(rows[1]["failedAt"].is_string());
  EXPECT_EQ(rows[1]["rolledBackBy"], rollback);
  EXPECT_EQ(rows[2]["commit"], good_);
  EXPECT_EQ(rows[2]["verified"], true);
  EXPECT_EQ(rows[2]["approvers"], nlohmann::json::array({"alice@example.com"}));
  EXPECT_EQ(rows[2]["approval"], "signed");
  EXPECT_FALSE(rows[2]["proposer"].get<std::string>().empty());

  CommandOutput text = f_.Sluice({"history", "prod", "api", "--log-level", "off"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("prod/api: 3 releases, newest first"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(">* " + rollback.substr(0, 12)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(bad_.substr(0, 12)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("FAILED"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("approved by alice@example.com (signed)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("sluice rollback prod api --to COMMIT"), std::string::npos) << text.out;
  std::istringstream lines(text.out);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;

  CommandOutput help = f_.Sluice({"history", "--help"}, /*with_repo=*/false);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("rollback --to"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Examples:"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace sluice::testing
