// The command line as users meet it: help, exit codes, init, validate, the
// daemon, and a repository served over smart HTTP.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
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

TEST(CliTest, MissingRepoIsAUsageError) {
  const std::vector<std::vector<std::string>> commands = {
      {"reconcile", "--once"}, {"status"}, {"plan"}, {"audit"}, {"history", "dev", "api"}};
  for (const auto& args : commands) {
    CommandOutput r = Sluice(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_NE(r.err.find("--repo is required"), std::string::npos) << args[0] << ": " << r.err;
  }
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
  // prod can be released with nothing but Git (a signed merge): no forge
  // is assumed, and the output says how to become a signer.
  EXPECT_NE(ReadFile(dir + "/environments/prod/environment.yaml").find("evidence: signed"),
            std::string::npos);
  EXPECT_NE(init.out.find("prod releases need a merge signed by a member of release-managers"),
            std::string::npos)
      << init.out;
  EXPECT_NE(init.out.find("echo \"$(git config user.email) $(cat ~/.ssh/id_ed25519.pub)\""),
            std::string::npos)
      << init.out;
  // Never overwrites without --force.
  CommandOutput again = Sluice({"init", dir});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--force"), std::string::npos);
}

// A newcomer points the controller at their working clone: refused up
// front (exit 2) with what to run instead, before any pass starts and
// records an error per app; read-only commands take the clone.
TEST(CliTest, AWorkingCloneAsTheControllersRepoIsRefusedWithWhatToDo) {
  TempDir tmp;
  const std::string dir = tmp.Sub("envs");
  ASSERT_EQ(Sluice({"init", dir}).exit_code, 0);
  Git(dir, {"init", "-q", "-b", "main"});
  Git(dir, {"add", "-A"});
  Git(dir, {"commit", "-q", "-m", "Start environments"});
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"reconcile", "--once"}, std::vector<std::string>{"controller"}}) {
    std::vector<std::string> args = cmd;
    args.insert(args.end(), {"--repo", dir, "--workdir", tmp.Sub("wd")});
    CommandOutput r = Sluice(args);
    EXPECT_EQ(r.exit_code, 2) << cmd[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("is a working clone"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("git clone --bare " + dir + " " + dir + ".git"), std::string::npos)
        << r.err;
  }
  CommandOutput status = Sluice({"status", "--repo", dir, "--workdir", tmp.Sub("wd2")});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  // ...and say that its record is the clone's copy, with the fetch that
  // brings it up to date.
  EXPECT_NE(status.err.find("reading the record from the working clone " + dir), std::string::npos)
      << status.err;
  EXPECT_NE(status.err.find("git fetch origin 'refs/notes/*:refs/notes/*'"), std::string::npos)
      << status.err;
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

// The README's exit-code table, row by row: the command ("validate") and, for
// each of the codes 0..4, whether the README says it can happen.
std::map<std::string, std::set<int>> ReadmeExitCodes() {
  std::istringstream in(ReadFile(std::string(SLUICE_SOURCE_DIR) + "/README.md"));
  std::map<std::string, std::set<int>> table;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| command | 0 | 1 | 2 | 3 | 4 |", 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside || line.rfind("|---", 0) == 0) continue;
    if (line.rfind("| `sluice ", 0) != 0) break;  // the end of the table
    std::vector<std::string> cells;
    std::istringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) {
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
    }
    EXPECT_EQ(cells.size(), 6u) << "README exit-code row: " << line;
    if (cells.size() != 6) continue;
    std::string command = cells[0].substr(std::string("`sluice ").size());
    command = command.substr(0, command.find_first_of(" `"));
    for (int code = 0; code <= 4; ++code) {
      if (cells[code + 1] != "—") table[command].insert(code);
    }
  }
  return table;
}

// Every cell of the README's exit-code table, run against the binary: each
// code a command lists is produced by a real case, and each case the test
// knows is listed (so the table says neither more nor less than the binary).
TEST(CliTest, ReadmeExitCodeTableHoldsForEveryCommand) {
  const std::map<std::string, std::set<int>> readme = ReadmeExitCodes();
  ASSERT_FALSE(readme.empty()) << "no exit-code table in README.md";
  std::map<std::string, std::set<int>> seen;
  auto expect = [&](const std::string& command, int code, const CommandOutput& r) {
    EXPECT_EQ(r.exit_code, code) << "sluice " << command << " (README: " << code << ")\n"
                                 << r.out << r.err;
    seen[command].insert(code);
  };
  TempDir tmp;
  const std::string unreachable = "git://127.0.0.1:1/nothing.git";
  const std::string off = "--log-level=off";

  // dev: releases need nothing, rollbacks one signed approval from on-call
  // (the first version of the policy, trusted as it lands).
  EnvRepoFixture f(
      {{"sluice.yaml",
        "pipeline: [dev, prod]\ngroups:\n  release-managers: [alice@example.com]\n"
        "  on-call: [carol@example.com]\n"},
       {"environments/dev/environment.yaml",
        "rollback:\n  approval:\n    required: 1\n    from: [on-call]\n    evidence: signed\n"}});

  // validate
  const std::string init_dir = tmp.Sub("envs");
  ASSERT_EQ(Sluice({"init", init_dir}).exit_code, 0);
  expect("validate", 0, Sluice({"validate", "--repo", init_dir}));
  expect("validate", 2, Sluice({"validate", "--repo", init_dir, "--bogus"}));
  WriteFile(init_dir + "/environments/dev/apps/api.yaml", "artifact: {}\n");
  expect("validate", 1, Sluice({"validate", "--repo", init_dir}));

  // status and history: shown whatever the state; fetch errors; no --repo.
  expect("status", 0, f.Sluice({"status", off}));
  expect("status", 1, Sluice({"status", "--repo", unreachable, "--workdir", tmp.Sub("w1"), off}));
  expect("status", 2, Sluice({"status", off}));
  expect("history", 0, f.Sluice({"history", "dev", "api", off}));
  expect("history", 1,
         Sluice({"history", "dev", "api", "--repo", unreachable, "--workdir", tmp.Sub("w2"), off}));
  expect("history", 2, Sluice({"history", "dev", "api", off}));

  // plan: nothing pending; a prod pin pushed without approval blocks.
  expect("plan", 0, f.Sluice({"plan", off}));
  expect("plan", 2, f.Sluice({"plan", "--at", "tomorrow", off}));
  expect("plan", 1, Sluice({"plan", "--repo", unreachable, "--workdir", tmp.Sub("w3"), off}));

  // reconcile: dev/api 1.0.0 verified; then 2.0.0 failing its check.
  std::string good = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}}, "api 1.0.0");
  expect("reconcile", 0, f.Sluice({"reconcile", "--once", off}));
  f.CommitAndPush({{"environments/dev/apps/api.yaml",
                    f.PinYaml(Digest('b'), "2.0.0") +
                        "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", "
                        "retries: 0}\n"}},
                  "api 2.0.0 (its check cannot pass)");
  expect("reconcile", 1, f.Sluice({"reconcile", "--once", off}));
  expect("reconcile", 2, Sluice({"reconcile", "--once", off}));

  // promote (in the working clone): prod has no pin yet: refused; with one,
  // dev's verified 1.0.0 is promoted onto a branch.
  auto promote = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"promote",
                                     "api",
                                     "--from",
                                     "dev",
                                     "--to",
                                     "prod",
                                     "--workdir",
                                     f.workdir + "-promote",
                                     "--controller-keys",
                                     f.workdir + "/controller-key.pub",
                                     off};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Sluice(argv);
  };
  expect("promote", 3, promote({"--repo", f.work}));
  expect("promote", 2, promote({"--repo", f.url}));
  expect("promote", 1, promote({"--repo", tmp.Sub("not-a-clone")}));
  f.CommitAndPush({{"environments/prod/apps/api.yaml", f.PinYaml(Digest('c'), "0.9.0")}},
                  "prod api 0.9.0, pushed straight");
  expect("promote", 0, promote({"--repo", f.work}));
  // The prod pin pushed without approval blocks; plan says so.
  expect("plan", 3, f.Sluice({"plan", "--env", "prod", off}));

  // rollback of dev/api to 1.0.0: an unsigned push could never meet dev's
  // rule: refused; onto a branch of its own: committed; merged by hand, it
  // is there already: nothing to do. web was never verified: an error.
  expect("rollback", 3, f.Sluice({"rollback", "dev", "api", "--push", off}));
  expect("rollback", 0, f.Sluice({"rollback", "dev", "api", off}));
  Git(f.work, {"fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*"});
  std::string branch = Git(f.work, {"for-each-ref", "--format=%(refname)",
                                    "refs/remotes/origin/sluice/rollback-dev-api-*"})
                           .out;
  branch = branch.substr(0, branch.find('\n'));
  ASSERT_FALSE(branch.empty());
  Git(f.work, {"checkout", "-q", "main"});  // promote may have left its branch checked out
  Git(f.work, {"merge", "-q", "--ff-only", branch});
  Git(f.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  CommandOutput nothing = f.Sluice({"rollback", "dev", "api", "--push", off});
  expect("rollback", 0, nothing);
  EXPECT_NE(nothing.out.find("nothing to do"), std::string::npos) << nothing.out << nothing.err;
  expect("rollback", 1, f.Sluice({"rollback", "dev", "web", off}));
  expect("rollback", 2, Sluice({"rollback", "dev", "api", off}));

  // plan: a change that waits for its window (its own repository: a window
  // on dev would hold up everything above).
  const std::map<std::string, std::optional<std::string>> windowed = {
      {"environments/dev/environment.yaml",
       "windows:\n  timezone: UTC\n  allow:\n    - {hours: \"10:00-11:00\"}\n"}};
  EnvRepoFixture g(windowed);
  g.CommitAndPush({{"environments/dev/apps/api.yaml", g.PinYaml(Digest('a'))}}, "api");
  expect("plan", 4, g.Sluice({"plan", "--env", "dev", "--at", "2026-11-24T12:00:00Z", off}));

  // status --exit-code: a change not evaluated yet waits (4); the prod pin
  // pushed without approval, once the controller judged it, blocks (3).
  expect("status", 4, g.Sluice({"status", "--env", "dev", "--exit-code", off}));
  f.Sluice({"reconcile", "--once", off});
  expect("status", 3, f.Sluice({"status", "--env", "prod", "--exit-code", off}));

  for (const auto& [command, codes] : readme) {
    for (int code : codes) {
      EXPECT_TRUE(seen[command].count(code))
          << "README lists exit " << code << " for sluice " << command
          << " but this test has no case producing it";
    }
  }
  for (const auto& [command, codes] : seen) {
    auto it = readme.find(command);
    for (int code : codes) {
      EXPECT_TRUE(it != readme.end() && it->second.count(code))
          << "sluice " << command << " exits " << code << " but the README's table does not say so";
    }
  }
}

// README: a clone shows the record once it fetched the notes, with the
// command or the configuration line the README gives.
TEST(CliTest, AClonedRepositoryShowsTheRecordAfterFetchingTheNotes) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api");
  f.Reconcile();
  TempDir tmp;
  const std::string clone = tmp.Sub("clone");
  Git(tmp.path(), {"clone", "-q", f.url, clone});
  EXPECT_EQ(Git(clone, {"log", "--notes=sluice", "-1"}).out.find("Notes (sluice)"),
            std::string::npos)
      << "a clone does not fetch notes by itself";
  Git(clone, {"fetch", "-q", "origin", "refs/notes/*:refs/notes/*"});
  EXPECT_NE(Git(clone, {"log", "--notes=sluice", "-1"}).out.find("Notes (sluice)"),
            std::string::npos);

  const std::string other = tmp.Sub("other");
  Git(tmp.path(), {"clone", "-q", f.url, other});
  Git(other, {"config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*"});
  Git(other, {"fetch", "-q"});
  EXPECT_NE(Git(other, {"log", "--notes=sluice", "-1"}).out.find("Notes (sluice)"),
            std::string::npos);
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
