// The command line as users meet it: help, exit codes, init, validate, the
// daemon, and a repository served over smart HTTP.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "env_repo_fixture.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

CommandOutput Sluice(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

TEST(CliTest, EveryCommandHasHelp) {
  for (const char* cmd : {"init", "validate", "reconcile", "controller", "status", "version"}) {
    CommandOutput r = Sluice({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    if (std::string(cmd) != "version") {
      EXPECT_NE(r.out.find("Example"), std::string::npos)
          << cmd << " --help should teach with an example:\n"
          << r.out;
    }
  }
  CommandOutput top = Sluice({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("Exit codes"), std::string::npos);
}

TEST(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Sluice({}).exit_code, 2);
  EXPECT_EQ(Sluice({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(Sluice({"status", "--format", "yaml"}).exit_code, 2);
  EXPECT_EQ(Sluice({"reconcile", "--bogus"}).exit_code, 2);
}

TEST(CliTest, MissingRepoIsAClearError) {
  CommandOutput r = Sluice({"reconcile", "--once"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--repo is required"), std::string::npos) << r.err;
}

TEST(CliTest, UnreachableRepoExitsOneAndNamesIt) {
  TempDir tmp;
  CommandOutput r = Sluice({"reconcile", "--once", "--repo", "git://127.0.0.1:1/nothing.git",
                            "--workdir", tmp.Sub("w"), "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
}

TEST(CliTest, VersionPrintsTheVersion) {
  CommandOutput r = Sluice({"version", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["version"].get<std::string>().empty());
}

TEST(CliTest, InitWritesALayoutThatValidates) {
  TempDir tmp;
  std::string dir = tmp.Sub("envs");
  CommandOutput init = Sluice({"init", dir});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(fs::exists(dir + "/sluice.yaml"));
  EXPECT_TRUE(fs::exists(dir + "/environments/prod/environment.yaml"));
  CommandOutput v = Sluice({"validate", "--repo", dir});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  // Never overwrites without --force.
  CommandOutput again = Sluice({"init", dir});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--force"), std::string::npos);
}

TEST(CliTest, WorkedExampleValidates) {
  CommandOutput v =
      Sluice({"validate", "--repo", std::string(SLUICE_SOURCE_DIR) + "/environments"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("6 pins"), std::string::npos) << v.out;
}

TEST(CliTest, ValidateReportsEveryProblemAsPathLine) {
  TempDir tmp;
  std::string dir = tmp.Sub("envs");
  ASSERT_EQ(Sluice({"init", dir}).exit_code, 0);
  WriteFile(dir + "/environments/dev/apps/api.yaml",
            "artifact:\n  image: registry.example.com/api\n  digest: latest\ndeploy:\n"
            "  adapter: exec\n  exec: {command: [../outside.sh]}\n");
  WriteFile(dir + "/environments/dev/environment.yaml", "gatez: {}\n");
  CommandOutput v = Sluice({"validate", "--repo", dir});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("environments/dev/apps/api.yaml:3:"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("environments/dev/apps/api.yaml:6:"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("environments/dev/environment.yaml:1:"), std::string::npos) << v.out;
  CommandOutput j = Sluice({"validate", "--repo", dir, "--format", "json"});
  auto report = nlohmann::json::parse(j.out);
  EXPECT_FALSE(report["ok"].get<bool>());
  EXPECT_GE(report["problems"].size(), 3u);
}

// docs/adapters.md "exec": command[0] naming a repository path must be an
// executable file of the commit, and an unknown placeholder is an error; both
// used to pass validate and fail only at apply.
TEST(CliTest, ValidateReportsAMissingExecScriptAndAnUnknownPlaceholder) {
  TempDir tmp;
  std::string dir = tmp.Sub("envs");
  ASSERT_EQ(Sluice({"init", dir}).exit_code, 0);
  const std::string artifact =
      "artifact:\n  image: registry.example.com/api\n  digest: " + Digest('a') +
      "\ndeploy:\n  adapter: exec\n  exec:\n";
  WriteFile(dir + "/environments/dev/apps/api.yaml",
            artifact + "    command:\n      - scripts/deploy.sh\n      - \"{{dgest}}\"\n");
  WriteFile(dir + "/environments/dev/apps/web.yaml",
            artifact + "    command:\n      - scripts/plain.sh\n      - \"{{ digest }}\"\n");
  WriteFile(dir + "/scripts/plain.sh", "#!/bin/sh\n");
  fs::permissions(dir + "/scripts/plain.sh", fs::perms::owner_read | fs::perms::owner_write);
  CommandOutput v = Sluice({"validate", "--repo", dir});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  // The unknown placeholder, on its line, with the fix.
  EXPECT_NE(v.out.find("environments/dev/apps/api.yaml:9: deploy.exec.command[1] uses the unknown "
                       "placeholder {{dgest}}; did you mean {{digest}}?"),
            std::string::npos)
      << v.out;
  // Only the pin with a bad placeholder failed to parse; the other one is
  // parsed, and its script is checked: present but not executable.
  EXPECT_NE(v.out.find("environments/dev/apps/web.yaml:8: deploy.exec.command[0] "
                       "'scripts/plain.sh' is not executable"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("update-index --chmod=+x scripts/plain.sh"), std::string::npos) << v.out;

  // Fix the placeholder: now api's script is reported as missing.
  WriteFile(dir + "/environments/dev/apps/api.yaml",
            artifact + "    command:\n      - scripts/deploy.sh\n      - \"{{digest}}\"\n");
  v = Sluice({"validate", "--repo", dir});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("environments/dev/apps/api.yaml:8: deploy.exec.command[0] "
                       "'scripts/deploy.sh' does not exist in the repository; add the script"),
            std::string::npos)
      << v.out;

  // Both fixed: validate passes.
  WriteFile(dir + "/scripts/deploy.sh", "#!/bin/sh\n");
  fs::permissions(dir + "/scripts/deploy.sh", fs::perms::owner_all);
  fs::permissions(dir + "/scripts/plain.sh", fs::perms::owner_all);
  v = Sluice({"validate", "--repo", dir});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// The same check on a repository URL reads the mode Git recorded.
TEST(CliTest, ValidateOverGitReportsAScriptCommittedWithoutTheExecuteBit) {
  EnvRepoFixture f;
  const std::string pin = "artifact:\n  image: registry.example.com/api\n  digest: " + Digest('a') +
                          "\ndeploy:\n  adapter: exec\n  exec:\n    command: [scripts/plain.sh]\n";
  f.CommitAndPush({{"scripts/plain.sh", "#!/bin/sh\n"}, {"environments/dev/apps/api.yaml", pin}},
                  "Pin api");
  CommandOutput v = f.Sluice({"validate"});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_NE(v.out.find("environments/dev/apps/api.yaml:7: deploy.exec.command[0] "
                       "'scripts/plain.sh' is not executable in the commit"),
            std::string::npos)
      << v.out;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "Use deploy.sh");
  v = f.Sluice({"validate"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST(CliTest, ControllerAppliesAPushedPinWithinOneIntervalAndStopsOnSigterm) {
  EnvRepoFixture f;
  bp::ipstream err;
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir",
                       f.workdir, "--interval", "1s", "--log-level", "info", bp::std_out > bp::null,
                       bp::std_err > err);
  std::thread drain([&] {
    for (std::string line; std::getline(err, line);) {
    }
  });
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "Pin api");
  auto pushed = std::chrono::steady_clock::now();
  // Poll the remote (bounded) until the deployed ref moves.
  WaitUntil([&] { return f.RemoteRef("refs/sluice/deployed/dev/api") == commit; },
            std::chrono::seconds(30), "refs/sluice/deployed/dev/api to move to the pushed commit");
  auto elapsed = std::chrono::steady_clock::now() - pushed;
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), commit);
  // Within one poll interval (1s, plus up to 10% jitter and the pass itself).
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 5000);
  ::kill(controller.id(), SIGTERM);
  controller.wait();
  drain.join();
  EXPECT_EQ(controller.exit_code(), 0);
  EXPECT_EQ(f.Deploys().size(), 1u);
}

TEST(CliTest, SecondControllerOnTheSameWorkdirIsRefused) {
  EnvRepoFixture f;
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir",
                       f.workdir, "--interval", "1h", "--log-level", "off", bp::std_out > bp::null,
                       bp::std_err > bp::null);
  // Poll (bounded) until the controller holds the lock: the lock file then
  // names its pid.
  const std::string lock = f.workdir + "/lock";
  const std::string pid = std::to_string(controller.id()) + "\n";
  WaitUntil([&] { return fs::exists(lock) && ReadFile(lock) == pid; }, std::chrono::seconds(20),
            "the controller's pid in " + lock);
  ASSERT_EQ(ReadFile(lock), pid);
  CommandOutput r = f.Sluice({"reconcile", "--once", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another sluice process"), std::string::npos) << r.err;
  ::kill(controller.id(), SIGTERM);
  controller.wait();
}

TEST(CliTest, ControllerConfigFileRejectsUnknownKeys) {
  TempDir tmp;
  WriteFile(tmp.Sub("c.yaml"), "repo: git://example/x\nintervall: 5m\n");
  CommandOutput r = Sluice({"controller", "--config", tmp.Sub("c.yaml")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("c.yaml:2: unknown key 'intervall'"), std::string::npos) << r.err;
}

TEST(CliTest, ReconcilesOverSmartHttpWithCredentials) {
  TempDir tmp;
  std::string root = tmp.Sub("srv");
  fs::create_directories(root);
  std::string state = tmp.Sub("state");
  fs::create_directories(state);
  std::string pin = "artifact:\n  image: r.example.com/api\n  digest: " + Digest('a') +
                    "\ndeploy:\n  adapter: exec\n  exec: {command: [touch, \"" + state +
                    "/{{app}}-ran\"]}\n";
  std::string commit = MakeRepoWithFiles(root, "envs.git",
                                         {{"sluice.yaml", "pipeline: [dev]\n"},
                                          {"environments/dev/environment.yaml", "{}\n"},
                                          {"environments/dev/apps/api.yaml", pin}});
  GitHttpServer http(root);
  CommandOutput r = RunCommand(
      {SLUICE_BINARY, "reconcile", "--once", "--repo", http.Url("envs.git"), "--workdir",
       tmp.Sub("w"), "--format", "json", "--log-level", "warn"},
      "", {"SLUICE_GIT_USERNAME=" + http.username(), "SLUICE_GIT_PASSWORD=" + http.password()});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << http.ErrorLog();
  EXPECT_TRUE(fs::exists(state + "/api-ran"));
  CommandOutput deployed = Git(root + "/envs.git", {"rev-parse", "refs/sluice/deployed/dev/api"});
  EXPECT_EQ(deployed.out.substr(0, 40), commit);
  EXPECT_EQ(r.err.find(http.password()), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
