// `sluice incident-report` end to end: the real binary against an
// environments repository behind git daemon, with the controller's own
// rollback and a person's.
#include <gtest/gtest.h>

#include "core/time_format.h"
#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

// A pin whose verification cannot pass (nothing listens on port 1).
std::string FailingPin(const EnvRepoFixture& f, const std::string& digest) {
  return f.PinYaml(digest, "2.0.0") +
         "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", retries: 0}\n";
}

double SecondsBetween(const nlohmann::json& from, const nlohmann::json& to) {
  auto a = ParseRfc3339(from.get<std::string>());
  auto b = ParseRfc3339(to.get<std::string>());
  EXPECT_TRUE(a.ok() && b.ok()) << from << " " << to;
  return std::chrono::duration<double>(*b - *a).count();
}

nlohmann::json IncidentJson(const EnvRepoFixture& f, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"incident-report", "dev", "api", "--format", "json",
                                   "--log-level",     "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandOutput r = f.Sluice(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

TEST(IncidentReportCliTest, ControllersOwnRollbackIsReportedWithTheFailingValues) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/environment.yaml", "onFailure: rollback\n"}},
                  "dev rolls back by itself");
  std::string good = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}}, "api 1.0.0");
  f.Reconcile();
  std::string bad = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", FailingPin(f, Digest('b'))}}, "api 2.0.0");
  f.Reconcile(/*expected_exit=*/1);  // fails verification, pushes the rollback and applies it
  std::string rollback = f.RemoteRef("refs/heads/main");
  ASSERT_NE(rollback, bad);

  nlohmann::json j = IncidentJson(f);
  ASSERT_EQ(j["failures"].size(), 1u) << j.dump(2);
  const auto& x = j["failures"][0];
  EXPECT_EQ(x["commit"], bad);
  EXPECT_EQ(x["failure"], "verification");
  EXPECT_EQ(x["bad"]["version"], "2.0.0");
  EXPECT_EQ(x["restored"]["version"], "1.0.0");
  EXPECT_EQ(x["restored"]["commit"], rollback);
  EXPECT_EQ(x["rollback"]["automatic"], true);
  EXPECT_EQ(x["rollback"]["target"], good);
  EXPECT_NE(x["failedValues"].dump().find("127.0.0.1:1/ready"), std::string::npos) << x.dump(2);
  // Time to restore: failure detected -> the rollback's `verified` event.
  std::string verified_time;
  for (const auto& e : f.RemoteEvents(rollback)) {
    if (e["event"] == "verified") verified_time = e["time"];
  }
  ASSERT_FALSE(verified_time.empty());
  EXPECT_EQ(x["restoredVerified"], verified_time);  // to the millisecond, as recorded
  EXPECT_NEAR(x["timeToRestore"].get<double>(),
              SecondsBetween(x["detected"], x["restoredVerified"]), 1e-9);
  EXPECT_GE(x["timeToRestore"].get<double>(), 0.0);

  CommandOutput md = f.Sluice({"incident-report", "dev", "api", "--log-level", "off"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("the controller (onFailure: rollback)"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("**rollback-commit**"), std::string::npos) << md.out;
}

TEST(IncidentReportCliTest, PersonsRollbackIsFoundByItsIncidentId) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}},
                  "api 1.0.0");
  f.Reconcile();
  f.CommitAndPush({{"environments/dev/apps/api.yaml", FailingPin(f, Digest('b'))}}, "api 2.0.0");
  f.Reconcile(/*expected_exit=*/1);  // fails verification
  CommandOutput r =
      f.Sluice({"rollback", "dev", "api", "--incident", "INC-7", "--push", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  f.Reconcile();

  nlohmann::json j = IncidentJson(f, {"--incident", "INC-7"});
  ASSERT_EQ(j["failures"].size(), 1u) << j.dump(2);
  const auto& x = j["failures"][0];
  EXPECT_EQ(x["incidents"], nlohmann::json::array({"INC-7"}));
  EXPECT_EQ(x["rollback"]["automatic"], false);
  EXPECT_EQ(x["restored"]["version"], "1.0.0");
  EXPECT_FALSE(x["timeToRestore"].is_null());

  nlohmann::json none = IncidentJson(f, {"--incident", "INC-8"});
  EXPECT_TRUE(none["failures"].empty());
  EXPECT_EQ(none["message"], "no failure recorded for dev/api with incident INC-8");
}

TEST(IncidentReportCliTest, NoFailureExitsZeroAndATypoIsAnError) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}},
                  "api 1.0.0");
  f.Reconcile();
  CommandOutput ok = f.Sluice({"incident-report", "dev", "api", "--log-level", "off"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("no failure recorded for dev/api"), std::string::npos) << ok.out;

  CommandOutput typo = f.Sluice({"incident-report", "dev", "apj", "--log-level", "off"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("environments/dev/apps/apj.yaml does not exist"), std::string::npos)
      << typo.err;
  CommandOutput bad_time =
      f.Sluice({"incident-report", "dev", "api", "--since", "last week", "--log-level", "off"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_NE(bad_time.err.find("RFC 3339"), std::string::npos) << bad_time.err;
}

TEST(IncidentReportCliTest, TheRepositorysOwnTemplateIsUsed) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}},
                  "api 1.0.0");
  f.CommitAndPush({{"templates/incident-report.md",
                    "Postmortem for {{app}}@{{env}}: {{#empty_message}}{{.}}{{/empty_message}}\n"}},
                  "our own incident template");
  f.Reconcile();
  CommandOutput r = f.Sluice({"incident-report", "dev", "api", "--log-level", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Postmortem for api@dev: no failure recorded", 0), 0u) << r.out;
}

}  // namespace
}  // namespace sluice::testing
