// runAs (SPEC 1.3 rule 5, docs/security.md): adapters and custom gates run
// as their own unprivileged account, so that a deploy script cannot read
// what the controller's user can. The controller runs as root here (CI
// does), and drops to `nobody` for the repository's code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

TEST(RunAsTest, DeployScriptRunsAsTheRunAsUserAndCannotReadTheControllersFiles) {
  ASSERT_EQ(::geteuid(), 0u) << "this test switches users: run it as root (CI does)";
  const struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  EnvRepoFixture f;
  // What the script may write to, and a file only the controller's user may read.
  fs::permissions(f.state, fs::perms::all);
  WriteFile(f.state + "/secret", "controller-only\n");
  fs::permissions(f.state + "/secret", fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  // The test's temporary root is 0700; production workdirs live where the
  // account can enter (/var/lib/sluice).
  fs::permissions(fs::path(f.workdir).parent_path(), fs::perms::others_exec, fs::perm_options::add);
  const std::string pin =
      "artifact:\n  image: registry.example.com/shop/app\n  digest: " + Digest('a') +
      "\ndeploy:\n  adapter: exec\n  exec:\n    command: [sh, scripts/whoami.sh, "
      "\"" +
      f.state + "\"]\n";
  f.CommitAndPush({{"scripts/whoami.sh",
                    "id -u > \"$1/uid\"\necho \"$HOME\" > \"$1/home\"\n"
                    "if cat \"$1/secret\" > /dev/null 2>&1; then echo read; else echo refused; fi"
                    " > \"$1/secret-read\"\ntouch written-in-checkout\n"},
                   {"environments/dev/apps/api.yaml", pin}},
                  "whoami in dev");
  CommandOutput r = f.Sluice(
      {"reconcile", "--once", "--format", "json", "--log-level", "warn", "--run-as", "nobody"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, ::testing::HasSubstr("\"state\":\"verified\"")) << r.out << r.err;
  EXPECT_EQ(ReadFile(f.state + "/uid"), std::to_string(nobody->pw_uid) + "\n");
  EXPECT_EQ(ReadFile(f.state + "/home"), std::string(nobody->pw_dir) + "\n");
  EXPECT_EQ(ReadFile(f.state + "/secret-read"), "refused\n");
}

TEST(RunAsTest, UnknownOrRootRunAsIsAnErrorBeforeAnyPass) {
  EnvRepoFixture f;
  CommandOutput r = f.Sluice({"reconcile", "--once", "--run-as", "no-such-user-sluice"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("runAs: no user \"no-such-user-sluice\""));
  r = f.Sluice({"reconcile", "--once", "--run-as", "root"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("is root; name an unprivileged account"));
}

}  // namespace
}  // namespace sluice::testing
