#include "trust/custody.h"

#include <gtest/gtest.h>

namespace sluice::trust {
namespace {

// One path ("p"); states are made-up object ids.
git::PathEdit Edit(const std::string& commit, const std::string& before, const std::string& after) {
  return {commit, "parent-of-" + commit, {before}, {after}};
}

const std::vector<std::string> kPaths = {"p"};

// Approves the commits whose name starts with "ok".
std::string OkJudge(const git::PathEdit& e, const Custody&) {
  return e.commit.rfind("ok", 0) == 0 ? "" : "no signature";
}

Custody Fold(const std::string& base, const std::vector<git::PathEdit>& edits,
             bool first_version = false) {
  return FoldCustody(
      StartCustody({base}), edits, kPaths, [&](size_t) { return first_version; }, OkJudge);
}

TEST(CustodyTest, ApprovedEditTakesEffect) {
  Custody c = Fold("v1", {Edit("ok1", "v1", "v2")});
  EXPECT_EQ(c.trusted[0], "v2");
  EXPECT_EQ(c.trusted_from[0], "ok1");
  EXPECT_TRUE(c.ignored.empty());
}

TEST(CustodyTest, UnapprovedEditIsIgnoredWithTheJudgesReason) {
  Custody c = Fold("v1", {Edit("bad", "v1", "v2")});
  EXPECT_EQ(c.trusted[0], "v1");
  EXPECT_EQ(c.tip[0], "v2");
  ASSERT_EQ(c.ignored.size(), 1u);
  EXPECT_EQ(c.ignored[0].commit, "bad");
  EXPECT_EQ(c.ignored[0].path, "p");
  EXPECT_EQ(c.ignored[0].reason, "no signature");
}

TEST(CustodyTest, RevertToTheTrustedContentNeedsNoApproval) {
  Custody c = Fold("v1", {Edit("bad", "v1", "v2"), Edit("revert", "v2", "v1")});
  EXPECT_EQ(c.trusted[0], "v1");
  EXPECT_EQ(c.tip[0], "v1");
}

TEST(CustodyTest, ApprovedEditBuiltOnAnUnapprovedOneIsIgnored) {
  Custody c = Fold("v1", {Edit("bad", "v1", "v2"), Edit("ok2", "v2", "v3")});
  EXPECT_EQ(c.trusted[0], "v1");
  ASSERT_EQ(c.ignored.size(), 2u);
  EXPECT_NE(c.ignored[1].reason.find("builds on the unapproved edit in bad"), std::string::npos)
      << c.ignored[1].reason;
}

TEST(CustodyTest, FirstVersionIsTrustedAsItLandsOnlyOnce) {
  Custody c = Fold("", {Edit("anyone", "", "v1"), Edit("bad", "v1", ""), Edit("bad2", "", "v9")},
                   /*first_version=*/true);
  EXPECT_EQ(c.trusted[0], "v1");
  EXPECT_EQ(c.trusted_from[0], "anyone");
  // Deleting and re-adding is an edit, not a first version.
  EXPECT_EQ(c.ignored.size(), 2u);
}

TEST(CustodyTest, TheJudgeSeesTheStateBeforeTheEdit) {
  std::vector<std::string> seen;
  FoldCustody(
      StartCustody({"v1"}), {Edit("ok1", "v1", "v2"), Edit("ok2", "v2", "v3")}, kPaths,
      [](size_t) { return false; },
      [&](const git::PathEdit& e, const Custody& so_far) {
        seen.push_back(so_far.trusted[0]);
        return OkJudge(e, so_far);
      });
  EXPECT_EQ(seen, (std::vector<std::string>{"v1", "v2"}));
}

}  // namespace
}  // namespace sluice::trust
