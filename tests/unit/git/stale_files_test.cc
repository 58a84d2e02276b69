#include "git/stale_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace sluice::git {
namespace {

namespace fs = std::filesystem;
using sluice::testing::TempDir;
using sluice::testing::WriteFile;

TEST(RemoveStaleFilesTest, RemovesLocksAndHalfWrittenPacksOnly) {
  TempDir tmp;
  const std::string g = tmp.Sub("cache.git");
  const std::vector<std::string> stale = {
      "config.lock",
      "index.lock",
      "logs/refs/heads/main.lock",
      "objects/pack/pack_git2_7f3a",
      "objects/pack/tmp_pack_Xyz",
      "objects/tmp_object_git2_abc",
      "packed-refs.lock",
      "refs/notes/sluice.lock",
      "refs/sluice-remote/sluice/lkg/dev/a2.lock",
  };
  const std::vector<std::string> kept = {"config",
                                         "HEAD",
                                         "packed-refs",
                                         "refs/heads/main",
                                         "refs/sluice/lkg/dev/a2",
                                         "objects/pack/pack-0123.pack",
                                         "objects/pack/pack-0123.idx",
                                         "objects/ab/cdef",
                                         "logs/refs/heads/main"};
  for (const auto& f : stale) WriteFile(g + "/" + f, "x");
  for (const auto& f : kept) WriteFile(g + "/" + f, "x");

  auto removed = RemoveStaleFiles(g);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, stale);
  for (const auto& f : stale) EXPECT_FALSE(fs::exists(g + "/" + f)) << f;
  for (const auto& f : kept) EXPECT_TRUE(fs::exists(g + "/" + f)) << f;

  // Nothing left: a second call removes nothing.
  removed = RemoveStaleFiles(g);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
}

TEST(RemoveStaleFilesTest, AMissingRepositoryHasNothingStale) {
  TempDir tmp;
  auto removed = RemoveStaleFiles(tmp.Sub("absent.git"));
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
}

}  // namespace
}  // namespace sluice::git
