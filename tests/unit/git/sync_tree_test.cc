// Repository::SyncTree: an adapter checkout kept between applies and brought
// to the next commit by writing only what differs, and exported whole again
// whenever anything in it is not exactly what was written.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
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

// Every path under `dir` with what it is: "d" for a directory, else the
// permission bits and the content.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_symlink()) {
      out[rel] = "link " + fs::read_symlink(e.path()).string();
    } else if (e.is_directory()) {
      out[rel] = "d";
    } else {
      struct stat st {};
      ::stat(e.path().c_str(), &st);
      out[rel] = std::to_string(st.st_mode & 0777) + " " + testing::ReadFile(e.path().string());
    }
  }
  return out;
}

uint64_t Inode(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class SyncTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = tmp_.Sub("work");
    Git(tmp_.path(), {"init", "--quiet", "--initial-branch=main", work_});
    c1_ = CommitFiles(work_,
                      {{"sluice.yaml", "pipeline: [dev, prod]\n"},
                       {"scripts/deploy.sh", "#!/bin/sh\necho deploy\n"},
                       {"environments/prod/environment.yaml", "{}\n"},
                       {"environments/prod/apps/api.yaml", "digest: sha256:aaa\n"},
                       {"environments/prod/apps/web.yaml", "digest: sha256:bbb\n"},
                       {"environments/dev/apps/api.yaml", "digest: sha256:ccc\n"},
                       {"charts/api/values.yaml", "replicas: 2\n"},
                       {"old/only.txt", "gone in c2\n"}},
                      "c1");
    // c2: a pin changes, a file turns executable, a directory replaces a
    // file and a file a directory, a directory goes, one appears.
    fs::permissions(work_ + "/scripts/deploy.sh", fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(work_ + "/charts/api");
    fs::remove(work_ + "/sluice.yaml");
    c2_ = CommitFiles(work_,
                      {{"environments/prod/apps/api.yaml", "digest: sha256:ddd\n"},
                       {"old/only.txt", std::nullopt},
                       {"charts/api", "now a file\n"},
                       {"sluice.yaml/inside", "now a directory\n"},
                       {"new/dir/file.txt", "new\n"}},
                      "c2");
    auto repo = Repository::Open(work_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  // What a fresh ExportTree of `commit` (less `skip`) writes.
  std::map<std::string, std::string> Expected(const std::string& commit,
                                              const Repository::ExportSkip& skip) {
    const std::string dir = tmp_.Sub("expected-" + std::to_string(++exports_));
    EXPECT_TRUE(repo_->ExportTree(commit, dir, skip).ok());
    return Snapshot(dir);
  }

  static Repository::ExportSkip OnlyPin(std::string keep) {
    return [keep](std::string_view path, bool is_directory) {
      return !is_directory && path.find("/apps/") != std::string_view::npos && path != keep;
    };
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string work_, c1_, c2_;
  std::unique_ptr<Repository> repo_;
  int exports_ = 0;
};

TEST_F(SyncTreeTest, TheSecondCommitWritesOnlyWhatDiffersAndEndsAsAFreshExport) {
  const std::string out = tmp_.Sub("checkout");
  ExportManifest m;
  bool reused = true;
  const auto api = OnlyPin("environments/prod/apps/api.yaml");
  ASSERT_OK(repo_->SyncTree(c1_, out, api, &m, &reused));
  EXPECT_FALSE(reused);  // the first time is a whole export
  EXPECT_EQ(Snapshot(out), Expected(c1_, api));

  const uint64_t unchanged = Inode(out + "/environments/prod/environment.yaml");
  const uint64_t changed = Inode(out + "/environments/prod/apps/api.yaml");
  ASSERT_OK(repo_->SyncTree(c2_, out, api, &m, &reused));
  EXPECT_TRUE(reused);
  EXPECT_EQ(Snapshot(out), Expected(c2_, api));
  // Left alone, and rewritten in place: no inode freed and allocated again.
  EXPECT_EQ(Inode(out + "/environments/prod/environment.yaml"), unchanged);
  EXPECT_EQ(Inode(out + "/environments/prod/apps/api.yaml"), changed);

  // Another app of the same environment at the same commit: its pin in,
  // the other out.
  const auto web = OnlyPin("environments/dev/apps/api.yaml");
  ASSERT_OK(repo_->SyncTree(c2_, out, web, &m, &reused));
  EXPECT_TRUE(reused);
  EXPECT_EQ(Snapshot(out), Expected(c2_, web));

  // And back to the first commit.
  ASSERT_OK(repo_->SyncTree(c1_, out, api, &m, &reused));
  EXPECT_TRUE(reused);
  EXPECT_EQ(Snapshot(out), Expected(c1_, api));
}

// Whatever an adapter did to its checkout, the next one starts from exactly
// the commit's files: anything that is not as written means a whole export.
TEST_F(SyncTreeTest, AnythingAnAdapterChangedMeansAWholeExport) {
  const std::string out = tmp_.Sub("checkout");
  const auto api = OnlyPin("environments/prod/apps/api.yaml");
  const auto expected = Expected(c2_, api);
  struct Case {
    const char* what;
    std::function<void()> tamper;
  };
  const std::vector<Case> cases = {
      {"a file added", [&] { testing::WriteFile(out + "/charts/.terraform.lock.hcl", "x"); }},
      {"a directory added", [&] { fs::create_directories(out + "/environments/prod/.terraform"); }},
      {"a file removed", [&] { fs::remove(out + "/environments/prod/environment.yaml"); }},
      {"same size, other content",
       [&] { testing::WriteFile(out + "/environments/prod/environment.yaml", "[]\n"); }},
      {"made executable",
       [&] {
         fs::permissions(out + "/environments/prod/environment.yaml", fs::perms::owner_exec,
                         fs::perm_options::add);
       }},
      {"replaced by a symlink",
       [&] {
         fs::remove(out + "/environments/prod/environment.yaml");
         fs::create_symlink("/etc/passwd", out + "/environments/prod/environment.yaml");
       }},
      {"the same content in a new inode",
       [&] {
         const std::string p = out + "/environments/prod/environment.yaml";
         const std::string content = testing::ReadFile(p);
         // The old inode stays in use (a link outside), so the new file
         // cannot get its number back.
         fs::create_hard_link(p, tmp_.Sub("held-" + std::to_string(++exports_)));
         fs::remove(p);
         testing::WriteFile(p, content);
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    ExportManifest m;
    bool reused = false;
    ASSERT_OK(repo_->SyncTree(c1_, out, api, &m, &reused));
    c.tamper();
    ASSERT_OK(repo_->SyncTree(c2_, out, api, &m, &reused));
    EXPECT_FALSE(reused);
    EXPECT_EQ(Snapshot(out), expected);
    // Untouched since, the next one is reused again.
    ASSERT_OK(repo_->SyncTree(c2_, out, api, &m, &reused));
    EXPECT_TRUE(reused);
    EXPECT_EQ(Snapshot(out), expected);
  }
}

TEST_F(SyncTreeTest, ATreeWithASymlinkIsExportedWholeEveryTime) {
  fs::create_symlink("environments/prod", work_ + "/current");
  const std::string c3 = CommitFiles(work_, {{"README.md", "links\n"}}, "c3");
  const std::string out = tmp_.Sub("checkout");
  const auto api = OnlyPin("environments/prod/apps/api.yaml");
  ExportManifest m;
  bool reused = true;
  ASSERT_OK(repo_->SyncTree(c3, out, api, &m, &reused));
  EXPECT_FALSE(reused);
  ASSERT_OK(repo_->SyncTree(c3, out, api, &m, &reused));
  EXPECT_FALSE(reused);
  EXPECT_EQ(Snapshot(out), Expected(c3, api));
  // From a tree without links to one with them: whole, too.
  ASSERT_OK(repo_->SyncTree(c2_, out, api, &m, &reused));
  ASSERT_OK(repo_->SyncTree(c3, out, api, &m, &reused));
  EXPECT_FALSE(reused);
  EXPECT_EQ(Snapshot(out), Expected(c3, api));
}

// A manifest describes one directory: another directory is exported whole.
TEST_F(SyncTreeTest, AManifestOfAnotherDirectoryIsNotTrusted) {
  const auto api = OnlyPin("environments/prod/apps/api.yaml");
  ExportManifest m;
  bool reused = true;
  ASSERT_OK(repo_->SyncTree(c1_, tmp_.Sub("one"), api, &m, &reused));
  testing::WriteFile(tmp_.Sub("two") + "/stale.txt", "left by someone\n");
  ASSERT_OK(repo_->SyncTree(c2_, tmp_.Sub("two"), api, &m, &reused));
  EXPECT_FALSE(reused);
  EXPECT_EQ(Snapshot(tmp_.Sub("two")), Expected(c2_, api));
}

}  // namespace
}  // namespace sluice::git
