#include "git/repo.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "unit/git/git_test_util.h"

namespace sluice::git {
namespace {

using testing::CommitFiles;
using testing::Git;
using testing::TempDir;

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = tmp_.Sub("work");
    Git(tmp_.path(), {"init", "--quiet", "--initial-branch=main", work_});
    c1_ = CommitFiles(work_, {{"README.md", "hello\n"}}, "First commit");
    c2_ = CommitFiles(work_, {{"README.md", "hello again\n"}},
                      "Second commit\n\nBody.\n\nSluice-Incident: INC-1\n");
    auto repo = Repository::Open(work_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string work_, c1_, c2_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RepoTest, ResolvesBranchesShortNamesAndAnnotatedTags) {
  ASSERT_OK_AND_ASSIGN(main, repo_->ResolveRef("refs/heads/main"));
  EXPECT_EQ(main, c2_);
  ASSERT_OK_AND_ASSIGN(short_name, repo_->ResolveRef("main"));
  EXPECT_EQ(short_name, c2_);
  Git(work_, {"tag", "-a", "v1", "-m", "release 1", c1_});
  ASSERT_OK_AND_ASSIGN(tag, repo_->ResolveRef("refs/tags/v1"));
  EXPECT_EQ(tag, c1_);
}

TEST_F(RepoTest, ResolveMissingRefIsNotFound) {
  auto r = repo_->ResolveRef("refs/heads/nope");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
}

TEST_F(RepoTest, SetListAndDeleteRefs) {
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/prod/api", c1_, "deployed"));
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/staging/api", c2_, "deployed"));
  ASSERT_OK(repo_->SetRef("refs/sluice/lkg/prod/api", c1_, "lkg"));
  // Force-update.
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/prod/api", c2_, "deployed again"));

  ASSERT_OK_AND_ASSIGN(refs, repo_->ListRefs("refs/sluice/deployed/"));
  std::map<std::string, std::string> want = {{"refs/sluice/deployed/prod/api", c2_},
                                             {"refs/sluice/deployed/staging/api", c2_}};
  EXPECT_EQ(refs, want);
  // The git CLI sees the same.
  EXPECT_EQ(Trim(Git(work_, {"rev-parse", "refs/sluice/deployed/prod/api"}).out), c2_);

  ASSERT_OK(repo_->DeleteRef("refs/sluice/deployed/prod/api"));
  ASSERT_OK(repo_->DeleteRef("refs/sluice/deployed/prod/api"));  // already gone: ok
  ASSERT_OK_AND_ASSIGN(after, repo_->ListRefs("refs/sluice/"));
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(after.count("refs/sluice/deployed/prod/api"), 0u);
}

// ListRefsUnder answers from one listing of the root, which must never
// serve a stale value: not after this handle moves a ref, and not after the
// packed-refs file changes under it.
TEST_F(RepoTest, ListRefsUnderIsNeverStale) {
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/dev/api", c1_, "t"));
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/prod/api", c1_, "t"));
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/prod/web", c2_, "t"));
  ASSERT_OK(repo_->SetRef("refs/sluice/deployed/prodx/api", c2_, "t"));
  const std::string root = "refs/sluice/deployed/";
  ASSERT_OK_AND_ASSIGN(prod, repo_->ListRefsUnder(root, root + "prod/"));
  EXPECT_EQ(prod, (std::map<std::string, std::string>{{root + "prod/api", c1_},
                                                      {root + "prod/web", c2_}}));
  ASSERT_OK_AND_ASSIGN(dev, repo_->ListRefsUnder(root, root + "dev/"));
  EXPECT_EQ(dev.size(), 1u);

  // SetRef keeps the listing current (new and moved refs, and one outside
  // the root between two listings), DeleteRef drops it.
  ASSERT_OK(repo_->SetRef(root + "prod/api", c2_, "t"));
  ASSERT_OK(repo_->SetRef("refs/sluice/lkg/prod/api", c2_, "t"));
  ASSERT_OK(repo_->SetRef(root + "prod/new", c1_, "t"));
  ASSERT_OK_AND_ASSIGN(set, repo_->ListRefsUnder(root, root + "prod/"));
  EXPECT_EQ(set,
            (std::map<std::string, std::string>{
                {root + "prod/api", c2_}, {root + "prod/new", c1_}, {root + "prod/web", c2_}}));
  ASSERT_OK(repo_->DeleteRef(root + "prod/web"));
  ASSERT_OK(repo_->DeleteRef(root + "prod/new"));
  ASSERT_OK_AND_ASSIGN(moved, repo_->ListRefsUnder(root, root + "prod/"));
  EXPECT_EQ(moved, (std::map<std::string, std::string>{{root + "prod/api", c2_}}));

  // Another writer packs and rewrites packed-refs (a ref only in that file).
  Git(work_, {"pack-refs", "--all"});
  Git(work_, {"update-ref", root + "prod/api", c1_});
  Git(work_, {"pack-refs", "--all"});
  ASSERT_OK_AND_ASSIGN(repacked, repo_->ListRefsUnder(root, root + "prod/"));
  EXPECT_EQ(repacked.at(root + "prod/api"), c1_);

  // A prefix outside the root is listed as ListRefs lists it.
  ASSERT_OK_AND_ASSIGN(heads, repo_->ListRefsUnder(root, "refs/heads/"));
  EXPECT_EQ(heads.at("refs/heads/main"), c2_);
}

// SetRefs writes many record refs in one transaction: the git CLI reads
// them, a listing ListRefsUnder keeps takes them, and a name whose parent
// is a reference (packed or loose) is refused as git_reference_create
// refuses it, so the store never holds "a" beside "a/b".
TEST_F(RepoTest, SetRefsWritesInOneTransactionAndRefusesANameUnderAReference) {
  const std::string root = "refs/sluice/deployed/";
  ASSERT_OK(repo_->SetRef(root + "prod/api", c1_, "t"));
  ASSERT_OK_AND_ASSIGN(before, repo_->ListRefsUnder(root, root));
  EXPECT_EQ(before.size(), 1u);
  ASSERT_OK(repo_->SetRefs(
      {{root + "prod/api", c2_}, {root + "prod/web", c1_}, {"refs/sluice/applied/prod", c2_}},
      "apply"));
  EXPECT_EQ(Trim(Git(work_, {"rev-parse", root + "prod/api"}).out), c2_);
  EXPECT_EQ(Trim(Git(work_, {"rev-parse", root + "prod/web"}).out), c1_);
  EXPECT_EQ(Trim(Git(work_, {"rev-parse", "refs/sluice/applied/prod"}).out), c2_);
  ASSERT_OK_AND_ASSIGN(after, repo_->ListRefsUnder(root, root + "prod/"));
  EXPECT_EQ(after, (std::map<std::string, std::string>{{root + "prod/api", c2_},
                                                       {root + "prod/web", c1_}}));

  // A reference where a directory of the name would be: loose, then packed.
  Git(work_, {"update-ref", "refs/sluice/lkg/prod", c1_});
  Status loose = repo_->SetRefs({{"refs/sluice/lkg/prod/api", c2_}}, "t");
  EXPECT_EQ(loose.code(), Status::Code::kFailedPrecondition) << loose.ToString();
  EXPECT_NE(loose.message().find("refs/sluice/lkg/prod"), std::string::npos) << loose.ToString();
  Git(work_, {"pack-refs", "--all"});
  Status packed = repo_->SetRefs({{"refs/sluice/lkg/prod/api", c2_}}, "t");
  EXPECT_EQ(packed.code(), Status::Code::kFailedPrecondition) << packed.ToString();
  // Nothing of a refused batch is written: every parent is checked first.
  Status batch = repo_->SetRefs({{root + "dev/api", c1_}, {"refs/sluice/lkg/prod/web", c1_}}, "t");
  EXPECT_FALSE(batch.ok());
  EXPECT_FALSE(repo_->ResolveRef(root + "dev/api").ok());
  // A malformed id is refused before anything is locked.
  Status bad = repo_->SetRefs({{root + "dev/api", "not-a-commit"}}, "t");
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument) << bad.ToString();
}

TEST_F(RepoTest, SetRefRejectsMalformedId) {
  Status s = repo_->SetRef("refs/sluice/x", "not-a-commit", "x");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
}

TEST_F(RepoTest, GetCommitReadsMetadataAndMessage) {
  ASSERT_OK_AND_ASSIGN(info, repo_->GetCommit(c2_));
  EXPECT_EQ(info.id, c2_);
  EXPECT_EQ(info.parents, std::vector<std::string>{c1_});
  EXPECT_EQ(info.author.name, "Test User");
  EXPECT_EQ(info.author.email, "test@example.com");
  EXPECT_GT(info.committer.when.time_since_epoch().count(), 0);
  EXPECT_EQ(info.Subject(), "Second commit");
  EXPECT_EQ(info.Trailer("sluice-incident"), std::vector<std::string>{"INC-1"});

  auto missing = repo_->GetCommit(std::string(40, 'a'));
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
}

TEST_F(RepoTest, IsAncestor) {
  ASSERT_OK_AND_ASSIGN(yes, repo_->IsAncestor(c1_, c2_));
  EXPECT_TRUE(yes);
  ASSERT_OK_AND_ASSIGN(no, repo_->IsAncestor(c2_, c1_));
  EXPECT_FALSE(no);
  ASSERT_OK_AND_ASSIGN(same, repo_->IsAncestor(c2_, c2_));
  EXPECT_TRUE(same);
}

TEST_F(RepoTest, InitCreatesBareRepositoryAndOpenFailsOnNonRepository) {
  std::string bare = tmp_.Sub("new.git");
  ASSERT_OK_AND_ASSIGN(repo, Repository::Init(bare, /*bare=*/true));
  EXPECT_TRUE(git_repository_is_bare(repo->raw()));
  EXPECT_EQ(Trim(Git(bare, {"rev-parse", "--is-bare-repository"}).out), "true");

  std::filesystem::create_directories(tmp_.Sub("plain"));
  auto opened = Repository::Open(tmp_.Sub("plain"));
  EXPECT_FALSE(opened.ok());
}

}  // namespace
}  // namespace sluice::git
