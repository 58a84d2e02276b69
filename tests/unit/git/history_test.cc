#include "git/history.h"

#include <gtest/gtest.h>

#include "unit/git/git_test_util.h"

namespace sluice::git {
namespace {

using testing::CommitFiles;
using testing::Git;
using testing::TempDir;

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = tmp_.Sub("work");
    Git(tmp_.path(), {"init", "--quiet", "--initial-branch=main", work_});
    c1_ = CommitFiles(work_, {{"policy.yaml", "v1\n"}, {"other", "x\n"}}, "c1");
    c2_ = CommitFiles(work_, {{"other", "y\n"}}, "c2 (does not touch the policy)");
    // A side branch edits the policy; main merges it.
    Git(work_, {"checkout", "-q", "-b", "side"});
    side_ = CommitFiles(work_, {{"policy.yaml", "v2\n"}}, "side edit");
    Git(work_, {"checkout", "-q", "main"});
    Git(work_, {"merge", "-q", "--no-ff", "-m", "merge side", "side"});
    merge_ = Git(work_, {"rev-parse", "HEAD"}).out.substr(0, 40);
    c4_ = CommitFiles(work_, {{"dir/a", "1\n"}}, "c4 adds a directory");
    auto repo = Repository::Open(work_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string work_, c1_, c2_, side_, merge_, c4_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(HistoryTest, FirstParentEditsOldestFirstWithTheMergeAsTheEdit) {
  auto h = FirstParentPathHistory(*repo_, c4_, "", {"policy.yaml", "dir"}, 100);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->reached_stop);
  EXPECT_EQ(h->base, (PathState{"", ""}));
  ASSERT_EQ(h->edits.size(), 3u);
  EXPECT_EQ(h->edits[0].commit, c1_);  // the root brings the file
  EXPECT_EQ(h->edits[0].parent, "");
  EXPECT_EQ(h->edits[1].commit, merge_);  // never the side commit itself
  EXPECT_EQ(h->edits[1].parent, c2_);
  EXPECT_NE(h->edits[1].before[0], h->edits[1].after[0]);
  EXPECT_EQ(h->edits[2].commit, c4_);  // a directory's tree id counts
  EXPECT_EQ(h->edits[2].before[1], "");
  EXPECT_FALSE(h->edits[2].after[1].empty());
  EXPECT_EQ(h->commits_walked, 4u);
}

TEST_F(HistoryTest, StopsAtTheGivenCommitAndReportsItsState) {
  auto h = FirstParentPathHistory(*repo_, c4_, c2_, {"policy.yaml"}, 100);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->reached_stop);
  ASSERT_OK_AND_ASSIGN(v1, repo_->BlobId(c1_, "policy.yaml"));
  EXPECT_EQ(h->base, PathState{v1});
  ASSERT_EQ(h->edits.size(), 1u);
  EXPECT_EQ(h->edits[0].commit, merge_);
}

TEST_F(HistoryTest, AStopOffTheFirstParentChainFailsClosed) {
  auto h = FirstParentPathHistory(*repo_, c4_, side_, {"policy.yaml"}, 100);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("not in the first-parent history"), std::string::npos)
      << h.status().ToString();
}

TEST_F(HistoryTest, AHistoryDeeperThanTheBoundFailsClosedNamingBootstrap) {
  auto h = FirstParentPathHistory(*repo_, c4_, "", {"policy.yaml"}, 2);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("trust.bootstrap"), std::string::npos);
}

TEST_F(HistoryTest, ReadsABlobById) {
  ASSERT_OK_AND_ASSIGN(id, repo_->BlobId(c1_, "policy.yaml"));
  ASSERT_OK_AND_ASSIGN(text, ReadBlob(*repo_, id));
  EXPECT_EQ(text, "v1\n");
  EXPECT_TRUE(ReadBlob(*repo_, std::string(40, 'a')).status().IsNotFound());
}

}  // namespace
}  // namespace sluice::git
