// Secrets stay with the controller (SPEC 1.3 rule 5): what the process does
// with its own environment, argv and configuration. The end-to-end checks
// (/proc/$PPID/environ from a deploy script, a non-dumpable controller) are
// in tests/integration/secrets_test.cc.
#include "cli/process_secrets.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "cli/controller_config.h"
#include "core/secrets.h"
#include "support/temp_dir.h"

namespace sluice::cli {
namespace {

TEST(MaskUrlPasswordTest, StarsThePasswordKeepingTheLength) {
  EXPECT_EQ(MaskUrlPassword("http://bot:hunter22@h:8080/x.git"),
            "http://bot:********@h:8080/x.git");
  EXPECT_EQ(MaskUrlPassword("--repo=https://u:p%40ss@h/x"), "--repo=https://u:******@h/x");
  EXPECT_EQ(MaskUrlPassword("ssh://git@h/x.git"), "ssh://git@h/x.git");
  EXPECT_EQ(MaskUrlPassword("https://h/a:b@c"), "https://h/a:b@c");  // '@' in the path
  EXPECT_EQ(MaskUrlPassword("plain"), "plain");
}

TEST(MaskUrlPasswordTest, OverwritesArgvInPlace) {
  char prog[] = "sluice";
  char repo[] = "http://bot:Argv-Secret-1@h/x.git";
  char* argv[] = {prog, repo, nullptr};
  MaskUrlPasswordsInArgv(2, argv);
  EXPECT_STREQ(argv[1], "http://bot:*************@h/x.git");
}

TEST(TakeSecretsFromEnvironmentTest, RemovesAndRegistersTheControllersVariables) {
  ASSERT_EQ(::setenv("SLUICE_FORGE_TOKEN", "Forge-Token-From-Env-1\n", 1), 0);
  ASSERT_EQ(::setenv("SLUICE_GIT_USERNAME", "bot", 1), 0);
  ASSERT_EQ(::setenv("SLUICE_GIT_PASSWORD", "Git-Pass-From-Env-2", 1), 0);
  ASSERT_EQ(::setenv("SLUICE_PASS_ENV_UNRELATED", "stays", 1), 0);
  EnvironmentSecrets s = TakeSecretsFromEnvironment();
  EXPECT_EQ(s.forge_token, "Forge-Token-From-Env-1");
  EXPECT_EQ(s.git.username, "bot");
  EXPECT_EQ(s.git.password, "Git-Pass-From-Env-2");
  for (const char* name : kSecretVariables) EXPECT_EQ(std::getenv(name), nullptr) << name;
  ASSERT_NE(std::getenv("SLUICE_PASS_ENV_UNRELATED"), nullptr);
  EXPECT_STREQ(std::getenv("SLUICE_PASS_ENV_UNRELATED"), "stays");
  ::unsetenv("SLUICE_PASS_ENV_UNRELATED");
  EXPECT_EQ(RedactRegisteredSecrets("a Forge-Token-From-Env-1 b Git-Pass-From-Env-2"),
            "a *** b ***");
}

TEST(MakeUndumpableTest, ClearsTheDumpableFlag) {
  ASSERT_TRUE(MakeUndumpable().ok());
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // the rest of this binary may dump again
}

TEST(ControllerConfigSecretsTest, ReadsTheSecretKeysAndStripsARepoPassword) {
  ControllerSettings s;
  Status st = LoadControllerConfig("c.yaml",
                                   "repo: https://bot:Config-Url-Pass-3@git.example.com/e.git\n"
                                   "forge: {type: github, api: http://127.0.0.1:1, repo: s/e, "
                                   "tokenFile: /etc/sluice/forge-token}\n"
                                   "notify:\n  team: {slackWebhookFile: /etc/sluice/slack}\n"
                                   "gitUsername: bot\ngitPasswordFile: /etc/sluice/git-pw\n",
                                   s, {});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(s.common.repo, "https://bot@git.example.com/e.git");
  ASSERT_TRUE(s.secrets.forge.has_value());
  EXPECT_EQ(s.secrets.forge->api, "http://127.0.0.1:1");
  EXPECT_EQ(s.secrets.forge->token_file, "/etc/sluice/forge-token");
  ASSERT_EQ(s.secrets.notify.size(), 1u);
  EXPECT_EQ(s.secrets.notify[0].name, "team");
  EXPECT_EQ(s.secrets.git_username, "bot");
  EXPECT_EQ(s.secrets.git_password_file, "/etc/sluice/git-pw");
  EXPECT_EQ(RedactRegisteredSecrets("Config-Url-Pass-3"), "***");
}

TEST(ControllerConfigSecretsTest, ABadSecretKeyNamesTheLine) {
  ControllerSettings s;
  Status st =
      LoadControllerConfig("c.yaml", "interval: 1m\nforge: {type: gitea, repo: a/b}\n", s, {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("c.yaml:2: forge.type"), std::string::npos) << st.message();
}

TEST(LoadControllerSecretsTest, ReadsTheFilesTheConfigurationNames) {
  sluice::testing::TempDir tmp;
  sluice::testing::WriteFile(tmp.Sub("token"), "Forge-Token-File-4\nsecond line\n");
  sluice::testing::WriteFile(tmp.Sub("pw"), "Git-Pass-File-5\n");
  sluice::testing::WriteFile(tmp.Sub("secret"), "Hook-Secret-File-6\n");
  config::SecretSettings settings;
  settings.forge = config::ForgeSettings{"github", "http://127.0.0.1:1", "s/e", tmp.Sub("token")};
  settings.git_username = "bot";
  settings.git_password_file = tmp.Sub("pw");
  config::Notification hook;
  hook.name = "hook";
  hook.kind = "webhook";
  hook.url = "https://h.example.com/x";
  hook.secret_file = tmp.Sub("secret");
  settings.notify = {hook};
  auto loaded = LoadControllerSecrets(settings);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->forge_token, "Forge-Token-File-4");
  ASSERT_EQ(loaded->targets.size(), 1u);
  EXPECT_EQ(loaded->targets[0]->id, "hook");
  EXPECT_EQ(loaded->targets[0]->secret, "Hook-Secret-File-6");
  git::Credentials c = git::ProcessCredentials();
  EXPECT_EQ(c.username, "bot");
  EXPECT_EQ(c.password, "Git-Pass-File-5");
  EXPECT_EQ(RedactRegisteredSecrets("Forge-Token-File-4 Git-Pass-File-5 Hook-Secret-File-6"),
            "*** *** ***");

  // A --forge-token-file flag wins; an unreadable one names the file only.
  auto flagged = LoadControllerSecrets(settings, tmp.Sub("missing"));
  ASSERT_FALSE(flagged.ok());
  EXPECT_NE(flagged.status().message().find(tmp.Sub("missing")), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
