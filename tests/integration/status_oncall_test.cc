// The on-call fields of `sluice status` end to end: the deployed commit's
// subject, the previous release, and the freshness of the controller's last
// pass (refs/sluice/pass) — fresh, stale and unknown.
#include <gtest/gtest.h>

#include <sstream>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

TEST(StatusOnCallTest, ShowsThePreviousReleaseTheSubjectAndAFreshPass) {
  EnvRepoFixture f;
  // Before any pass: nothing recorded, freshness unknown.
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}},
                  "api 1.0.0");
  auto rows = nlohmann::json::parse(
      f.Sluice({"status", "--format", "json", "--env", "dev", "--log-level", "off"}).out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["lastPass"]["freshness"], "unknown");

  f.Reconcile();
  std::string second = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'), "1.1.0")}}, "Ship api 1.1.0");
  f.Reconcile();
  rows = nlohmann::json::parse(
      f.Sluice({"status", "--format", "json", "--env", "dev", "--log-level", "off"}).out);
  ASSERT_EQ(rows.size(), 1u);
  const auto& r = rows[0];
  // SPEC section 7 keys stay as they are.
  for (const char* key : {"env", "app", "desired", "deployed", "lkg", "state", "reasons"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
  EXPECT_EQ(r["deployed"]["commit"], second);
  EXPECT_EQ(r["deployed"]["subject"], "Ship api 1.1.0");
  EXPECT_EQ(r["previous"]["version"], "1.0.0");
  EXPECT_EQ(r["previous"]["digest"], Digest('a'));
  EXPECT_EQ(r["lastPass"]["freshness"], "fresh");
  EXPECT_FALSE(f.RemoteRef("refs/sluice/pass").empty());
  // The timeline: newest first, this release's events and then the previous one's.
  ASSERT_TRUE(r["recent"].is_array()) << r.dump();
  ASSERT_GE(r["recent"].size(), 4u) << r.dump();
  EXPECT_EQ(r["recent"][0]["event"], "verified") << r.dump();
  EXPECT_EQ(r["recent"][0]["version"], "1.1.0");
  EXPECT_EQ(r["recent"][0]["commit"], second);
  EXPECT_EQ(r["recent"].back()["version"], "1.0.0") << r.dump();

  CommandOutput text = f.Sluice({"status", "--env", "dev", "--log-level", "off"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("controller  fresh: last pass"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("changed  1.0.0 → 1.1.0 (was "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\"Ship api 1.1.0\""), std::string::npos) << text.out;
  std::istringstream lines(text.out);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 100u) << line;
  }

  // With a zero tolerance any recorded pass is stale.
  CommandOutput stale =
      f.Sluice({"status", "--env", "dev", "--stale-after", "0", "--log-level", "off"});
  EXPECT_NE(stale.out.find("controller  STALE: last pass"), std::string::npos) << stale.out;
  EXPECT_EQ(f.Sluice({"status", "--stale-after", "soon", "--log-level", "off"}).exit_code, 2);
}

TEST(StatusOnCallTest, AfterARollbackChangedNamesTheReleaseRolledBack) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}},
                  "api 1.0.0");
  f.Reconcile();
  std::string bad = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml",
        f.PinYaml(Digest('b'), "2.0.0") +
            "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", "
            "retries: 0}\n"}},
      "api 2.0.0");
  f.Reconcile(/*expected_exit=*/1);  // applied, then fails verification
  ASSERT_EQ(f.Sluice({"rollback", "dev", "api", "--push", "--log-level", "off"}).exit_code, 0);
  f.Reconcile();
  auto rows = nlohmann::json::parse(
      f.Sluice({"status", "--format", "json", "--env", "dev", "--log-level", "off"}).out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["deployed"]["version"], "1.0.0");
  EXPECT_EQ(rows[0]["previous"]["version"], "2.0.0");
  EXPECT_EQ(rows[0]["previous"]["commit"], bad);
  EXPECT_EQ(rows[0]["deployed"]["subject"].get<std::string>().rfind("Roll back dev/api", 0), 0u)
      << rows[0].dump(2);
}

}  // namespace
}  // namespace sluice::testing
