// The forgery table of SPEC §3, each row its own test, end to end: real
// commits and SSH signatures made with the git CLI and ssh-keygen, forge
// answers from loopback servers that serve the documented JSON shapes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "approval/approval_gate.h"
#include "approval/forge.h"
#include "config/settings.h"
#include "core/time_format.h"
#include "fixtures.h"
#include "git/repo.h"
#include "net/http_client.h"
#include "process/runner.h"

namespace sluice::approval {
namespace {

using testing::FakeGitHub;
using testing::FakeGitLab;
using testing::GitHubPull;
using testing::GitHubReview;
using ::testing::HasSubstr;
using testing::kAlice;
using testing::kBob;
using testing::kCarol;
using testing::kMallory;
using testing::kPin;
using ::testing::Not;
using testing::RepoFixture;

constexpr const char* kToken = "ghp_TopSecretToken0123456789";

class ApprovalTest : public ::testing::Test {
 protected:
  ApprovalTest() {
    settings.pipeline = {"prod"};
    settings.groups["release-managers"] = {"alice", "bob", "alice@example.com", "bob@example.com"};
    policy.required = 2;
    policy.from = {"release-managers"};
    policy.evidence = config::Evidence::kForge;
    policy.separate_author = true;
  }

  std::unique_ptr<Forge> GitHub(const Clock* clock = nullptr) {
    return std::make_unique<GitHubForge>(http, github.api(), "shop/environments", kToken, clock);
  }

  ApprovalEvidence Gather(const std::string& candidate, Forge* forge,
                          const std::string& stop_at = "") {
    auto opened = git::Repository::Open(repo.path());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    ApprovalChecker checker(**opened, forge, runner, extra_signers);
    return checker.Gather(policy, settings, candidate, kPin,
                          stop_at.empty() ? repo.base() : stop_at);
  }

  ApprovalDecision Judge(const ApprovalEvidence& ev) { return JudgeApproval(policy, settings, ev); }

  git::LibGit2 libgit2;
  RepoFixture repo;
  FakeGitHub github;
  net::CurlHttpClient http;
  process::BoostCommandRunner runner;
  config::RepoSettings settings;
  config::ApprovalPolicy policy;
  std::vector<std::string> extra_signers;
};

// --- forge evidence ------------------------------------------------------------

TEST_F(ApprovalTest, ProperlyApprovedPullRequestPassesAndListsApprovers) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  github.SetReviews(
      7, {GitHubReview(80, "alice", "APPROVED", head), GitHubReview(81, "bob", "APPROVED", head)});
  auto forge = GitHub();
  ApprovalEvidence ev = Gather(merge, forge.get());
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kPass) << d.result.reason;
  EXPECT_EQ(d.result.reason, "approved by alice, bob (2 of 2, release-managers)");
  EXPECT_EQ(d.approvers, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(ev.landing_commit, merge);
  EXPECT_TRUE(ev.via_pr);
  EXPECT_EQ(ev.pr, "#7 https://github.com/shop/environments/pull/7");
  EXPECT_EQ(ev.author, "carol");
  EXPECT_THAT(d.result.evidence["approvers"],
              HasSubstr("github review 80 on " + head.substr(0, 12)));
  EXPECT_EQ(d.result.evidence["landingCommit"], merge);
  for (const auto& auth : github.authorizations()) {
    EXPECT_EQ(auth, std::string("Bearer ") + kToken);
  }
}

TEST_F(ApprovalTest, SelfApprovalDoesNotCount) {
  auto [head, merge] = repo.PullRequest("promote", kAlice, kAlice);
  github.AddPull(merge, GitHubPull(7, "alice", head, merge));
  github.SetReviews(
      7, {GitHubReview(80, "alice", "APPROVED", head), GitHubReview(81, "bob", "APPROVED", head)});
  auto forge = GitHub();
  ApprovalEvidence ev = Gather(merge, forge.get());
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_EQ(d.result.reason,
            "1 of 2 approvals: bob (release-managers); alice opened #7 and cannot approve it");
  EXPECT_TRUE(d.approvers.empty());
  policy.separate_author = false;  // the author is the only thing in the way
  EXPECT_EQ(Judge(ev).result.verdict, gates::Verdict::kPass);
}

TEST_F(ApprovalTest, ApprovalOnAnOlderHeadThenANewCommitDoesNotCount) {
  repo.Checkout("promote", true);
  std::string old_head =
      repo.Commit({{kPin, "artifact: {digest: sha256:1111}\n"}}, "promote", kCarol);
  std::string head = repo.Commit({{kPin, "artifact: {digest: sha256:6666}\n"}}, "oops", kCarol);
  std::string merge = repo.Merge("promote", "Merge pull request #7", kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  github.SetReviews(7, {GitHubReview(80, "bob", "APPROVED", old_head),
                        GitHubReview(81, "alice", "APPROVED", head)});
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("1 of 2 approvals: alice (release-managers); bob's "
                                         "approval was for an older head " +
                                         old_head.substr(0, 12)));
}

TEST_F(ApprovalTest, DismissedReviewDoesNotCount) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  // A dismissed approval is listed with state DISMISSED.
  github.SetReviews(
      7, {GitHubReview(80, "alice", "APPROVED", head), GitHubReview(81, "bob", "DISMISSED", head)});
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("bob's review was dismissed"));
}

TEST_F(ApprovalTest, ChangesRequestedAfterApprovalWithdrawsIt) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  github.SetReviews(
      7, {GitHubReview(80, "alice", "APPROVED", head), GitHubReview(81, "bob", "APPROVED", head),
          GitHubReview(82, "bob", "CHANGES_REQUESTED", head),
          GitHubReview(83, "alice", "COMMENTED", head)});
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("1 of 2 approvals: alice (release-managers)"));
  EXPECT_THAT(d.result.reason, HasSubstr("bob's review requested changes"));
}

TEST_F(ApprovalTest, ApproverNotInTheGroupDoesNotCount) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  github.SetReviews(
      7, {GitHubReview(80, "alice", "APPROVED", head), GitHubReview(81, "dave", "APPROVED", head)});
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_EQ(d.result.reason,
            "1 of 2 approvals: alice (release-managers); dave approved but is not in "
            "release-managers");
}

TEST_F(ApprovalTest, ApprovalForAnotherPullRequestDoesNotCount) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  // An open PR that contains the same commits (GitHub lists it for the commit
  // too, with a test-merge merge_commit_sha) is approved; the merged one is not.
  github.AddPull(merge, GitHubPull(8, "carol", head, merge, /*merged=*/false));
  github.AddPull(merge, GitHubPull(9, "carol", head, std::string(40, 'a')));
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  github.SetReviews(
      8, {GitHubReview(90, "alice", "APPROVED", head), GitHubReview(91, "bob", "APPROVED", head)});
  github.SetReviews(
      9, {GitHubReview(92, "alice", "APPROVED", head), GitHubReview(93, "bob", "APPROVED", head)});
  github.SetReviews(7, {});
  auto forge = GitHub();
  ApprovalEvidence ev = Gather(merge, forge.get());
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(ev.pr.substr(0, 2), "#7");
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_EQ(d.result.reason, "0 of 2 approvals");
}

TEST_F(ApprovalTest, HandTypedApprovedByTrailerCountsForNothing) {
  std::string commit = repo.Commit({{kPin, "artifact: {digest: sha256:9999}\n"}},
                                   "promote api\n\nApproved-by: alice\nApproved-by: bob", kMallory);
  auto forge = GitHub();
  ApprovalEvidence ev = Gather(commit, forge.get());
  EXPECT_EQ(ev.claimed_in_trailers, (std::vector<std::string>{"alice", "bob"}));
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_EQ(d.result.reason,
            "direct push by Mallory <mallory@example.com> without approval; Approved-by: "
            "trailers are not evidence");
  EXPECT_EQ(d.result.evidence["pushedBy"], "Mallory <mallory@example.com>");

  policy.evidence = config::Evidence::kSigned;
  policy.required = 1;
  d = Judge(Gather(commit, nullptr));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("direct push by Mallory <mallory@example.com> without "
                                         "approval"));
}

TEST_F(ApprovalTest, MergeThatDoesNotMergeTheApprovedHeadDoesNotCount) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  // The forge claims a different head than the one this merge brought in.
  std::string other = repo.Commit({}, "unrelated", kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", other, merge));
  github.SetReviews(7, {GitHubReview(80, "alice", "APPROVED", other),
                        GitHubReview(81, "bob", "APPROVED", other)});
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("not that head"));
}

TEST_F(ApprovalTest, PaginatesReviewsOverThreePages) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  std::vector<testing::json> reviews;
  for (int i = 0; i < 250; ++i) {
    std::string login = "reader" + std::to_string(i);
    std::string state = "COMMENTED";
    if (i == 3) login = "bob", state = "APPROVED";
    if (i == 10) login = "alice", state = "DISMISSED";
    if (i == 240) login = "alice", state = "APPROVED";  // page 3 of 3
    reviews.push_back(GitHubReview(1000 + i, login, state, head));
  }
  github.SetReviews(7, reviews);
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(github.review_page_requests(), 3);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kPass) << d.result.reason;
  EXPECT_EQ(d.approvers, (std::vector<std::string>{"bob", "alice"}));
}

TEST_F(ApprovalTest, PrimaryRateLimit403Waits) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.SetMode(FakeGitHub::Mode::kPrimaryLimit403);
  auto forge = GitHub();
  ApprovalEvidence ev = Gather(merge, forge.get());
  EXPECT_TRUE(ev.rate_limited);
  EXPECT_TRUE(ev.error.empty()) << ev.error;
  gates::GateResult r = EvaluateApproval(policy, settings, ev);
  EXPECT_EQ(r.verdict, gates::Verdict::kWait);
  EXPECT_EQ(r.reason, "waiting: forge rate limited until 2030-01-01T00:00:00Z");
}

TEST_F(ApprovalTest, SecondaryRateLimit429RetryAfterWaits) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.SetMode(FakeGitHub::Mode::kSecondaryLimit429);
  auto start = ParseRfc3339("2026-03-02T10:00:00Z");
  ASSERT_TRUE(start.ok());
  FakeClock clock(*start);
  auto forge = GitHub(&clock);
  gates::GateResult r = EvaluateApproval(policy, settings, Gather(merge, forge.get()));
  EXPECT_EQ(r.verdict, gates::Verdict::kWait);
  EXPECT_EQ(r.reason, "waiting: forge rate limited until 2026-03-02T10:01:00Z");
}

TEST_F(ApprovalTest, TokenNeverAppearsInErrorText) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  github.SetMode(FakeGitHub::Mode::kEchoAuth401);
  auto forge = GitHub();
  ApprovalEvidence ev = Gather(merge, forge.get());
  gates::GateResult r = EvaluateApproval(policy, settings, ev);
  EXPECT_EQ(r.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(r.reason, HasSubstr("HTTP 401"));
  EXPECT_THAT(r.reason, Not(HasSubstr(kToken)));
  for (const auto& [k, v] : r.evidence) EXPECT_THAT(v, Not(HasSubstr(kToken))) << k;
  ASSERT_FALSE(github.authorizations().empty());
  EXPECT_EQ(github.authorizations().front(), std::string("Bearer ") + kToken);

  // Unreachable forge: a transport error, no token either.
  GitHubForge down(http, "http://127.0.0.1:1", "shop/environments", kToken);
  auto res = down.ApprovalsFor(merge);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().ToString(), Not(HasSubstr(kToken)));
}

// --- GitLab -------------------------------------------------------------------

TEST_F(ApprovalTest, GitLabApprovedMergeRequestPasses) {
  FakeGitLab gitlab;
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  gitlab.AddMergeRequest(merge, 7, "carol", head, merge);
  gitlab.SetApprovers(7, {"alice", "bob"});
  GitLabForge forge(http, gitlab.api(), "shop/environments", "glpat-SecretValue123");
  ApprovalEvidence ev = Gather(merge, &forge);
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kPass) << d.result.reason;
  EXPECT_EQ(d.result.reason, "approved by alice, bob (2 of 2, release-managers)");
  EXPECT_EQ(ev.pr.substr(0, 2), "!7");
  for (const auto& t : gitlab.private_tokens()) EXPECT_EQ(t, "glpat-SecretValue123");
  ASSERT_FALSE(gitlab.project_ids().empty());
  EXPECT_THAT(gitlab.project_ids().front(), HasSubstr("environments"));
}

TEST_F(ApprovalTest, GitLabApprovalsForAnOlderHeadDoNotCount) {
  FakeGitLab gitlab;
  repo.Checkout("promote", true);
  std::string old_head =
      repo.Commit({{kPin, "artifact: {digest: sha256:1111}\n"}}, "promote", kCarol);
  std::string head = repo.Commit({{kPin, "artifact: {digest: sha256:6666}\n"}}, "more", kCarol);
  std::string merge = repo.Merge("promote", "Merge branch 'promote'", kCarol);
  (void)head;
  // The MR's head (sha) is the older commit: its approvals were for that.
  gitlab.AddMergeRequest(merge, 7, "carol", old_head, merge);
  gitlab.SetApprovers(7, {"alice", "bob"});
  GitLabForge forge(http, gitlab.api(), "shop/environments", "glpat-SecretValue123");
  ApprovalDecision d = Judge(Gather(merge, &forge));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason,
              HasSubstr("alice's approval was for head " + old_head.substr(0, 12)));
}

TEST_F(ApprovalTest, GitLabApprovalsWithoutResetOnPushDoNotCount) {
  FakeGitLab gitlab;
  gitlab.reset_approvals_on_push = false;
  auto [head, merge] = repo.PullRequest("promote", kCarol, kCarol);
  gitlab.AddMergeRequest(merge, 7, "carol", head, merge);
  gitlab.SetApprovers(7, {"alice", "bob"});
  GitLabForge forge(http, gitlab.api(), "shop/environments", "");
  ApprovalDecision d = Judge(Gather(merge, &forge));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("does not reset approvals on push"));
}

// --- signed evidence --------------------------------------------------------------

class SignedApprovalTest : public ApprovalTest {
 protected:
  SignedApprovalTest() {
    policy.evidence = config::Evidence::kSigned;
    policy.required = 1;
    alice = repo.MakeKey(kAlice);
    mallory = repo.MakeKey(kMallory);
    settings.signers = {alice.allowed};
  }
  testing::SshKey alice;
  testing::SshKey mallory;
};

TEST_F(SignedApprovalTest, MergeSignedByAnApproverPasses) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice, alice.private_key);
  ApprovalEvidence ev = Gather(merge, nullptr);
  ASSERT_TRUE(ev.signer.has_value()) << ev.signature_problem << ev.error;
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kPass) << d.result.reason;
  EXPECT_EQ(d.result.reason, "merge signed by alice@example.com (1 of 1, release-managers)");
  EXPECT_EQ(d.approvers, (std::vector<std::string>{"alice@example.com"}));
  EXPECT_THAT(d.result.evidence["approvers"], HasSubstr("ED25519 key SHA256:"));
}

TEST_F(SignedApprovalTest, UnsignedMergeBlocks) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice);
  ApprovalDecision d = Judge(Gather(merge, nullptr));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_EQ(d.result.reason, "direct push by Alice <alice@example.com> without approval (" +
                                 merge.substr(0, 12) + " not signed)");
}

TEST_F(SignedApprovalTest, MergeSignedByAnUnknownKeyBlocks) {
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice, mallory.private_key);
  ApprovalEvidence ev = Gather(merge, nullptr);
  EXPECT_FALSE(ev.signer.has_value());
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("signed by a key that is not in allowed signers"));
}

TEST_F(SignedApprovalTest, KeysPinnedInTheControllerConfigAreTrusted) {
  settings.signers.clear();
  extra_signers = {alice.allowed};
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice, alice.private_key);
  ApprovalDecision d = Judge(Gather(merge, nullptr));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kPass) << d.result.reason;
}

TEST_F(SignedApprovalTest, SignatureByAnAuthorOfTheChangeDoesNotCount) {
  auto [head, merge] = repo.PullRequest("promote", kAlice, kAlice, alice.private_key);
  ApprovalEvidence ev = Gather(merge, nullptr);
  EXPECT_EQ(ev.change_authors, (std::vector<std::string>{"alice@example.com"}));
  ApprovalDecision d = Judge(ev);
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_EQ(d.result.reason,
            "0 of 1 approvals: alice@example.com signed the merge but authored the change");
  policy.separate_author = false;
  EXPECT_EQ(Judge(ev).result.verdict, gates::Verdict::kPass);
}

TEST_F(SignedApprovalTest, PullRequestAddingItsAuthorToApproversDoesNotHelpIt) {
  policy.separate_author = false;  // isolate the trust rule
  testing::SshKey carol = repo.MakeKey(kCarol);
  auto yaml = [](const std::vector<std::string>& members, const std::vector<std::string>& keys) {
    std::string y = "pipeline: [prod]\ngroups:\n  release-managers: [";
    for (size_t i = 0; i < members.size(); ++i) y += (i ? ", " : "") + members[i];
    y += "]\nsigners:\n";
    for (const auto& k : keys) y += "  - \"" + k + "\"\n";
    return y;
  };
  std::string in_force = repo.Commit(
      {{"sluice.yaml", yaml({"alice@example.com"}, {alice.allowed})}}, "policy", kAlice);
  auto [head, merge] = repo.PullRequest(
      "promote", kCarol, kCarol, carol.private_key,
      {{"sluice.yaml",
        yaml({"alice@example.com", "carol@example.com"}, {alice.allowed, carol.allowed})}});
  auto opened = git::Repository::Open(repo.path());
  ASSERT_TRUE(opened.ok());
  auto parse = [&](const std::string& commit) {
    auto text = (*opened)->ReadFile(commit, "sluice.yaml");
    EXPECT_TRUE(text.ok());
    config::Diagnostics diags;
    auto s = config::ParseRepoSettings(*text, "sluice.yaml", diags);
    EXPECT_TRUE(s.has_value());
    return *s;
  };
  settings = parse(in_force);  // the policy in force: the last applied commit's
  ApprovalDecision d = Judge(Gather(merge, nullptr, in_force));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("signed by a key that is not in allowed signers"));

  // Judged by the settings the change brings, it would have passed: that is
  // exactly what the trust rule forbids.
  settings = parse(merge);
  EXPECT_EQ(Judge(Gather(merge, nullptr, in_force)).result.verdict, gates::Verdict::kPass);
}

TEST_F(SignedApprovalTest, ForgeAndSignedNeedsBoth) {
  policy.evidence = config::Evidence::kForgeAndSigned;
  policy.required = 2;
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice, alice.private_key);
  github.AddPull(merge, GitHubPull(7, "carol", head, merge));
  github.SetReviews(
      7, {GitHubReview(80, "alice", "APPROVED", head), GitHubReview(81, "bob", "APPROVED", head)});
  auto forge = GitHub();
  ApprovalDecision d = Judge(Gather(merge, forge.get()));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kPass) << d.result.reason;
  EXPECT_EQ(d.result.reason,
            "approved by alice, bob (2 of 2, release-managers); merge signed by alice@example.com");

  // Same reviews, unsigned merge: blocked.
  repo.Checkout("main");
  auto [head2, merge2] = repo.PullRequest("promote2", kCarol, kAlice);
  github.AddPull(merge2, GitHubPull(8, "carol", head2, merge2));
  github.SetReviews(8, {GitHubReview(82, "alice", "APPROVED", head2),
                        GitHubReview(83, "bob", "APPROVED", head2)});
  d = Judge(Gather(merge2, forge.get(), merge));
  EXPECT_EQ(d.result.verdict, gates::Verdict::kBlock);
  EXPECT_THAT(d.result.reason, HasSubstr("no valid signature by a member of release-managers"));
}

}  // namespace
}  // namespace sluice::approval
