#include "config/settings.h"

#include <gtest/gtest.h>

#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;

TEST(SettingsParseTest, ParsesEveryKeyOfTheSpec) {
  Diagnostics diags;
  auto s = ParseRepoSettings(R"(pipeline: [dev, staging, prod]
groups:
  release-managers: [alice, bob@example.com]
  on-call: [carol]
  empty: []
signers:
  - "alice@example.com ssh-ed25519 AAAA..."
notify:
  - { target: team-slack }
  - { target: audit-hook }
)",
                             "sluice.yaml", diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(s->pipeline, (std::vector<std::string>{"dev", "staging", "prod"}));
  EXPECT_EQ(s->groups.size(), 3u);
  EXPECT_EQ(s->groups.at("release-managers"),
            (std::vector<std::string>{"alice", "bob@example.com"}));
  EXPECT_TRUE(s->groups.at("empty").empty());
  EXPECT_EQ(s->signers, (std::vector<std::string>{"alice@example.com ssh-ed25519 AAAA..."}));
  ASSERT_EQ(s->notify.size(), 2u);
  EXPECT_EQ(s->notify[0].target, "team-slack");
  EXPECT_EQ(s->notify[0].line, 9);
  EXPECT_EQ(s->notify[1].target, "audit-hook");
  EXPECT_TRUE(s->ignored.empty()) << FormatDiagnostics(s->ignored);
}

TEST(SettingsParseTest, OnlyPipelineIsRequired) {
  Diagnostics diags;
  auto s = ParseRepoSettings("pipeline: [prod]\n", "sluice.yaml", diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(s->pipeline, (std::vector<std::string>{"prod"}));
  EXPECT_TRUE(s->groups.empty());
  EXPECT_TRUE(s->notify.empty());
  EXPECT_TRUE(s->ignored.empty());
}

// SPEC 1.3 rule 5: the repository may not name the forge, a secret file or a
// notification URL. Such keys are not errors (the rest of the file stays in
// force) but are ignored, each with a message saying where it belongs.
TEST(SettingsParseTest, ForgeInTheRepositoryIsIgnoredAndReported) {
  Diagnostics diags;
  auto s = ParseRepoSettings(
      "pipeline: [prod]\nforge: {type: github, api: https://evil.example.com, repo: a/b, "
      "tokenFile: /home/dev/.ssh/id_ed25519}\n",
      "sluice.yaml", diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  ASSERT_EQ(s->ignored.size(), 1u);
  EXPECT_EQ(s->ignored[0].line, 2);
  EXPECT_NE(s->ignored[0].message.find("forge: is ignored"), std::string::npos);
  EXPECT_NE(s->ignored[0].message.find("--config"), std::string::npos);
}

TEST(SettingsParseTest, SecretFilesInNotifyAreIgnoredAndReported) {
  Diagnostics diags;
  auto s = ParseRepoSettings(
      "pipeline: [prod]\nnotify:\n  - { slack: { webhookFile: /etc/shadow } }\n"
      "  - { webhook: { url: https://x.example.com, secretFile: /etc/sluice/hook-secret } }\n"
      "  - { target: ops }\n",
      "sluice.yaml", diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  ASSERT_EQ(s->notify.size(), 1u);
  EXPECT_EQ(s->notify[0].target, "ops");
  ASSERT_EQ(s->ignored.size(), 2u);
  EXPECT_EQ(s->ignored[0].ToString().rfind("sluice.yaml:3: notify[0]: slack: is ignored", 0), 0u)
      << s->ignored[0].ToString();
  EXPECT_EQ(s->ignored[1].ToString().rfind("sluice.yaml:4: notify[1]: webhook: is ignored", 0), 0u)
      << s->ignored[1].ToString();
  EXPECT_NE(s->ignored[1].message.find("- { target: team }"), std::string::npos);
}

TEST(SettingsParseTest, NotifyEntryNeedsATargetName) {
  Diagnostics diags;
  auto s = ParseRepoSettings("pipeline: [prod]\nnotify:\n  - {}\n  - {target: Team Chat}\n",
                             "sluice.yaml", diags);
  EXPECT_FALSE(s.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, "sluice.yaml:3: ", "target is required"))
      << FormatDiagnostics(diags);
  EXPECT_TRUE(HasDiagnostic(diags, "sluice.yaml:4: ", "is not a target name"))
      << FormatDiagnostics(diags);
}

TEST(SettingsParseTest, InvalidEnvironmentNameInPipeline) {
  Diagnostics diags;
  auto s = ParseRepoSettings("pipeline:\n  - dev\n  - Prod\n", "sluice.yaml", diags);
  EXPECT_FALSE(s.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, "sluice.yaml:3: ", "'Prod' is not a valid environment name"));
}

TEST(IsValidNameTest, FollowsTheNameRule) {
  EXPECT_TRUE(IsValidName("prod"));
  EXPECT_TRUE(IsValidName("0"));
  EXPECT_TRUE(IsValidName("eu-west.1_a"));
  EXPECT_TRUE(IsValidName(std::string(63, 'a')));
  EXPECT_FALSE(IsValidName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("-prod"));
  EXPECT_FALSE(IsValidName(".prod"));
  EXPECT_FALSE(IsValidName("Prod"));
  EXPECT_FALSE(IsValidName("a/b"));
  EXPECT_FALSE(IsValidName("a b"));
}

}  // namespace
}  // namespace sluice::config
