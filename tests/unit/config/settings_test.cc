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
forge: { type: gitlab, api: https://gitlab.example.com/api/v4, repo: shop/environments,
         tokenFile: /etc/sluice/token }
notify:
  - { slack: { webhookFile: /etc/sluice/slack-url } }
  - { webhook: { url: https://hooks.example.com/sluice, secretFile: /etc/sluice/hook-secret } }
)",
                             "sluice.yaml", diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(s->pipeline, (std::vector<std::string>{"dev", "staging", "prod"}));
  EXPECT_EQ(s->groups.size(), 3u);
  EXPECT_EQ(s->groups.at("release-managers"),
            (std::vector<std::string>{"alice", "bob@example.com"}));
  EXPECT_TRUE(s->groups.at("empty").empty());
  EXPECT_EQ(s->signers, (std::vector<std::string>{"alice@example.com ssh-ed25519 AAAA..."}));
  ASSERT_TRUE(s->forge.has_value());
  EXPECT_EQ(s->forge->type, "gitlab");
  EXPECT_EQ(s->forge->api, "https://gitlab.example.com/api/v4");
  EXPECT_EQ(s->forge->repo, "shop/environments");
  EXPECT_EQ(s->forge->token_file, "/etc/sluice/token");
  ASSERT_EQ(s->notify.size(), 2u);
  EXPECT_EQ(s->notify[0].kind, "slack");
  EXPECT_EQ(s->notify[0].url_file, "/etc/sluice/slack-url");
  EXPECT_EQ(s->notify[1].kind, "webhook");
  EXPECT_EQ(s->notify[1].url, "https://hooks.example.com/sluice");
  EXPECT_EQ(s->notify[1].secret_file, "/etc/sluice/hook-secret");
}

TEST(SettingsParseTest, OnlyPipelineIsRequired) {
  Diagnostics diags;
  auto s = ParseRepoSettings("pipeline: [prod]\n", "sluice.yaml", diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(s->pipeline, (std::vector<std::string>{"prod"}));
  EXPECT_TRUE(s->groups.empty());
  EXPECT_FALSE(s->forge.has_value());
  EXPECT_TRUE(s->notify.empty());
}

TEST(SettingsParseTest, ForgeApiDefaultsByType) {
  Diagnostics diags;
  auto s = ParseRepoSettings("pipeline: [prod]\nforge: {type: github, repo: a/b}\n", "sluice.yaml",
                             diags);
  ASSERT_TRUE(s.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(s->forge->api, "https://api.github.com");
}

TEST(SettingsParseTest, NotifyEntryNeedsExactlyOneTarget) {
  Diagnostics diags;
  auto s = ParseRepoSettings("pipeline: [prod]\nnotify:\n  - {}\n  - {webhook: {url: ftp://x}}\n",
                             "sluice.yaml", diags);
  EXPECT_FALSE(s.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, "sluice.yaml:3: ", "exactly one of: slack, webhook"));
  EXPECT_TRUE(HasDiagnostic(diags, "sluice.yaml:4: ", "http:// or https://"));
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
