// FindLandingCommit, AuthorsOfChange and SSH signature checks on real
// repositories made with the git CLI.
#include <gtest/gtest.h>

#include "approval/landing.h"
#include "approval/signature.h"
#include "fixtures.h"
#include "git/repo.h"
#include "process/runner.h"

namespace sluice::approval {
namespace {

using testing::kAlice;
using testing::kBob;
using testing::kCarol;
using testing::kPin;

TEST(LandingTest, FindsTheMergeThatBroughtThePinAndSkipsLaterCommits) {
  git::LibGit2 lib;
  testing::RepoFixture repo;
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice);
  std::string later = repo.Commit({{"README.md", "docs\n"}}, "docs", kBob);
  auto opened = git::Repository::Open(repo.path());
  ASSERT_TRUE(opened.ok());
  auto landing = FindLandingCommit(**opened, later, kPin, repo.base());
  ASSERT_TRUE(landing.ok()) << landing.status().ToString();
  EXPECT_EQ(*landing, merge);
  EXPECT_EQ(AuthorsOfChange(**opened, merge), (std::vector<std::string>{"carol@example.com"}));
}

TEST(LandingTest, DirectPushIsItsOwnLandingCommit) {
  git::LibGit2 lib;
  testing::RepoFixture repo;
  std::string push = repo.Commit({{kPin, "artifact: {digest: sha256:42}\n"}}, "yolo", kBob);
  auto opened = git::Repository::Open(repo.path());
  ASSERT_TRUE(opened.ok());
  auto landing = FindLandingCommit(**opened, push, kPin, repo.base());
  ASSERT_TRUE(landing.ok());
  EXPECT_EQ(*landing, push);
  EXPECT_EQ(AuthorsOfChange(**opened, push), (std::vector<std::string>{"bob@example.com"}));
}

TEST(LandingTest, StopsAtTheDeployedCommitAndAtTheDepthBound) {
  git::LibGit2 lib;
  testing::RepoFixture repo;
  std::string docs = repo.Commit({{"README.md", "docs\n"}}, "docs", kBob);
  auto opened = git::Repository::Open(repo.path());
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(FindLandingCommit(**opened, docs, kPin, repo.base()).status().IsNotFound());
  EXPECT_TRUE(FindLandingCommit(**opened, docs, kPin, "", 1).status().IsNotFound());
  auto root = FindLandingCommit(**opened, docs, kPin, "");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, repo.base());
}

TEST(SignatureTest, ExtractsAndVerifiesAnSshSignedMerge) {
  git::LibGit2 lib;
  testing::RepoFixture repo;
  testing::SshKey alice = repo.MakeKey(kAlice);
  testing::SshKey bob = repo.MakeKey(kBob);
  auto [head, merge] = repo.PullRequest("promote", kCarol, kAlice, alice.private_key);
  auto opened = git::Repository::Open(repo.path());
  ASSERT_TRUE(opened.ok());
  auto sig = ExtractCommitSignature(**opened, merge);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(sig->type, SignatureType::kSsh);
  EXPECT_EQ(sig->payload.find("gpgsig"), std::string::npos);

  process::BoostCommandRunner runner;
  SshSignatureVerifier verifier(runner);
  auto good = verifier.Verify(*sig, {bob.allowed, alice.allowed});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(good->verified) << good->problem;
  EXPECT_EQ(good->principal, "alice@example.com");

  // A payload that is not what was signed does not verify.
  CommitSignature tampered = *sig;
  tampered.payload += "extra line\n";
  auto bad = verifier.Verify(tampered, {alice.allowed});
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->verified);

  // A key allowed only for a pattern names no person.
  std::string pattern = "*@example.com" + alice.allowed.substr(alice.allowed.find(' '));
  auto wildcard = verifier.Verify(*sig, {pattern});
  ASSERT_TRUE(wildcard.ok());
  EXPECT_FALSE(wildcard->verified);

  // An injected line break is refused.
  EXPECT_FALSE(verifier.Verify(*sig, {alice.allowed + "\n* " + bob.allowed}).ok());
}

TEST(SignatureTest, UnsignedAndOpenPgpCommitsAreNotVerified) {
  git::LibGit2 lib;
  testing::RepoFixture repo;
  auto opened = git::Repository::Open(repo.path());
  ASSERT_TRUE(opened.ok());
  auto sig = ExtractCommitSignature(**opened, repo.base());
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->type, SignatureType::kNone);

  process::BoostCommandRunner runner;
  SshSignatureVerifier verifier(runner);
  CommitSignature pgp{SignatureType::kOpenPgp, "-----BEGIN PGP SIGNATURE-----\n...", "payload"};
  auto r = verifier.Verify(pgp, {"alice@example.com ssh-ed25519 AAAA"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->verified);
  EXPECT_EQ(r->problem.rfind("unsupported signature type openpgp", 0), 0u) << r->problem;
}

}  // namespace
}  // namespace sluice::approval
