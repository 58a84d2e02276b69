// Hostile bytes end to end (issue 18): a deploy script that prints bytes that
// are not UTF-8 and terminal escape sequences, and a committer name that is
// not UTF-8, through the real `sluice` binary against a real git daemon.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

// Prints \377\376, a colour, a title change (OSC) and a terminal reset (ESC c)
// on both streams; exits with $1.
constexpr char kNoisyScript[] =
    "#!/bin/sh\n"
    "printf 'out \\377\\376 \\033[31mred\\033[0m\\n'\n"
    "printf 'err \\377\\376 \\033]0;pwned\\007 \\033c reset\\n' >&2\n"
    "exit \"$1\"\n";

std::string NoisyPin(const std::string& digest, int exit_code) {
  return "artifact:\n  image: registry.example.com/shop/api\n  digest: " + digest +
         "\n  version: 1.0.0\ndeploy:\n  adapter: exec\n  exec:\n    command: "
         "[scripts/noisy.sh, \"" +
         std::to_string(exit_code) + "\"]\n    timeout: 1m\n";
}

void AddNoisyScript(EnvRepoFixture& f) {
  WriteFile(f.work + "/scripts/noisy.sh", kNoisyScript);
  std::filesystem::permissions(f.work + "/scripts/noisy.sh", std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
}

bool HasControl(const std::string& s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

TEST(BytesTest, DeployOutputThatIsNotUtf8KeepsReconcileJsonValid) {
  EnvRepoFixture f;
  AddNoisyScript(f);
  f.CommitAndPush({{"environments/dev/apps/api.yaml", NoisyPin(Digest('a'), 0)}}, "Pin api");
  CommandOutput r = f.Sluice({"reconcile", "--once", "--format", "json", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  auto pass = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(pass.is_discarded()) << r.out;
  ASSERT_EQ(pass["outcomes"].size(), 1u) << r.out;
  EXPECT_EQ(pass["outcomes"][0]["state"], "verified") << r.out;
}

TEST(BytesTest, FailingNoisyDeployIsReportedWithoutEscapesAndWithValidJson) {
  EnvRepoFixture f;
  AddNoisyScript(f);
  f.CommitAndPush({{"environments/dev/apps/api.yaml", NoisyPin(Digest('b'), 3)}}, "Pin api");
  CommandOutput r = f.Sluice({"reconcile", "--once", "--format", "json", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;  // failed, and said so: not 134
  auto pass = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(pass.is_discarded()) << r.out;
  ASSERT_EQ(pass["outcomes"].size(), 1u) << r.out;
  EXPECT_EQ(pass["outcomes"][0]["state"], "failed") << r.out;

  // What a terminal shows: no escape sequence, no control character.
  CommandOutput text = f.Sluice({"reconcile", "--once", "--log-level", "off"});
  EXPECT_EQ(text.exit_code, 1) << text.err;
  EXPECT_FALSE(HasControl(text.out)) << text.out;
  CommandOutput status = f.Sluice({"status", "--log-level", "off"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("dev/api"), std::string::npos) << status.out;
  EXPECT_FALSE(HasControl(status.out)) << status.out;
  // What the dashboard shows (the same JSON as /api/v1/status).
  CommandOutput json = f.Sluice({"status", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto rows = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(rows.is_discarded()) << json.out;
  EXPECT_EQ(json.out.find("\\u001b"), std::string::npos) << json.out;
  EXPECT_EQ(json.out.find("\\u0007"), std::string::npos) << json.out;
}

TEST(BytesTest, NonUtf8CommitterNameThroughPlanJson) {
  EnvRepoFixture f;
  WriteFile(f.work + "/environments/prod/apps/api.yaml", f.PinYaml(Digest('c')));
  Git(f.work, {"add", "-A"});
  CommandOutput c = RunCommand(
      // A declared Latin-1 encoding keeps git from re-encoding the bytes.
      {"git", "-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-m", "Pin api in prod"},
      f.work,
      {"GIT_AUTHOR_NAME=Zo\xEB \xFF\xFE", "GIT_AUTHOR_EMAIL=zo\xEB@example.com",
       "GIT_COMMITTER_NAME=Zo\xEB \xFF\xFE", "GIT_COMMITTER_EMAIL=zo\xEB@example.com",
       "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  Git(f.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});

  CommandOutput r = f.Sluice({"plan", "--env", "prod", "--format", "json", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 3) << r.err << r.out;  // blocked: no approval, and no abort
  auto rows = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(rows.is_discarded()) << r.out;
  ASSERT_EQ(rows.size(), 1u) << r.out;
  // The identity reaches the output (the change's authors), its bad byte
  // replaced: the parse above rejects anything that is not UTF-8.
  EXPECT_NE(r.out.find("zo\uFFFD@example.com"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sluice::testing
