// ReleasesOf: the rows of `sluice history` from audit changes.
#include "reports/history.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace sluice::reports {
namespace {

TimePoint At(const char* text) { return *ParseRfc3339(text); }

Change Applied(const std::string& commit, const char* applying, bool verified) {
  Change c;
  c.env = "prod";
  c.app = "api";
  c.commit = commit;
  c.applying = At(applying);
  if (verified) c.verified = At(applying);
  c.outcome = verified ? "verified" : "failed";
  return c;
}

TEST(ReleasesOfTest, NewestFirstOnlyWhatRanWithTheRunningReleaseAndTheLkgMarked) {
  Change blocked;
  blocked.commit = "b";
  blocked.outcome = "blocked";
  std::vector<Change> changes = {Applied("a", "2026-12-01T10:00:00Z", true), blocked,
                                 Applied("c", "2026-12-03T10:00:00Z", false),
                                 Applied("d", "2026-12-02T10:00:00Z", true)};
  std::vector<Release> rows = ReleasesOf(changes, /*deployed=*/"c", /*lkg=*/"d");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].commit, "c");
  EXPECT_TRUE(rows[0].running);
  EXPECT_FALSE(rows[0].verified);
  EXPECT_EQ(rows[1].commit, "d");
  EXPECT_TRUE(rows[1].lkg);
  EXPECT_TRUE(rows[1].verified);
  EXPECT_EQ(rows[2].commit, "a");
  EXPECT_FALSE(rows[2].running || rows[2].lkg);
}

}  // namespace
}  // namespace sluice::reports
