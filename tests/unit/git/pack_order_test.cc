// PackOrder reads git's pack indexes to learn where each object sits, so
// that bulk readers (the audit's walk over every note) visit objects in the
// order git wrote them. These tests check its answers against git's own
// (`git show-index`), and that an index it cannot read costs order, never a
// crash or a lost object.
#include "git/pack_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "git/incremental.h"
#include "git/repo.h"
#include "unit/git/git_test_util.h"

namespace fs = std::filesystem;

namespace sluice::git {
namespace {

using testing::CommitFiles;
using testing::Git;
using testing::TempDir;

git_oid Oid(const std::string& hex) {
  git_oid id;
  EXPECT_EQ(git_oid_fromstr(&id, hex.c_str()), 0) << hex;
  return id;
}

class PackOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = tmp_.Sub("work");
    Git(tmp_.path(), {"init", "--quiet", "--initial-branch=main", work_});
    for (int i = 0; i < 30; ++i) {
      CommitFiles(work_, {{"apps/api.yaml", "version: " + std::to_string(i) + "\n"}},
                  "c" + std::to_string(i));
    }
    Git(work_, {"gc", "--quiet"});
    objects_ = work_ + "/.git/objects";
  }

  // The only pack's index, as git reads it: object id -> offset.
  std::map<std::string, uint64_t> ShowIndex() {
    fs::path idx;
    for (const auto& f : fs::directory_iterator(objects_ + "/pack")) {
      if (f.path().extension() == ".idx") idx = f.path();
    }
    // show-index reads the index on its standard input.
    std::string listing =
        testing::RunCommand({"sh", "-c", "git show-index < \"$0\"", idx.string()}).out;
    std::map<std::string, uint64_t> offsets;
    std::istringstream lines(listing);
    uint64_t offset;
    std::string id, crc;
    while (lines >> offset >> id >> crc) offsets[id] = offset;
    return offsets;
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string work_, objects_;
};

TEST_F(PackOrderTest, SortsObjectsAsGitStoredThem) {
  std::map<std::string, uint64_t> git_offsets = ShowIndex();
  ASSERT_GT(git_offsets.size(), 60u);  // 30 commits, their trees and blobs
  PackOrder order = PackOrder::Load(objects_);
  EXPECT_EQ(order.packs(), 1u);
  for (const auto& [id, offset] : git_offsets) {
    EXPECT_EQ(order.Key(Oid(id)), offset) << id;  // the first pack: key = offset
  }
  // Something no pack holds (a commit made after the gc stays loose).
  std::string loose = CommitFiles(work_, {{"apps/api.yaml", "version: loose\n"}}, "loose");
  EXPECT_EQ(order.Key(Oid(loose)), UINT64_MAX);
}

TEST_F(PackOrderTest, AnIndexItCannotReadIsLeftOutAndNothingIsLost) {
  // Damage the index: a wrong version, then a file cut short.
  fs::path idx;
  for (const auto& f : fs::directory_iterator(objects_ + "/pack")) {
    if (f.path().extension() == ".idx") idx = f.path();
  }
  std::string head = Trim(Git(work_, {"rev-parse", "HEAD"}).out);
  fs::path copy = tmp_.Sub("idx-copy");
  fs::copy_file(idx, copy);
  fs::permissions(idx, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(idx, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(7);
    f.put(3);  // version 3
  }
  EXPECT_EQ(PackOrder::Load(objects_).packs(), 0u);
  fs::resize_file(idx, 100);
  PackOrder cut = PackOrder::Load(objects_);
  EXPECT_EQ(cut.packs(), 0u);
  EXPECT_EQ(cut.Key(Oid(head)), UINT64_MAX);
  EXPECT_EQ(PackOrder::Load(tmp_.Sub("no-such-repo/objects")).packs(), 0u);
  fs::copy_file(copy, idx, fs::copy_options::overwrite_existing);
  EXPECT_EQ(PackOrder::Load(objects_).packs(), 1u);
}

// Notes are read in pack order, every one of them, whatever order the
// notes tree lists them in; loose notes (written after the gc) too.
TEST_F(PackOrderTest, ForEachNoteReadsPackedAndLooseNotes) {
  ASSERT_OK_AND_ASSIGN(repo, Repository::Open(work_));
  std::vector<std::string> commits;
  std::istringstream ids(Git(work_, {"rev-list", "HEAD"}).out);
  for (std::string id; ids >> id;) commits.push_back(id);
  ASSERT_EQ(commits.size(), 30u);
  for (size_t i = 0; i < 20; ++i) {
    ASSERT_OK(repo->WriteNote("refs/notes/sluice", commits[i], "note " + commits[i] + "\n", Bot()));
  }
  Git(work_, {"gc", "--quiet"});
  for (size_t i = 20; i < commits.size(); ++i) {
    ASSERT_OK(repo->WriteNote("refs/notes/sluice", commits[i], "note " + commits[i] + "\n", Bot()));
  }
  std::map<std::string, std::string> seen;
  ASSERT_OK(ForEachNote(*repo, "refs/notes/sluice", [&](const std::string& c, std::string_view t) {
    seen.emplace(c, std::string(t));
    return true;
  }));
  ASSERT_EQ(seen.size(), commits.size());
  for (const auto& c : commits) EXPECT_EQ(seen[c], "note " + c + "\n");
}

}  // namespace
}  // namespace sluice::git
