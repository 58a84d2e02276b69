#include "config/controller_secrets.h"

#include <gtest/gtest.h>

#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;

// Parses every top-level secret key of `yaml` as the controller's --config
// reader does.
SecretSettings ParseAll(const std::string& yaml, Diagnostics& diags) {
  SecretSettings out;
  YAML::Node root = YAML::Load(yaml);
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    if (IsSecretSettingsKey(key))
      ParseSecretSettingsKey("c.yaml", key, kv.first, kv.second, out, diags);
  }
  return out;
}

TEST(ControllerSecretsParseTest, ReadsForgeNotifyTargetsAndGitCredentials) {
  Diagnostics diags;
  SecretSettings s = ParseAll(R"(repo: git://example/x
forge: { type: gitlab, api: https://gitlab.example.com/api/v4, repo: shop/environments,
         tokenFile: /etc/sluice/token }
notify:
  team-slack: { slackWebhookFile: /etc/sluice/slack-url }
  audit-hook: { url: https://hooks.example.com/sluice, secretFile: /etc/sluice/hook-secret }
gitUsername: sluice-bot
gitPasswordFile: /etc/sluice/git-password
)",
                              diags);
  ASSERT_TRUE(diags.empty()) << FormatDiagnostics(diags);
  ASSERT_TRUE(s.forge.has_value());
  EXPECT_EQ(s.forge->type, "gitlab");
  EXPECT_EQ(s.forge->api, "https://gitlab.example.com/api/v4");
  EXPECT_EQ(s.forge->repo, "shop/environments");
  EXPECT_EQ(s.forge->token_file, "/etc/sluice/token");
  ASSERT_EQ(s.notify.size(), 2u);
  EXPECT_EQ(s.notify[0].name, "team-slack");
  EXPECT_EQ(s.notify[0].kind, "slack");
  EXPECT_EQ(s.notify[0].url_file, "/etc/sluice/slack-url");
  EXPECT_EQ(s.notify[0].origin, "c.yaml:5");
  EXPECT_EQ(s.notify[1].name, "audit-hook");
  EXPECT_EQ(s.notify[1].kind, "webhook");
  EXPECT_EQ(s.notify[1].url, "https://hooks.example.com/sluice");
  EXPECT_EQ(s.notify[1].secret_file, "/etc/sluice/hook-secret");
  EXPECT_EQ(s.git_username, "sluice-bot");
  EXPECT_EQ(s.git_password_file, "/etc/sluice/git-password");
  EXPECT_FALSE(IsSecretSettingsKey("repo"));
}

TEST(ControllerSecretsParseTest, ForgeApiDefaultsByType) {
  Diagnostics diags;
  SecretSettings s = ParseAll("forge: {type: github, repo: a/b}\n", diags);
  ASSERT_TRUE(diags.empty()) << FormatDiagnostics(diags);
  EXPECT_EQ(s.forge->api, "https://api.github.com");
}

TEST(ControllerSecretsParseTest, ForgeStatusesAreOnByDefaultAndCanBeTurnedOff) {
  Diagnostics diags;
  SecretSettings s = ParseAll("forge: {type: github, repo: a/b}\n", diags);
  ASSERT_TRUE(diags.empty()) << FormatDiagnostics(diags);
  EXPECT_TRUE(s.forge->statuses);
  EXPECT_EQ(s.forge->dashboard_url, "");
  s = ParseAll(
      "forge: {type: github, repo: a/b, statuses: false, dashboardUrl: https://sluice.example/}\n",
      diags);
  ASSERT_TRUE(diags.empty()) << FormatDiagnostics(diags);
  EXPECT_FALSE(s.forge->statuses);
  EXPECT_EQ(s.forge->dashboard_url, "https://sluice.example/");
  s = ParseAll("forge:\n  type: github\n  repo: a/b\n  statuses: maybe\n  dashboardUrl: sluice\n",
               diags);
  EXPECT_FALSE(s.forge.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:4: ", "statuses")) << FormatDiagnostics(diags);
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:5: ", "dashboardUrl must be an http"))
      << FormatDiagnostics(diags);
}

TEST(ControllerSecretsParseTest, ProblemsNameTheLineAndTheFix) {
  Diagnostics diags;
  SecretSettings s = ParseAll(R"(forge: {type: gitea, repo: nope}
notify:
  a: {}
  b: {url: ftp://x}
  c: {slackWebhookFile: /f, url: https://x.example.com}
  Bad Name: {url: https://x.example.com}
gitUsername: [a, b]
)",
                              diags);
  EXPECT_FALSE(s.forge.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:1: ", "forge.type")) << FormatDiagnostics(diags);
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:1: ", "owner/name")) << FormatDiagnostics(diags);
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:3: ", "notify.a names no target"));
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:4: ", "http:// or https://"));
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:5: ", "both slackWebhookFile and url"));
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:6: ", "is not valid"));
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:7: ", "gitUsername must be a single value"));
  EXPECT_TRUE(s.notify.empty());
}

TEST(ControllerSecretsParseTest, NotifyMustBeAMapOfNamedTargets) {
  Diagnostics diags;
  SecretSettings s = ParseAll("notify:\n  - {slackWebhookFile: /f}\n", diags);
  EXPECT_TRUE(HasDiagnostic(diags, "c.yaml:2: ", "notify must map target names"))
      << FormatDiagnostics(diags);
}

}  // namespace
}  // namespace sluice::config
