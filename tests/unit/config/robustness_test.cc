// Malformed, hostile and random inputs must produce diagnostics, never a
// crash, an exception or a silent success.

#include <gtest/gtest.h>

#include <random>

#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "config_test_util.h"

namespace sluice::config {
namespace {

// Runs all three parsers; returns whether each reported at least one
// problem when it failed.
void ParseAll(const std::string& text) {
  Diagnostics diags;
  bool pin = ParsePin(text, "environments/prod/apps/api.yaml", diags).has_value();
  EXPECT_TRUE(pin || !diags.empty());
  diags.clear();
  bool policy =
      ParseEnvironmentPolicy(text, "environments/prod/environment.yaml", diags).has_value();
  EXPECT_TRUE(policy || !diags.empty());
  diags.clear();
  bool settings = ParseRepoSettings(text, "sluice.yaml", diags).has_value();
  EXPECT_TRUE(settings || !diags.empty());
  for (const auto& d : diags) EXPECT_GE(d.line, 0);
}

TEST(RobustnessTest, HostileDocumentsProduceDiagnostics) {
  const std::string inputs[] = {
      "just a scalar",
      // yaml-cpp 0.7's LoadAll never advances past a top-level ',' (unbounded memory).
      ",",
      ", a: b\n",
      "# comment\n  ,\n",
      "--- a\n--- ,\n",
      "42",
      "- a\n- b\n",
      "[1, 2, 3]",
      "~",
      "null",
      "\"\"",
      "{",
      "]",
      ": :",
      "? [a, b]\n: c\n",
      "{[a]: b}",
      "a: &x [1]\nb: *x\n",
      "a: *undefined\n",
      "<<: {pipeline: [a]}\n",
      "pipeline: [a]\npipeline: [b, b]\n",
      "artifact: 1\ndeploy: 2\nverification: 3\n",
      "artifact: []\ndeploy: []\nverification: []\n",
      "artifact: {image: {}, digest: {}}\ndeploy: {adapter: {}, helm: [], exec: 1}\n",
      "deploy: {adapter: exec, exec: {command: [[], {}, ~]}}\n",
      "deploy: {adapter: terraform, terraform: {dir: x, vars: {a: [1], '': 2, b: ~}}}\n",
      "approval: {required: 1e99, from: {}}\ngates: {custom: [1, [], {command: x}]}\n",
      "approval: {required: 99999999999999999999999999999999999999}\n",
      "gates: {soak: 99999999999d99999999999d99999999999d}\n",
      "gates: {rollbackTarget: []}\nwindows: {allow: {}}\nfreezes: {}\n",
      "windows: {allow: [1, [], {days: {}, hours: []}, {days: [[]]}]}\n",
      "windows: {allow: [{hours: '-'}, {hours: ':-:'}, {hours: '99999999999:00-1:00'}]}\n",
      "freezes: [{from: 9999-99-99, to: 0000-00-00}, {calendar: ~}, 3]\n",
      "verification: {checks: {http: {}}}\n",
      "verification: {checks: [{http: 1}, {prometheus: []}, 5, ~]}\n",
      "pipeline: [[dev], {a: b}, ~, '']\ngroups: [a]\nsigners: {}\nforge: 1\nnotify: {}\n",
      "notify: [{slack: 1}, {webhook: []}, {slack: {}, webhook: {}}]\n",
      "\t\tpipeline: [a]\n",
      "%YAML 1.2\n---\npipeline: [a]\n",
      "--- !!map\n? a\n",
      "!!binary aGVsbG8=",
      "a: !custom-tag value\n",
      "\xef\xbb\xbfpipeline: [dev]\n",
      "\xff\xfe\x00\x01garbage",
      std::string("pipeline: [a\0b]\n", 16),
      std::string(100000, '['),
      std::string(100000, '{'),
      std::string(5000, '-') + "\n",
      "a:\n" + std::string(3000, ' ') + "b: c\n",
  };
  for (const auto& text : inputs) {
    SCOPED_TRACE(text.substr(0, 80));
    ParseAll(text);
  }
}

TEST(RobustnessTest, DeeplyNestedListsDoNotOverflowTheStack) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "- ";
  deep += "x\n";
  ParseAll(deep);
  ParseAll("artifact:\n  image: " + std::string(5000, '[') + "\n");
}

TEST(RobustnessTest, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:-[]{},'\"!&*?|>#%@` \n\t.\\/";
  for (int round = 0; round < 300; ++round) {
    std::string text;
    size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) {
      text += (round % 3 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    SCOPED_TRACE(round);
    ParseAll(text);
  }
}

TEST(RobustnessTest, MutatedValidPinsNeverCrash) {
  const std::string base =
      "artifact:\n  image: r/api\n  digest: " + testing::kDigest +
      "\ndeploy:\n  adapter: helm\n  helm: {release: api, chart: c, values: [v.yaml]}\n"
      "verification: {checks: [{http: {url: http://x}}]}\n";
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    std::string text = base;
    for (int k = 0; k < 3; ++k) {
      size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.erase(pos, 1 + rng() % 5);
          break;
        case 1:
          text.insert(pos, 1, "{}[]:-,\n '\"&*"[rng() % 14]);
          break;
        default:
          text[pos] = static_cast<char>(rng() % 128);
          break;
      }
      if (text.empty()) text = "x";
    }
    SCOPED_TRACE(text);
    ParseAll(text);
  }
}

}  // namespace
}  // namespace sluice::config
