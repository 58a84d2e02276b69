// `sluice plan`: the gate table of pending changes, evaluated as of --at,
// with the exit codes of SPEC section 7, and nothing written.
#include <gtest/gtest.h>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f_.CommitAndPush({{"environments/dev/environment.yaml",
                       "windows:\n  timezone: UTC\n  allow:\n    - {hours: \"10:00-11:00\"}\n"}},
                     "dev deploys 10:00-11:00 UTC");
  }
  CommandOutput Plan(std::vector<std::string> extra) {
    std::vector<std::string> args = {"plan", "--format", "json", "--log-level", "off"};
    args.insert(args.end(), extra.begin(), extra.end());
    return f_.Sluice(args);
  }
  EnvRepoFixture f_;
};

TEST_F(PlanTest, PassesInsideTheWindowAndWaitsOutsideIt) {
  std::string commit =
      f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('a'))}}, "api");
  CommandOutput inside = Plan({"--env", "dev", "--at", "2026-11-24T10:30:00Z"});
  EXPECT_EQ(inside.exit_code, 0) << inside.out << inside.err;
  auto rows = nlohmann::json::parse(inside.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["result"], "pass");
  EXPECT_EQ(rows[0]["commit"], commit);

  CommandOutput outside = Plan({"--env", "dev", "--at", "2026-11-24T12:00:00+00:00"});
  EXPECT_EQ(outside.exit_code, 4) << outside.out;
  rows = nlohmann::json::parse(outside.out);
  bool window_waits = false;
  for (const auto& g : rows[0]["gates"]) {
    if (g["name"] == "window") window_waits = g["result"] == "wait";
  }
  EXPECT_TRUE(window_waits) << rows.dump();

  // A plan writes nothing: no note, no candidate ref, nothing deployed.
  EXPECT_TRUE(f_.RemoteEvents(commit).empty());
  EXPECT_EQ(f_.RemoteRef("refs/sluice/candidate/dev/api"), "");
  EXPECT_TRUE(f_.Deploys().empty());
}

// The JSON is written row by row (a plan of 10,000 rows held 45 MB as one
// value and one string); it must read exactly as the whole array
// pretty-printed with an indent of two, as before, and an empty plan as [].
TEST_F(PlanTest, JsonIsTheWholeArrayPrettyPrintedAndAnEmptyPlanIsAnEmptyArray) {
  CommandOutput empty = Plan({"--env", "dev"});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "[]\n");
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('a'))},
                    {"environments/dev/apps/web.yaml", f_.PinYaml(Digest('b'))}},
                   "api and web");
  CommandOutput two = Plan({"--env", "dev", "--at", "2026-11-24T10:30:00Z"});
  EXPECT_EQ(two.exit_code, 0) << two.err;
  auto rows = nlohmann::ordered_json::parse(two.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(two.out, rows.dump(2) + "\n");
}

TEST_F(PlanTest, BlockedChangeExitsThreeWithEveryGate) {
  f_.CommitAndPush({{"environments/prod/apps/api.yaml", f_.PinYaml(Digest('b'))}}, "prod api");
  CommandOutput r = Plan({"--env", "prod"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["result"], "block");
  ASSERT_GE(rows[0]["gates"].size(), 2u);
  EXPECT_EQ(rows[0]["gates"][0]["name"], "digest");
  EXPECT_EQ(rows[0]["gates"][1]["name"], "approval");
  EXPECT_EQ(rows[0]["gates"][1]["result"], "block");
}

TEST_F(PlanTest, NothingPendingExitsZero) {
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('c'))}}, "api");
  CommandOutput text = f_.Sluice({"plan", "--env", "prod", "--log-level", "off"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("nothing pending"), std::string::npos) << text.out;
}

TEST_F(PlanTest, PreviewsAPullRequestBranchBeforeItIsMerged) {
  // The change exists only on the PR branch; main does not have it.
  Git(f_.work, {"checkout", "-q", "-b", "promote"});
  CommitFiles(f_.work, {{"environments/dev/apps/web.yaml", f_.PinYaml(Digest('d'))}}, "web");
  Git(f_.work, {"push", "-q", "origin", "promote"});
  CommandOutput r = Plan({"--branch", "promote", "--env", "dev", "--at", "2026-11-24T10:15:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["app"], "web");
}

TEST_F(PlanTest, BadAtIsAUsageError) {
  CommandOutput r = f_.Sluice({"plan", "--at", "tomorrow"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("RFC 3339"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::testing
