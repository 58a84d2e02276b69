// deploy.strategy (SPEC 1.4): canary steps and blue-green, and their
// validate errors at path:line with the fix named.
#include <gtest/gtest.h>

#include "config/pin.h"
#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;
using testing::kDigest;

const std::string kPath = "environments/prod/apps/api.yaml";

// A pin whose deploy block starts with `strategy` (line 6 is its first line).
std::string PinWith(const std::string& strategy, const std::string& adapter = "exec") {
  std::string block = adapter == "exec"   ? "  exec:\n    command: [deploy.sh]\n"
                      : adapter == "helm" ? "  helm: {release: api, chart: charts/api}\n"
                                          : "  terraform: {dir: infra}\n";
  return "artifact:\n  image: r/app\n  digest: " + kDigest + "\ndeploy:\n  adapter: " + adapter +
         "\n" + strategy + block;
}

TEST(StrategyParseTest, NoStrategyAppliesAllAtOnce) {
  Diagnostics diags;
  auto pin = ParsePin(PinWith(""), kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->deploy.strategy.kind, StrategyKind::kAllAtOnce);
}

TEST(StrategyParseTest, ParsesCanaryStepsWithTheirLines) {
  Diagnostics diags;
  auto pin = ParsePin(PinWith("  strategy:\n"
                              "    canary:\n"
                              "      steps:\n"
                              "        - weight: 10\n"
                              "        - pause: 5m\n"
                              "        - { weight: 50 }\n"
                              "        - { weight: 100 }\n"
                              "      weightValue: api.canaryWeight\n",
                              "helm"),
                      kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  const Strategy& s = pin->deploy.strategy;
  EXPECT_EQ(s.kind, StrategyKind::kCanary);
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_EQ(s.steps[0].weight, 10);
  EXPECT_FALSE(s.steps[0].pause.has_value());
  EXPECT_EQ(s.steps[0].line, 9);
  EXPECT_EQ(s.steps[1].pause, std::chrono::minutes(5));
  EXPECT_EQ(s.steps[2].weight, 50);
  EXPECT_EQ(s.steps[3].weight, 100);
  EXPECT_EQ(s.weight_value, "api.canaryWeight");
  EXPECT_EQ(TerraformWeightVar(s.weight_value), "api_canaryWeight");
}

TEST(StrategyParseTest, WeightValueDefaultsToCanaryWeight) {
  for (const char* adapter : {"exec", "helm", "terraform"}) {
    Diagnostics diags;
    auto pin = ParsePin(PinWith("  strategy: {canary: {steps: [{weight: 100}]}}\n", adapter), kPath,
                        diags);
    ASSERT_TRUE(pin.has_value()) << adapter << FormatDiagnostics(diags);
    EXPECT_EQ(pin->deploy.strategy.weight_value, "canary.weight");
    EXPECT_EQ(TerraformWeightVar(pin->deploy.strategy.weight_value), "canary_weight");
  }
}

TEST(StrategyParseTest, ParsesBlueGreen) {
  Diagnostics diags;
  auto pin = ParsePin(PinWith("  strategy:\n    blueGreen: {}\n"), kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->deploy.strategy.kind, StrategyKind::kBlueGreen);
  diags.clear();
  pin = ParsePin(PinWith("  strategy:\n    blueGreen:\n"), kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->deploy.strategy.kind, StrategyKind::kBlueGreen);
}

TEST(StrategyParseTest, BadStrategiesAreErrorsAtTheirLineNamingTheFix) {
  struct Case {
    std::string strategy;
    std::string line;
    std::string fragment;
    std::string adapter = "exec";
  } cases[] = {
      {"  strategy: {rolling: {}}\n", ":6:", "rolling"},
      {"  strategy:\n    canary: {steps: [{weight: 100}], weigth: x}\n", ":7:", "weigth"},
      {"  strategy:\n    canary: {steps: [{weight: 100}]}\n    blueGreen: {}\n",
       ":8:", "has both canary and blueGreen; a release takes one of them"},
      {"  strategy: {}\n", ":6:", "names no strategy"},
      {"  strategy:\n    canary: {}\n", ":7:", "deploy.strategy.canary.steps is required"},
      {"  strategy:\n    canary: {steps: []}\n", ":7:", "must be a list of { weight: N }"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 0\n        - weight: 100\n",
       ":9:", "deploy.strategy.canary.steps[0].weight must be a whole number from 1 to 100"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: ten\n",
       ":9:", "must be a whole number from 1 to 100, got 'ten'"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 12.5\n",
       ":9:", "whole number from 1 to 100"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 150\n",
       ":9:", "whole number from 1 to 100"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 50\n        - weight: 20\n"
       "        - weight: 100\n",
       ":10:",
       "steps[1].weight 20 is not more than the weight before it (50); weights must increase"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 10\n        - weight: 50\n",
       ":10:",
       "ends at weight 50, so the release would never take all traffic; end the steps with "
       "{ weight: 100 }"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 10\n        - pause: soon\n"
       "        - weight: 100\n",
       ":10:", "steps[1].pause"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 10\n        - pause: 0s\n"
       "        - weight: 100\n",
       ":10:", "must be longer than 0"},
      {"  strategy:\n    canary:\n      steps:\n        - pause: 5m\n        - weight: 100\n",
       ":9:", "pauses before any weight step"},
      {"  strategy:\n    canary:\n      steps:\n        - weight: 100\n        - pause: 5m\n",
       ":10:", "ends with a pause after weight 100"},
      {"  strategy:\n    canary:\n      steps:\n        - {weight: 10, pause: 5m}\n",
       ":9:", "has both weight and pause; give each step one of"},
      {"  strategy:\n    canary:\n      steps:\n        - {}\n", ":9:", "steps[0] is empty"},
      {"  strategy:\n    canary:\n      steps:\n        - {wieght: 10}\n", ":9:", "wieght"},
      {"  strategy:\n    canary:\n      steps: [{weight: 100}]\n      weightValue: \"a b\"\n",
       ":9:", "weightValue 'a b' is not a value path"},
      {"  strategy:\n    blueGreen: {slots: 2}\n", ":7:", "slots"},
      {"  strategy:\n    blueGreen: {}\n", ":6:", "blueGreen needs the exec adapter", "helm"},
  };
  for (const auto& c : cases) {
    Diagnostics diags;
    EXPECT_FALSE(ParsePin(PinWith(c.strategy, c.adapter), kPath, diags).has_value()) << c.strategy;
    EXPECT_TRUE(HasDiagnostic(diags, kPath + c.line, c.fragment)) << c.strategy << "\n"
                                                                  << FormatDiagnostics(diags);
  }
}

}  // namespace
}  // namespace sluice::config
