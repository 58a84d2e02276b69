// deploy.dependsOn end to end (SPEC 1.4): the real `sluice` binary, a real
// git daemon, the exec adapter's own log for the order in which apps ran.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

// An exec pin that depends on `deps` ("[migrate]").
std::string PinAfter(const EnvRepoFixture& f, const std::string& digest, const std::string& deps,
                     const std::string& version = "1.0.0") {
  std::string pin = f.PinYaml(digest, version);
  const std::string key = "deploy:\n";
  pin.insert(pin.find(key) + key.size(), "  dependsOn: " + deps + "\n");
  return pin;
}

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& env,
                              const std::string& app) {
  for (const auto& o : pass["outcomes"]) {
    if (o["env"] == env && o["app"] == app) return &o;
  }
  return nullptr;
}

// The apps of <state>/deploys.log, in the order the adapter ran them.
std::vector<std::string> DeployedApps(const EnvRepoFixture& f) {
  std::vector<std::string> apps;
  for (const auto& line : f.Deploys()) {
    size_t a = line.find(' ');
    apps.push_back(line.substr(a + 1, line.find(' ', a + 1) - a - 1));
  }
  return apps;
}

std::vector<nlohmann::json> EventsOf(const EnvRepoFixture& f, const std::string& commit,
                                     const std::string& app) {
  std::vector<nlohmann::json> out;
  for (const auto& e : f.RemoteEvents(commit)) {
    if (e.value("app", "") == app) out.push_back(e);
  }
  return out;
}

TEST(OrderTest, TheMigrationRunsBeforeTheAppInOnePassAndPlanAndStatusShowTheOrder) {
  EnvRepoFixture f;
  // By name "api" would go first; it depends on "migrate".
  std::string commit = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", PinAfter(f, Digest('a'), "[migrate]", "2.0.0")},
       {"environments/dev/apps/migrate.yaml", f.PinYaml(Digest('b'), "2.0.0")},
       {"environments/dev/apps/cache.yaml", f.PinYaml(Digest('c'))}},
      "api 2.0.0 with its migration");

  CommandOutput plan = f.Sluice({"plan", "--env", "dev", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err << plan.out;
  auto rows = nlohmann::json::parse(plan.out);
  ASSERT_EQ(rows.size(), 3u) << rows.dump(2);
  EXPECT_EQ(rows[0]["app"], "cache");
  EXPECT_EQ(rows[1]["app"], "migrate");
  EXPECT_EQ(rows[2]["app"], "api");
  EXPECT_EQ(rows[2]["order"], 3);
  EXPECT_EQ(rows[2]["dependsOn"], nlohmann::json::array({"migrate"}));
  const auto& last_gate = rows[2]["gates"].back();
  EXPECT_EQ(last_gate["name"], "dependsOn");
  EXPECT_EQ(last_gate["result"], "pass");
  EXPECT_EQ(last_gate["reason"], "after migrate (applied and verified first)");
  // --app api judges api and what it depends on, and shows api alone.
  CommandOutput one =
      f.Sluice({"plan", "--env", "dev", "--app", "api", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(one.exit_code, 0) << one.err << one.out;
  auto one_rows = nlohmann::json::parse(one.out);
  ASSERT_EQ(one_rows.size(), 1u) << one_rows.dump(2);
  EXPECT_EQ(one_rows[0]["order"], 3);
  EXPECT_EQ(one_rows[0]["gates"].back()["reason"], "after migrate (applied and verified first)");
  CommandOutput plan_text = f.Sluice({"plan", "--env", "dev", "--log-level", "off"});
  EXPECT_NE(plan_text.out.find("order 3 in dev, after: migrate"), std::string::npos)
      << plan_text.out;

  nlohmann::json pass = f.Reconcile();
  EXPECT_EQ((*Outcome(pass, "dev", "api"))["state"], "verified") << pass.dump();
  // The adapter's own log: migrate (applied and verified) before api.
  EXPECT_EQ(DeployedApps(f), (std::vector<std::string>{"cache", "migrate", "api"}));
  std::vector<nlohmann::json> migrate = EventsOf(f, commit, "migrate");
  std::vector<nlohmann::json> api = EventsOf(f, commit, "api");
  ASSERT_EQ(migrate.size(), 3u);
  ASSERT_EQ(api.size(), 3u);
  EXPECT_EQ(migrate[2]["event"], "verified");
  EXPECT_LE(migrate[2]["time"].get<std::string>(), api[0]["time"].get<std::string>());
  // api's `applying` says when its dependency was in place: the audit's row.
  const auto& gate = api[0]["gates"].back();
  EXPECT_EQ(gate["name"], "dependsOn");
  EXPECT_EQ(gate["result"], "pass");
  const std::string verified_at = migrate[2]["time"].get<std::string>().substr(0, 19) + "Z";
  EXPECT_EQ(gate["reason"],
            "after migrate verified " + verified_at + " at " + commit.substr(0, 12));
  CommandOutput audit = f.Sluice({"audit", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("after migrate verified "), std::string::npos) << audit.out;

  CommandOutput status =
      f.Sluice({"status", "--env", "dev", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto srows = nlohmann::json::parse(status.out);
  ASSERT_EQ(srows.size(), 3u);
  EXPECT_EQ(srows[0]["app"], "api");
  EXPECT_EQ(srows[0]["dependsOn"], nlohmann::json::array({"migrate"}));
  EXPECT_EQ(srows[0]["order"], 3);  // cache, migrate, api
  EXPECT_EQ(srows[2]["app"], "migrate");
  EXPECT_EQ(srows[2]["order"], 2);
  CommandOutput status_text = f.Sluice({"status", "--env", "dev", "--log-level", "off"});
  EXPECT_NE(status_text.out.find("after    migrate (order 3 in dev)"), std::string::npos)
      << status_text.out;
}

TEST(OrderTest, ABlockedDependencyHoldsTheAppWithAReasonNamingIt) {
  EnvRepoFixture f;
  // migrate's pin names a tag: blocked until someone pins a digest.
  std::string bad_migrate = f.PinYaml(Digest('b'));
  bad_migrate.replace(bad_migrate.find("  digest: " + Digest('b')),
                      ("  digest: " + Digest('b')).size(), "  digest: latest");
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", PinAfter(f, Digest('a'), "[migrate]")},
                       {"environments/dev/apps/migrate.yaml", bad_migrate}},
                      "api with a migration pinned by tag");
  nlohmann::json pass = f.Reconcile();
  EXPECT_EQ((*Outcome(pass, "dev", "migrate"))["state"], "blocked") << pass.dump();
  const nlohmann::json& api = *Outcome(pass, "dev", "api");
  EXPECT_EQ(api["state"], "waiting") << pass.dump();
  EXPECT_NE(api["reason"].get<std::string>().find("waiting for dependency migrate (blocked): "),
            std::string::npos)
      << api.dump();
  EXPECT_TRUE(f.Deploys().empty());
  std::vector<nlohmann::json> events = EventsOf(f, commit, "api");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "waiting");
  EXPECT_EQ(events[0]["gates"].back()["name"], "dependsOn");

  // The same verdict is not written again; a fixed migration lets api go.
  f.Reconcile();
  EXPECT_EQ(EventsOf(f, commit, "api").size(), 1u);
  f.CommitAndPush({{"environments/dev/apps/migrate.yaml", f.PinYaml(Digest('b'))}},
                  "pin the migration by digest");
  nlohmann::json fixed = f.Reconcile();
  EXPECT_EQ((*Outcome(fixed, "dev", "api"))["state"], "verified") << fixed.dump();
  EXPECT_EQ(DeployedApps(f), (std::vector<std::string>{"migrate", "api"}));
}

TEST(OrderTest, AFailedDependencyBlocksTheAppUntilItIsFixed) {
  EnvRepoFixture f;
  WriteFile(f.state + "/fail-d", "");
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", PinAfter(f, Digest('a'), "[migrate]")},
                       {"environments/dev/apps/migrate.yaml", f.PinYaml(Digest('d'))}},
                      "api with a migration that fails");
  nlohmann::json pass = f.Reconcile(/*expected_exit=*/1);
  EXPECT_EQ((*Outcome(pass, "dev", "migrate"))["state"], "failed");
  const nlohmann::json& api = *Outcome(pass, "dev", "api");
  EXPECT_EQ(api["state"], "blocked") << pass.dump();
  EXPECT_NE(api["reason"].get<std::string>().find("dependency migrate failed: "), std::string::npos)
      << api.dump();
  EXPECT_EQ(DeployedApps(f), (std::vector<std::string>{"migrate"}));
  std::vector<nlohmann::json> events = EventsOf(f, commit, "api");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "blocked");

  CommandOutput status = f.Sluice({"status", "--env", "dev", "--app", "api", "--log-level", "off"});
  EXPECT_NE(status.out.find("dependsOn: dependency migrate failed"), std::string::npos)
      << status.out;

  // The migration's incident report has a line for the app it held.
  CommandOutput incident =
      f.Sluice({"incident-report", "dev", "migrate", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(incident.exit_code, 0) << incident.err;
  auto report = nlohmann::json::parse(incident.out);
  const nlohmann::json* held = nullptr;
  for (const auto& t : report["timeline"]) {
    if (t["event"] == "dependent-blocked") held = &t;
  }
  ASSERT_NE(held, nullptr) << report.dump(2);
  EXPECT_EQ((*held)["time"], events[0]["time"]);
  EXPECT_EQ((*held)["text"].get<std::string>().rfind("api blocked: dependency migrate failed: ", 0),
            0u)
      << held->dump();

  f.CommitAndPush({{"environments/dev/apps/migrate.yaml", f.PinYaml(Digest('e'))}},
                  "fix the migration");
  nlohmann::json fixed = f.Reconcile();
  EXPECT_EQ((*Outcome(fixed, "dev", "api"))["state"], "verified") << fixed.dump();
  EXPECT_EQ(DeployedApps(f), (std::vector<std::string>{"migrate", "migrate", "api"}));
}

TEST(OrderTest, ADependencyWhoseReleaseFailedInAnEarlierPassBlocksANewChange) {
  EnvRepoFixture f;
  // migrate is applied, then fails its verification (no onFailure: it stays).
  f.CommitAndPush({{"environments/dev/apps/migrate.yaml",
                    f.PinYaml(Digest('a')) + "verification:\n  checks:\n    - http: {url: "
                                             "\"http://127.0.0.1:1/ready\", retries: 0}\n"}},
                  "a migration whose check cannot pass");
  f.Reconcile(/*expected_exit=*/1);
  std::string deployed = f.RemoteRef("refs/sluice/deployed/dev/migrate");
  ASSERT_FALSE(deployed.empty());
  f.CommitAndPush({{"environments/dev/apps/api.yaml", PinAfter(f, Digest('b'), "[migrate]")}},
                  "api after the migration");
  nlohmann::json pass = f.Reconcile();
  const nlohmann::json& api = *Outcome(pass, "dev", "api");
  EXPECT_EQ(api["state"], "blocked") << pass.dump();
  EXPECT_NE(api["reason"].get<std::string>().find("dependency migrate failed at " +
                                                  deployed.substr(0, 12) + ": verification failed"),
            std::string::npos)
      << api.dump();
  EXPECT_EQ(DeployedApps(f), (std::vector<std::string>{"migrate"}));
}

TEST(OrderTest, ADependencyRolledBackAfterTheChangeBlocksIt) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/environment.yaml", "onFailure: rollback\n"}},
                  "dev rolls back by itself");
  f.CommitAndPush({{"environments/dev/apps/migrate.yaml", f.PinYaml(Digest('a'), "1.0.0")},
                   {"environments/dev/apps/api.yaml", PinAfter(f, Digest('b'), "[migrate]")}},
                  "first release");
  f.Reconcile();
  std::string failing =
      f.PinYaml(Digest('c'), "2.0.0") +
      "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", retries: 0}\n";
  f.CommitAndPush(
      {{"environments/dev/apps/migrate.yaml", failing},
       {"environments/dev/apps/api.yaml", PinAfter(f, Digest('d'), "[migrate]", "2.0.0")}},
      "api 2.0.0 needs migration 2.0.0");
  // migrate fails verification and is rolled back by the controller; api
  // 2.0.0 must not follow the rolled-back migration.
  nlohmann::json pass = f.Reconcile(/*expected_exit=*/1);
  std::vector<std::string> apps = DeployedApps(f);
  EXPECT_EQ(apps, (std::vector<std::string>{"migrate", "api", "migrate", "migrate"}))
      << pass.dump(2);
  const nlohmann::json* api = nullptr;
  for (const auto& o : pass["outcomes"]) {
    if (o["app"] == "api") api = &o;  // the last one: of the follow-up pass
  }
  ASSERT_NE(api, nullptr) << pass.dump(2);
  EXPECT_EQ((*api)["state"], "blocked") << pass.dump(2);
  EXPECT_NE((*api)["reason"].get<std::string>().find("dependency migrate was rolled back by "),
            std::string::npos)
      << api->dump();
  // Rolling back a dependency never rolls back its dependents: api 1.0.0
  // still runs.
  EXPECT_EQ(f.Deploys().back().substr(0, 12), "dev migrate ");
}

TEST(OrderTest, ACycleIsAValidateErrorAndTheReconcilerRefusesItsApps) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", PinAfter(f, Digest('a'), "[migrate]")},
                   {"environments/dev/apps/migrate.yaml", PinAfter(f, Digest('b'), "[api]")},
                   {"environments/dev/apps/web.yaml", f.PinYaml(Digest('c'))}},
                  "a cycle");
  CommandOutput v = f.Sluice({"validate", "--repo", f.work}, /*with_repo=*/false);
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  const std::string all = v.out + v.err;
  EXPECT_NE(all.find("environments/dev/apps/api.yaml:6: deploy.dependsOn makes a cycle: api -> "
                     "migrate -> api"),
            std::string::npos)
      << all;

  nlohmann::json pass = f.Reconcile();
  EXPECT_EQ((*Outcome(pass, "dev", "web"))["state"], "verified") << pass.dump();
  for (const char* app : {"api", "migrate"}) {
    const nlohmann::json& o = *Outcome(pass, "dev", app);
    EXPECT_EQ(o["state"], "blocked") << pass.dump();
    EXPECT_NE(o["reason"].get<std::string>().find("cycle"), std::string::npos) << o.dump();
  }
  EXPECT_EQ(DeployedApps(f), (std::vector<std::string>{"web"}));
}

}  // namespace
}  // namespace sluice::testing
