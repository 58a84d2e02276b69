#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string_view>
#include <vector>

#include "git/repo.h"
#include "unit/git/git_test_util.h"

namespace fs = std::filesystem;

namespace sluice::git {
namespace {

using testing::CommitFiles;
using testing::Git;
using testing::TempDir;

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = tmp_.Sub("work");
    Git(tmp_.path(), {"init", "--quiet", "--initial-branch=main", work_});
    testing::WriteFile(work_ + "/scripts/deploy.sh", "#!/bin/sh\necho deploy\n");
    fs::permissions(work_ + "/scripts/deploy.sh",
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec);
    fs::create_directories(work_ + "/environments/prod");
    fs::create_symlink("environments/prod", work_ + "/current");
    c1_ = CommitFiles(work_,
                      {{"README.md", "readme\n"},
                       {"environments/prod/apps/api.yaml", "digest: sha256:aaa\n"},
                       {"environments/prod/apps/web.yaml", "digest: sha256:bbb\n"},
                       {"environments/staging/apps/api.yaml", "digest: sha256:ccc\n"}},
                      "c1");
    c2_ = CommitFiles(work_,
                      {{"environments/prod/apps/api.yaml", "digest: sha256:ddd\n"},
                       {"environments/prod/apps/new.yaml", "digest: sha256:eee\n"},
                       {"environments/prod/apps/web.yaml", std::nullopt},
                       {"environments/staging/apps/api.yaml", "digest: sha256:fff\n"}},
                      "c2");
    auto repo = Repository::Open(work_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  std::string RevParse(const std::string& spec) {
    return Trim(Git(work_, {"rev-parse", spec}).out);
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string work_, c1_, c2_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(TreeTest, ReadFilePresentAbsentAndDirectory) {
  ASSERT_OK_AND_ASSIGN(content, repo_->ReadFile(c1_, "environments/prod/apps/api.yaml"));
  EXPECT_EQ(content, "digest: sha256:aaa\n");
  ASSERT_OK_AND_ASSIGN(later, repo_->ReadFile(c2_, "environments/prod/apps/api.yaml"));
  EXPECT_EQ(later, "digest: sha256:ddd\n");

  auto absent = repo_->ReadFile(c2_, "environments/prod/apps/web.yaml");
  EXPECT_TRUE(absent.status().IsNotFound()) << absent.status().ToString();
  auto dir = repo_->ReadFile(c1_, "environments/prod");
  EXPECT_TRUE(dir.status().IsNotFound()) << dir.status().ToString();
  auto deep = repo_->ReadFile(c1_, "README.md/child");
  EXPECT_TRUE(deep.status().IsNotFound()) << deep.status().ToString();
}

TEST_F(TreeTest, BlobIdMatchesGitCli) {
  ASSERT_OK_AND_ASSIGN(id, repo_->BlobId(c1_, "environments/prod/apps/api.yaml"));
  EXPECT_EQ(id, RevParse(c1_ + ":environments/prod/apps/api.yaml"));
  EXPECT_TRUE(repo_->BlobId(c1_, "nope.yaml").status().IsNotFound());
  EXPECT_TRUE(repo_->BlobId(c1_, "environments").status().IsNotFound());
}

TEST_F(TreeTest, ListDirSortedAndMissing) {
  ASSERT_OK_AND_ASSIGN(root, repo_->ListDir(c1_, ""));
  EXPECT_EQ(root, (std::vector<std::string>{"README.md", "current", "environments", "scripts"}));
  ASSERT_OK_AND_ASSIGN(apps, repo_->ListDir(c2_, "environments/prod/apps"));
  EXPECT_EQ(apps, (std::vector<std::string>{"api.yaml", "new.yaml"}));
  ASSERT_OK_AND_ASSIGN(slash, repo_->ListDir(c2_, "environments/prod/apps/"));
  EXPECT_EQ(slash, apps);
  EXPECT_TRUE(repo_->ListDir(c1_, "environments/dev").status().IsNotFound());
  EXPECT_TRUE(repo_->ListDir(c1_, "README.md").status().IsNotFound());
}

TEST_F(TreeTest, TreeIdMatchesGitCliAndFollowsContent) {
  ASSERT_OK_AND_ASSIGN(apps, repo_->TreeId(c1_, "environments/prod/apps"));
  EXPECT_EQ(apps, RevParse(c1_ + ":environments/prod/apps"));
  ASSERT_OK_AND_ASSIGN(slash, repo_->TreeId(c1_, "/environments/prod/apps/"));
  EXPECT_EQ(slash, apps);
  ASSERT_OK_AND_ASSIGN(root, repo_->TreeId(c1_, ""));
  EXPECT_EQ(root, RevParse(c1_ + "^{tree}"));
  // c2 changed prod's apps but not scripts/: one id moves, the other stays.
  ASSERT_OK_AND_ASSIGN(apps2, repo_->TreeId(c2_, "environments/prod/apps"));
  EXPECT_NE(apps2, apps);
  ASSERT_OK_AND_ASSIGN(scripts1, repo_->TreeId(c1_, "scripts"));
  ASSERT_OK_AND_ASSIGN(scripts2, repo_->TreeId(c2_, "scripts"));
  EXPECT_EQ(scripts1, scripts2);

  EXPECT_TRUE(repo_->TreeId(c1_, "environments/dev").status().IsNotFound());
  EXPECT_TRUE(repo_->TreeId(c1_, "README.md").status().IsNotFound());
  EXPECT_FALSE(repo_->TreeId(std::string(40, 'f'), "scripts").ok());
}

TEST_F(TreeTest, DiffTreesReportsAddedModifiedDeleted) {
  ASSERT_OK_AND_ASSIGN(changes, repo_->DiffTrees(c1_, c2_, ""));
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].path, "environments/prod/apps/api.yaml");
  EXPECT_EQ(changes[0].kind, ChangeKind::kModified);
  EXPECT_EQ(changes[0].old_blob, RevParse(c1_ + ":environments/prod/apps/api.yaml"));
  EXPECT_EQ(changes[0].new_blob, RevParse(c2_ + ":environments/prod/apps/api.yaml"));
  EXPECT_EQ(changes[1].path, "environments/prod/apps/new.yaml");
  EXPECT_EQ(changes[1].kind, ChangeKind::kAdded);
  EXPECT_EQ(changes[1].old_blob, "");
  EXPECT_EQ(changes[2].path, "environments/prod/apps/web.yaml");
  EXPECT_EQ(changes[2].kind, ChangeKind::kDeleted);
  EXPECT_EQ(changes[2].new_blob, "");
  EXPECT_EQ(changes[3].path, "environments/staging/apps/api.yaml");
  EXPECT_EQ(changes[3].kind, ChangeKind::kModified);
}

TEST_F(TreeTest, DiffTreesPrefixLimitsResults) {
  ASSERT_OK_AND_ASSIGN(prod, repo_->DiffTrees(c1_, c2_, "environments/prod"));
  ASSERT_EQ(prod.size(), 3u);
  for (const auto& c : prod) EXPECT_EQ(c.path.rfind("environments/prod/", 0), 0u) << c.path;
  ASSERT_OK_AND_ASSIGN(slash, repo_->DiffTrees(c1_, c2_, "environments/prod/"));
  EXPECT_EQ(slash.size(), 3u);
  // A prefix is a path, not a string prefix.
  ASSERT_OK_AND_ASSIGN(partial, repo_->DiffTrees(c1_, c2_, "environments/pro"));
  EXPECT_TRUE(partial.empty());
  // A single file as the prefix.
  ASSERT_OK_AND_ASSIGN(file, repo_->DiffTrees(c1_, c2_, "environments/staging/apps/api.yaml"));
  ASSERT_EQ(file.size(), 1u);
  EXPECT_EQ(file[0].path, "environments/staging/apps/api.yaml");
}

TEST_F(TreeTest, DiffTreesUnchangedIsEmptyAndEmptyOldTreeAddsAll) {
  ASSERT_OK_AND_ASSIGN(none, repo_->DiffTrees(c2_, c2_, ""));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(scripts, repo_->DiffTrees(c1_, c2_, "scripts"));
  EXPECT_TRUE(scripts.empty());
  ASSERT_OK_AND_ASSIGN(all, repo_->DiffTrees("", c1_, ""));
  ASSERT_EQ(all.size(), 6u);  // README, current, 3 pins, deploy.sh
  for (const auto& c : all) EXPECT_EQ(c.kind, ChangeKind::kAdded) << c.path;
}

TEST_F(TreeTest, DiffTreesDoesNotReadUnchangedSubtrees) {
  // Remove the loose objects of subtrees that c1 and c2 share: a diff that
  // read them would fail.
  std::string scripts_tree = RevParse(c1_ + ":scripts");
  ASSERT_EQ(scripts_tree, RevParse(c2_ + ":scripts"));
  std::string loose =
      work_ + "/.git/objects/" + scripts_tree.substr(0, 2) + "/" + scripts_tree.substr(2);
  ASSERT_TRUE(fs::exists(loose)) << loose;
  fs::remove(loose);
  ASSERT_FALSE(RevParse(c1_ + ":scripts").empty());  // id still known from the parent tree

  ASSERT_OK_AND_ASSIGN(changes, repo_->DiffTrees(c1_, c2_, ""));
  EXPECT_EQ(changes.size(), 4u);
  // Sanity: reading that subtree does fail now.
  EXPECT_FALSE(repo_->ListDir(c1_, "scripts").ok());
}

TEST_F(TreeTest, ExportTreeWritesFilesModesAndNoGitDir) {
  std::string out = tmp_.Sub("export");
  ASSERT_OK(repo_->ExportTree(c1_, out));
  EXPECT_EQ(testing::ReadFile(out + "/environments/prod/apps/web.yaml"), "digest: sha256:bbb\n");
  EXPECT_EQ(testing::ReadFile(out + "/README.md"), "readme\n");
  struct stat st {};
  ASSERT_EQ(::stat((out + "/scripts/deploy.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::stat((out + "/README.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0u);
  EXPECT_FALSE(fs::exists(out + "/.git"));
  ASSERT_TRUE(fs::is_symlink(out + "/current"));
  EXPECT_EQ(fs::read_symlink(out + "/current").string(), "environments/prod");

  // A second export into the now non-empty directory is refused.
  Status again = repo_->ExportTree(c1_, out);
  EXPECT_EQ(again.code(), Status::Code::kFailedPrecondition) << again.ToString();

  // An existing empty directory is fine.
  fs::create_directories(tmp_.Sub("empty"));
  ASSERT_OK(repo_->ExportTree(c2_, tmp_.Sub("empty")));
  EXPECT_FALSE(fs::exists(tmp_.Sub("empty/environments/prod/apps/web.yaml")));
  EXPECT_TRUE(fs::exists(tmp_.Sub("empty/environments/prod/apps/new.yaml")));
}

// An adapter's checkout leaves out what the skip predicate names (the other
// apps' pins): neither written nor its subtree read.
TEST_F(TreeTest, ExportTreeLeavesOutWhatSkipNames) {
  std::string out = tmp_.Sub("export");
  std::vector<std::string> asked;
  ASSERT_OK(repo_->ExportTree(c1_, out, [&](std::string_view path, bool is_directory) {
    asked.emplace_back(path);
    return (is_directory && path == "scripts") || path == "environments/prod/apps/web.yaml";
  }));
  EXPECT_FALSE(fs::exists(out + "/environments/prod/apps/web.yaml"));
  EXPECT_FALSE(fs::exists(out + "/scripts"));
  EXPECT_EQ(testing::ReadFile(out + "/README.md"), "readme\n");
  EXPECT_TRUE(fs::is_directory(out + "/environments/prod/apps"));
  // Nothing under a skipped directory is even looked at.
  for (const auto& p : asked) EXPECT_NE(p.rfind("scripts/", 0), 0u) << p;
}

TEST_F(TreeTest, ExportTreeSkipsSymlinksLeavingTheTree) {
  fs::create_symlink("/etc/passwd", work_ + "/abs-link");
  fs::create_symlink("../../outside", work_ + "/environments/up-link");
  fs::create_directories(work_ + "/sub");
  fs::create_symlink(".", work_ + "/sub/self");
  // Lexically inside ("sub/self/.." is "sub"), really the parent of the root.
  fs::create_symlink("sub/self/../..", work_ + "/sneaky");
  std::string c3 = CommitFiles(work_, {{"sub/file.txt", "x\n"}}, "links");

  std::string out = tmp_.Sub("export");
  Status s = repo_->ExportTree(c3, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("abs-link"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("up-link"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("sneaky"), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs::is_symlink(out + "/abs-link"));
  EXPECT_FALSE(fs::is_symlink(out + "/environments/up-link"));
  EXPECT_FALSE(fs::is_symlink(out + "/sneaky"));
  // Everything else was written.
  EXPECT_TRUE(fs::is_symlink(out + "/sub/self"));
  EXPECT_TRUE(fs::is_symlink(out + "/current"));
  EXPECT_EQ(testing::ReadFile(out + "/sub/file.txt"), "x\n");
}

TEST_F(TreeTest, CreateCommitAddsNestedDeletesAndKeepsModes) {
  Person author{"Alice", "alice@example.com", {}};
  std::string head_before = RevParse("HEAD");
  ASSERT_OK_AND_ASSIGN(
      id, repo_->CreateCommit(c2_,
                              {{"environments/dev/apps/api.yaml", "digest: sha256:111\n"},
                               {"environments/staging/apps/api.yaml", std::nullopt},
                               {"scripts/deploy.sh", "#!/bin/sh\necho v2\n"},
                               {"README.md", "new readme\n"}},
                              "Add dev\n\nSluice-Rollback: abc", author, Bot()));
  EXPECT_EQ(Git(work_, {"show", id + ":environments/dev/apps/api.yaml"}).out,
            "digest: sha256:111\n");
  EXPECT_EQ(Git(work_, {"show", id + ":README.md"}).out, "new readme\n");
  EXPECT_EQ(Git(work_, {"show", id + ":environments/prod/apps/api.yaml"}).out,
            "digest: sha256:ddd\n");
  // The only file of environments/staging is gone, and so is the directory.
  EXPECT_EQ(Git(work_, {"ls-tree", id, "environments/staging"}).out, "");
  EXPECT_NE(Git(work_, {"ls-tree", id, "scripts/deploy.sh"}).out.find("100755"), std::string::npos);
  EXPECT_EQ(RevParse(id + "^"), c2_);
  EXPECT_EQ(Trim(Git(work_, {"log", "-1", "--format=%an <%ae>|%cn|%s", id}).out),
            "Alice <alice@example.com>|Sluice Bot|Add dev");
  EXPECT_EQ(
      Trim(Git(work_, {"log", "-1", "--format=%(trailers:key=Sluice-Rollback,valueonly)", id}).out),
      "abc");
  Git(work_, {"fsck", "--strict", "--no-progress"});
  // No reference moved and the working tree is untouched.
  EXPECT_EQ(RevParse("HEAD"), head_before);
  EXPECT_EQ(Git(work_, {"status", "--porcelain"}).out, "");
}

TEST_F(TreeTest, CreateCommitRootAndInvalidPaths) {
  ASSERT_OK_AND_ASSIGN(root, repo_->CreateCommit("", {{"a/b/c.txt", "c\n"}}, "root", Bot(), Bot()));
  EXPECT_EQ(Git(work_, {"show", root + ":a/b/c.txt"}).out, "c\n");
  EXPECT_EQ(Trim(Git(work_, {"log", "--format=%P", "-1", root}).out), "");

  for (const std::string bad : {"../x", "a//b", ".git/config", "/", "a/./b"}) {
    auto r = repo_->CreateCommit(c2_, {{bad, "x"}}, "bad", Bot(), Bot());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  auto clash = repo_->CreateCommit(c2_, {{"a", "x"}, {"a/b", "y"}}, "clash", Bot(), Bot());
  EXPECT_EQ(clash.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::git
