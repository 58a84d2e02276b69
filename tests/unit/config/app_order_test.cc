#include "config/app_order.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "config/pin.h"
#include "config/repository_config.h"
#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;
using testing::kDigest;

using Graph = std::map<std::string, std::vector<std::string>>;

std::string PinWith(const std::string& deploy_extra) {
  return "artifact:\n  image: r/app\n  digest: " + kDigest + "\ndeploy:\n  adapter: exec\n" +
         deploy_extra + "  exec:\n    command: [deploy.sh]\n";
}

TEST(AppOrderTest, DependenciesGoFirstAndTheRestKeepsTheInputOrder) {
  // api depends on migrate, web on api; cache is free and first in the input.
  Graph g = {{"api", {"migrate"}}, {"cache", {}}, {"migrate", {}}, {"web", {"api"}}};
  AppOrder o = OrderApps(g, {"web", "cache", "api", "migrate"}, {}, "prod");
  EXPECT_TRUE(o.problems.empty());
  EXPECT_EQ(o.order, (std::vector<std::string>{"cache", "migrate", "api", "web"}));
  EXPECT_TRUE(o.unordered.empty());
}

TEST(AppOrderTest, WithoutAnInputOrderAppsGoByName) {
  Graph g = {{"api", {"db"}}, {"db", {}}, {"zeta", {}}};
  AppOrder o = OrderApps(g, {}, {}, "dev");
  EXPECT_EQ(o.order, (std::vector<std::string>{"db", "api", "zeta"}));
}

TEST(AppOrderTest, ADependencyOutsideTheGraphIsFineWhenTheEnvironmentHasIt) {
  Graph g = {{"api", {"db"}}};
  AppOrder o = OrderApps(g, {"api"}, {"api", "db"}, "dev");
  EXPECT_TRUE(o.problems.empty());
  EXPECT_EQ(o.order, (std::vector<std::string>{"api"}));
}

TEST(AppOrderTest, AMissingAppIsAProblemNamingTheAppsThereAre) {
  Graph g = {{"api", {"dbb"}}, {"db", {}}, {"web", {"api"}}};
  AppOrder o = OrderApps(g, {}, {}, "prod");
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_EQ(o.problems[0].app, "api");
  EXPECT_EQ(o.problems[0].dependency, "dbb");
  EXPECT_NE(o.problems[0].message.find("names 'dbb', which is not an app of prod"),
            std::string::npos)
      << o.problems[0].message;
  EXPECT_NE(o.problems[0].message.find("apps of prod: db, web"), std::string::npos)
      << o.problems[0].message;
  // api cannot be ordered, and neither can web, which depends on it.
  EXPECT_EQ(o.order, (std::vector<std::string>{"db"}));
  EXPECT_EQ(o.unordered, (std::set<std::string>{"api", "web"}));
}

TEST(AppOrderTest, ACycleIsReportedOnceWithItsPath) {
  Graph g = {{"a", {"c"}}, {"b", {"a"}}, {"c", {"b"}}, {"d", {"a"}}, {"e", {}}};
  AppOrder o = OrderApps(g, {}, {}, "prod");
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_EQ(o.problems[0].app, "a");
  EXPECT_EQ(o.problems[0].dependency, "c");
  EXPECT_NE(o.problems[0].message.find("makes a cycle: a -> c -> b -> a"), std::string::npos)
      << o.problems[0].message;
  EXPECT_EQ(o.order, (std::vector<std::string>{"e"}));
  EXPECT_EQ(o.unordered, (std::set<std::string>{"a", "b", "c", "d"}));
}

TEST(AppOrderTest, TwoCyclesAreTwoProblems) {
  Graph g = {{"a", {"b"}}, {"b", {"a"}}, {"x", {"y"}}, {"y", {"x"}}};
  AppOrder o = OrderApps(g, {}, {}, "dev");
  ASSERT_EQ(o.problems.size(), 2u);
  EXPECT_NE(o.problems[0].message.find("a -> b -> a"), std::string::npos);
  EXPECT_NE(o.problems[1].message.find("x -> y -> x"), std::string::npos);
  EXPECT_TRUE(o.order.empty());
}

TEST(PinDependsOnTest, ParsesTheListWithLines) {
  Diagnostics diags;
  auto pin = ParsePin(PinWith("  dependsOn:\n    - migrate\n    - cache\n"),
                      "environments/prod/apps/api.yaml", diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  ASSERT_EQ(pin->deploy.depends_on.size(), 2u);
  EXPECT_EQ(pin->deploy.depends_on[0].app, "migrate");
  EXPECT_EQ(pin->deploy.depends_on[0].line, 7);
  EXPECT_EQ(pin->deploy.depends_on[1].app, "cache");
  EXPECT_EQ(pin->deploy.depends_on[1].line, 8);
}

TEST(PinDependsOnTest, BadValuesAreErrorsAtTheirLine) {
  const std::string path = "environments/prod/apps/api.yaml";
  struct Case {
    std::string extra;
    std::string line;
    std::string fragment;
  } cases[] = {
      {"  dependsOn: migrate\n", ":6:", "must be a list of app names of this environment"},
      {"  dependsOn: {app: db}\n", ":6:", "got a map"},
      {"  dependsOn: [api]\n", ":6:", "names 'api' itself"},
      {"  dependsOn: [db, db]\n", ":6:", "names 'db' a second time"},
      {"  dependsOn: [Db_Main]\n", ":6:", "is not an app name"},
      {"  dependsOn: [\"\"]\n", ":6:", "must be a non-empty string"},
      {"  dependson: [db]\n", ":6:", "dependsOn"},
  };
  for (const auto& c : cases) {
    Diagnostics diags;
    EXPECT_FALSE(ParsePin(PinWith(c.extra), path, diags).has_value()) << c.extra;
    EXPECT_TRUE(HasDiagnostic(diags, path + c.line, c.fragment)) << c.extra;
  }
}

TEST(PinDependsOnTest, AnEmptyListIsNoDependency) {
  Diagnostics diags;
  auto pin = ParsePin(PinWith("  dependsOn: []\n"), "environments/dev/apps/api.yaml", diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_TRUE(pin->deploy.depends_on.empty());
}

// validate: the whole environment, problems at the line of the entry at fault.
TEST(ValidateAppOrderTest, CyclesAndMissingAppsAreReportedAtPathAndLine) {
  std::map<std::string, std::string> files = {
      {"sluice.yaml", "pipeline: [dev]\n"},
      {"environments/dev/environment.yaml", "{}\n"},
      {"environments/dev/apps/api.yaml", PinWith("  dependsOn: [migrate]\n")},
      {"environments/dev/apps/migrate.yaml", PinWith("  dependsOn:\n    - cache\n    - api\n")},
      {"environments/dev/apps/cache.yaml", PinWith("")},
      {"environments/dev/apps/web.yaml", PinWith("  dependsOn: [api, sessions]\n")},
      // A pin with errors of its own still counts as an app of the environment.
      {"environments/dev/apps/worker.yaml", "artifact: {image: r/w}\n"},
      {"environments/dev/apps/jobs.yaml", PinWith("  dependsOn: [worker]\n")},
  };
  FileReader read = [&](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return Status::NotFound(path);
    return it->second;
  };
  DirLister list = [&](const std::string& dir) -> Result<std::vector<std::string>> {
    std::set<std::string> names;
    for (const auto& [path, content] : files) {
      if (path.rfind(dir + "/", 0) != 0) continue;
      std::string rest = path.substr(dir.size() + 1);
      names.insert(rest.substr(0, rest.find('/')));
    }
    if (names.empty()) return Status::NotFound(dir);
    return std::vector<std::string>(names.begin(), names.end());
  };
  ValidationReport r = ValidateRepository(read, list);
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/dev/apps/api.yaml:6: ",
                            "deploy.dependsOn makes a cycle: api -> migrate -> api"));
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/dev/apps/web.yaml:6: ",
                            "names 'sessions', which is not an app of dev"));
  size_t order_problems = 0;
  for (const auto& d : r.problems) {
    if (d.message.find("dependsOn") != std::string::npos) ++order_problems;
  }
  EXPECT_EQ(order_problems, 2u) << FormatDiagnostics(r.problems);
}

}  // namespace
}  // namespace sluice::config
