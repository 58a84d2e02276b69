// End-to-end: the real `sluice` binary reconciles an environments repository
// served by a real git daemon, deploys through the exec adapter, and writes
// the record back; the test reads the record with the git CLI.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/time_format.h"
#include "env_repo_fixture.h"
#include "support/stop_child.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

std::vector<std::string> Kinds(const std::vector<nlohmann::json>& events, const std::string& app) {
  std::vector<std::string> kinds;
  for (const auto& e : events) {
    if (e.value("app", "") == app) kinds.push_back(e.value("event", ""));
  }
  return kinds;
}

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& env,
                              const std::string& app) {
  for (const auto& o : pass["outcomes"]) {
    if (o["env"] == env && o["app"] == app) return &o;
  }
  return nullptr;
}

TEST(ReconcileTest, AppliesChangedPinThroughExecAndRecordsItInGit) {
  EnvRepoFixture f;
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "2.5.3")}},
                      "Pin api 2.5.3 in dev");

  nlohmann::json pass = f.Reconcile();
  const nlohmann::json* api = Outcome(pass, "dev", "api");
  ASSERT_NE(api, nullptr) << pass.dump();
  EXPECT_EQ((*api)["state"], "verified") << pass.dump();

  // The exec adapter ran once, in a checkout of the commit, with the digest
  // substituted into argv and exported as SLUICE_DIGEST.
  ASSERT_EQ(f.Deploys().size(), 1u);
  EXPECT_EQ(f.Deploys()[0], "dev api " + Digest('a') + " " + Digest('a') + " " + commit);

  // The record is on the remote: applying, applied, verified, in that order.
  auto events = f.RemoteEvents(commit);
  EXPECT_EQ(Kinds(events, "api"), (std::vector<std::string>{"applying", "applied", "verified"}));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1]["digest"], Digest('a'));
  EXPECT_EQ(events[1]["adapter"]["name"], "exec");
  EXPECT_EQ(events[1]["adapter"]["exitCode"], 0);
  EXPECT_EQ(events[1]["commit"], commit);
  EXPECT_FALSE(events[1]["controller"]["id"].get<std::string>().empty());
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), commit);
  EXPECT_EQ(f.RemoteRef("refs/sluice/lkg/dev/api"), commit);

  // `git log --notes=sluice` shows the record to an auditor.
  CommandOutput log = Git(f.bare, {"log", "--notes=sluice", "-1", "--format=%N", commit});
  EXPECT_NE(log.out.find("\"event\":\"verified\""), std::string::npos) << log.out;
}

TEST(ReconcileTest, SecondPassWithoutChangesDoesNothing) {
  EnvRepoFixture f;
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "Pin api");
  f.Reconcile();
  nlohmann::json second = f.Reconcile();
  EXPECT_TRUE(second["outcomes"].empty()) << second.dump();
  EXPECT_EQ(second["pinsRead"], 0);
  EXPECT_EQ(f.Deploys().size(), 1u);
  EXPECT_EQ(f.RemoteEvents(commit).size(), 3u);
}

TEST(ReconcileTest, OnlyTheChangedPinIsReadAndApplied) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))},
                   {"environments/dev/apps/web.yaml", f.PinYaml(Digest('b'))}},
                  "Pin api and web");
  f.Reconcile();
  ASSERT_EQ(f.Deploys().size(), 2u);
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/web.yaml", f.PinYaml(Digest('c'))}}, "Bump web");
  nlohmann::json pass = f.Reconcile();
  EXPECT_EQ(pass["pinsRead"], 1) << pass.dump();
  ASSERT_EQ(pass["outcomes"].size(), 1u) << pass.dump();
  EXPECT_EQ(pass["outcomes"][0]["app"], "web");
  ASSERT_EQ(f.Deploys().size(), 3u);
  EXPECT_EQ(f.Deploys()[2].substr(0, 8), "dev web ");
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/web"), commit);
}

// A release that fails its verification is what on-call must see: the
// outcome line is a warning, so `--log-level warn` (or a filter on level)
// keeps it.
TEST(ReconcileTest, FailedVerificationIsLoggedAsAWarning) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml",
                    f.PinYaml(Digest('b'), "2.0.0") +
                        "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", "
                        "retries: 0}\n"}},
                  "api 2.0.0 (its check cannot pass)");
  CommandOutput r = f.Sluice({"reconcile", "--once", "--log-level", "warn"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(" warning dev/api: failed — verification failed"), std::string::npos)
      << r.err;
}

TEST(ReconcileTest, FailingExecIsRecordedAsFailedWithExitCodeAndNotRetried) {
  EnvRepoFixture f;
  WriteFile(f.state + "/fail-d", "");
  std::string commit = f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('d'))}},
                                       "Pin a bad build");
  // A failed apply is not a normal outcome: exit 1 (SPEC 7), so cron can tell.
  nlohmann::json pass = f.Reconcile(/*expected_exit=*/1);
  const nlohmann::json* api = Outcome(pass, "dev", "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ((*api)["state"], "failed");

  auto events = f.RemoteEvents(commit);
  ASSERT_EQ(Kinds(events, "api"), (std::vector<std::string>{"applying", "failed"}));
  EXPECT_EQ(events[1]["adapter"]["exitCode"], 3);
  EXPECT_NE(events[1]["output"].get<std::string>().find("image pull backoff"), std::string::npos)
      << events[1].dump();
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), "");
  EXPECT_EQ(f.RemoteRef("refs/sluice/lkg/dev/api"), "");

  // A failed apply waits for a new commit; the next pass does not run it
  // again, and still says it failed.
  f.Reconcile(/*expected_exit=*/1);
  EXPECT_EQ(f.Deploys().size(), 1u);
  EXPECT_EQ(f.RemoteEvents(commit).size(), 2u);

  CommandOutput status = f.Sluice({"status", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u) << status.out;
  EXPECT_EQ(rows[0]["state"], "failed");
  EXPECT_EQ(rows[0]["desired"]["digest"], Digest('d'));
  EXPECT_TRUE(rows[0]["deployed"].is_null());
}

TEST(ReconcileTest, MalformedPinBlocksOnlyItsOwnAppWithPathAndLine) {
  EnvRepoFixture f;
  std::string commit = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))},
       {"environments/dev/apps/web.yaml",
        "artifact:\n  image: registry.example.com/shop/web\n  digest: latest\ndeploy:\n"
        "  adapter: exec\n  exec: {command: [scripts/deploy.sh]}\n"}},
      "Pin api and a mutable tag for web");
  nlohmann::json pass = f.Reconcile();
  const nlohmann::json* web = Outcome(pass, "dev", "web");
  const nlohmann::json* api = Outcome(pass, "dev", "api");
  ASSERT_NE(web, nullptr);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ((*api)["state"], "verified");
  EXPECT_EQ((*web)["state"], "blocked");
  EXPECT_NE((*web)["reason"].get<std::string>().find("environments/dev/apps/web.yaml:3:"),
            std::string::npos)
      << (*web)["reason"];
  EXPECT_NE((*web)["reason"].get<std::string>().find("tag"), std::string::npos);
  auto events = f.RemoteEvents(commit);
  EXPECT_EQ(Kinds(events, "web"), (std::vector<std::string>{"blocked"}));

  // Blocked again on the next pass, but recorded once.
  f.Reconcile();
  EXPECT_EQ(Kinds(f.RemoteEvents(commit), "web"), (std::vector<std::string>{"blocked"}));
}

TEST(ReconcileTest, RefusedRecordPushExitsOneAndAppliesNothing) {
  EnvRepoFixture f;
  f.RefuseRecordPushes(true);
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "Pin api");
  CommandOutput r = f.Sluice({"reconcile", "--once", "--format", "json", "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  auto pass = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(pass.is_discarded()) << r.out;
  const nlohmann::json* api = Outcome(pass, "dev", "api");
  ASSERT_NE(api, nullptr) << r.out;
  EXPECT_EQ((*api)["state"], "error");
  EXPECT_NE((*api)["reason"].get<std::string>().find("not applying"), std::string::npos) << r.out;
  EXPECT_TRUE(f.Deploys().empty());
  EXPECT_TRUE(f.RemoteEvents(commit).empty());

  // While the remote refuses, every pass fails: the local record cannot leave.
  EXPECT_EQ(f.Sluice({"reconcile", "--once", "--log-level", "off"}).exit_code, 1);
  EXPECT_TRUE(f.Deploys().empty());

  // Once the remote accepts again, the pass applies and exits 0.
  f.RefuseRecordPushes(false);
  pass = f.Reconcile();
  api = Outcome(pass, "dev", "api");
  ASSERT_NE(api, nullptr) << pass.dump();
  EXPECT_EQ((*api)["state"], "verified") << pass.dump();
  EXPECT_EQ(f.Deploys().size(), 1u);
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), commit);
  EXPECT_EQ(Kinds(f.RemoteEvents(commit), "api").front(), "applying");
}

TEST(ReconcileTest, StaleLockFilesOfAKilledPassAreRemovedAndThePassSucceeds) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/a2.yaml", f.PinYaml(Digest('a'))}}, "Pin a2");
  f.Reconcile();
  // What a pass killed with SIGKILL inside libgit2 leaves behind (issue 18:
  // every later pass failed on the first of these).
  const std::string cache = f.workdir + "/cache.git";
  const std::vector<std::string> stale = {"refs/sluice-remote/sluice/lkg/dev/a2.lock",
                                          "refs/notes/sluice.lock",
                                          "index.lock",
                                          "packed-refs.lock",
                                          "config.lock",
                                          "objects/pack/tmp_pack_q8Zr1x",
                                          "objects/pack/pack_git2_4d1c0f"};
  for (const auto& s : stale) WriteFile(cache + "/" + s, "");
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/a2.yaml", f.PinYaml(Digest('b'))}}, "Pin a2 b");

  CommandOutput r = f.Sluice({"reconcile", "--once", "--format", "json", "--log-level", "warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto pass = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(pass.is_discarded()) << r.out;
  const nlohmann::json* a2 = Outcome(pass, "dev", "a2");
  ASSERT_NE(a2, nullptr) << r.out;
  EXPECT_EQ((*a2)["state"], "verified") << r.out;
  EXPECT_EQ(f.RemoteRef("refs/sluice/lkg/dev/a2"), commit);
  for (const auto& s : stale) {
    EXPECT_FALSE(std::filesystem::exists(cache + "/" + s)) << s;
    // Said at warn, by name.
    EXPECT_NE(r.err.find("cache.git/" + s), std::string::npos) << s << "\n" << r.err;
  }
}

TEST(ReconcileTest, ProdChangeWithoutApprovalEvidenceIsBlockedNeverApplied) {
  EnvRepoFixture f;
  // prod requires one approval by forge evidence, and the repository names
  // no forge: the change must be blocked, never applied.
  std::string commit = f.CommitAndPush(
      {{"environments/prod/apps/api.yaml", f.PinYaml(Digest('e'))}}, "Pin api in prod");
  // Blocked is a normal outcome: Reconcile() expects exit 0.
  nlohmann::json pass = f.Reconcile();
  const nlohmann::json* api = Outcome(pass, "prod", "api");
  ASSERT_NE(api, nullptr) << pass.dump();
  EXPECT_EQ((*api)["state"], "blocked");
  EXPECT_NE((*api)["reason"].get<std::string>().find("approval"), std::string::npos);
  EXPECT_TRUE(f.Deploys().empty());
  auto events = f.RemoteEvents(commit);
  ASSERT_EQ(events.size(), 1u);
  bool approval_blocked = false;
  for (const auto& g : events[0]["gates"]) {
    if (g["name"] == "approval" && g["result"] == "block") approval_blocked = true;
  }
  EXPECT_TRUE(approval_blocked) << events[0].dump();
  CommandOutput status = f.Sluice({"status", "--format", "json", "--env", "prod"});
  auto rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["state"], "blocked");
  ASSERT_FALSE(rows[0]["reasons"].empty());
}

TEST(ReconcileTest, PolicyEditIsJudgedByThePolicyInForce) {
  EnvRepoFixture f;
  // One commit that both removes prod's approval rule and pins a digest: the
  // policy in force (the parent's) still requires approval.
  f.CommitAndPush({{"environments/prod/environment.yaml", "{}\n"},
                   {"environments/prod/apps/api.yaml", f.PinYaml(Digest('f'))}},
                  "Drop approval and pin at once");
  nlohmann::json pass = f.Reconcile();
  const nlohmann::json* api = Outcome(pass, "prod", "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ((*api)["state"], "blocked") << pass.dump();
  EXPECT_TRUE(f.Deploys().empty());
}

TEST(ReconcileTest, KilledMidApplyLeavesApplyingOnRemoteAndNextPassResolvesIt) {
  EnvRepoFixture f;
  WriteFile(f.state + "/hang", "");
  std::string commit =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "Pin api");

  bp::child controller(std::string(SLUICE_BINARY), "reconcile", "--once", "--repo", f.url,
                       "--workdir", f.workdir, "--log-level", "off", bp::std_out > bp::null,
                       bp::std_err > bp::null);
  // Wait (polling, bounded) until the deploy script is running.
  WaitUntil([&] { return fs::exists(f.state + "/hung.pid"); }, std::chrono::seconds(30),
            "the deploy script to start (hung.pid)");
  ASSERT_TRUE(fs::exists(f.state + "/hung.pid"));
  // The crash: the controller dies without a word, and its adapter with it.
  ::kill(controller.id(), SIGKILL);
  controller.wait();
  pid_t hung = std::stoi(ReadFile(f.state + "/hung.pid"));
  EXPECT_TRUE(WaitUntil([&] { return !IsAlive(hung); }, std::chrono::seconds(10),
                        "the hung deploy script to die with its controller"));

  // What everyone sees: `applying` with no outcome.
  EXPECT_EQ(Kinds(f.RemoteEvents(commit), "api"), (std::vector<std::string>{"applying"}));
  CommandOutput status = f.Sluice({"status", "--format", "json"});
  auto rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["state"], "applying");

  // The next pass records the interruption and applies again (exec cannot
  // observe what runs), this time to completion.
  fs::remove(f.state + "/hang");
  nlohmann::json pass = f.Reconcile();
  const nlohmann::json* api = Outcome(pass, "dev", "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ((*api)["state"], "verified");
  auto events = f.RemoteEvents(commit);
  EXPECT_EQ(Kinds(events, "api"),
            (std::vector<std::string>{"applying", "failed", "applying", "applied", "verified"}));
  EXPECT_EQ(events[1].value("interrupted", false), true);
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), commit);
}

TEST(ReconcileTest, KillNineOfThePassKillsItsAdapterAndWhatTheAdapterStarted) {
  // An adapter that starts a child of its own (a deploy script running
  // helm, here `sleep`) and waits for it. kill -9 of the controller must
  // take both: a new owner's crash recovery must never run beside them.
  EnvRepoFixture f;
  WriteFile(f.work + "/scripts/spawn.sh",
            "#!/bin/sh\n"
            "sleep 600 &\n"
            "echo \"$$ $!\" > \"$1/pids.tmp\" && mv \"$1/pids.tmp\" \"$1/pids\"\n"
            "wait\n");
  fs::permissions(f.work + "/scripts/spawn.sh", fs::perms::owner_all, fs::perm_options::replace);
  std::string pin = f.PinYaml(Digest('a'));
  pin.replace(pin.find("scripts/deploy.sh, \"{{digest}}\""),
              std::string("scripts/deploy.sh, \"{{digest}}\"").size(), "scripts/spawn.sh");
  f.CommitAndPush({{"environments/dev/apps/api.yaml", pin}}, "Pin api, deployed by spawn.sh");

  bp::child controller(std::string(SLUICE_BINARY), "reconcile", "--once", "--repo", f.url,
                       "--workdir", f.workdir, "--log-level", "off", bp::std_out > bp::null,
                       bp::std_err > bp::null);
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(f.state + "/pids"); }, std::chrono::seconds(30),
                        "the adapter and its child to start (pids)"));
  pid_t adapter = 0, child = 0;
  std::istringstream(ReadFile(f.state + "/pids")) >> adapter >> child;
  ASSERT_GT(adapter, 0);
  ASSERT_GT(child, 0);
  ASSERT_TRUE(IsAlive(adapter));
  ASSERT_TRUE(IsAlive(child));
  ::kill(controller.id(), SIGKILL);
  controller.wait();
  EXPECT_TRUE(WaitUntil([&] { return !IsAlive(adapter); }, std::chrono::seconds(10),
                        "the adapter to die with its controller"));
  EXPECT_TRUE(WaitUntil([&] { return !IsAlive(child); }, std::chrono::seconds(10),
                        "the adapter's own child to die with the controller"));
}

TEST(ReconcileTest, StatusReportsRunningVersionAndLastKnownGood) {
  EnvRepoFixture f;
  std::string first = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.0")}}, "api 1.0.0");
  f.Reconcile();
  CommandOutput status = f.Sluice({"status", "--format", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u);
  const auto& row = rows[0];
  EXPECT_EQ(row["env"], "dev");
  EXPECT_EQ(row["app"], "api");
  EXPECT_EQ(row["state"], "in-sync");
  EXPECT_EQ(row["desired"]["digest"], Digest('a'));
  EXPECT_EQ(row["deployed"]["digest"], Digest('a'));
  EXPECT_EQ(row["deployed"]["commit"], first);
  EXPECT_FALSE(row["deployed"]["time"].get<std::string>().empty());
  EXPECT_TRUE(row["deployed"]["approvers"].is_array());
  EXPECT_EQ(row["lkg"]["commit"], first);
  EXPECT_TRUE(row["reasons"].empty());

  // A newer pin not yet reconciled shows as waiting with a reason.
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'), "1.1.0")}},
                  "api 1.1.0");
  rows = nlohmann::json::parse(f.Sluice({"status", "--format", "json"}).out);
  EXPECT_EQ(rows[0]["state"], "waiting");
  EXPECT_EQ(rows[0]["desired"]["digest"], Digest('b'));
  EXPECT_EQ(rows[0]["deployed"]["digest"], Digest('a'));
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// Waits end on time: a soak that ends in an hour is in the pass's report
// (`nextDue`), which the daemon wakes for instead of its next interval
// (engine/controller.h; the timing itself is tested on fake time in
// ControllerTest).
TEST(ReconcileWaitTest, ASoakReportsWhenItEnds) {
  EnvRepoFixture f(std::map<std::string, std::optional<std::string>>{
      {"environments/prod/environment.yaml", "upstream: dev\ngates:\n  soak: 1h\n"}});
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))},
                   {"environments/prod/apps/api.yaml", f.PinYaml(Digest('a'))}},
                  "api a in dev and prod");
  f.Reconcile();  // dev verifies; prod starts soaking
  nlohmann::json pass = f.Reconcile();
  ASSERT_TRUE(pass.contains("nextDue")) << pass.dump();
  auto due = ParseRfc3339(pass["nextDue"].get<std::string>());
  ASSERT_TRUE(due.ok()) << pass.dump();
  const auto left = *due - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::minutes(55)) << pass.dump();
  EXPECT_LE(left, std::chrono::minutes(60)) << pass.dump();
  // `status` restates the soak's end against the time it is read, since
  // the waiting event (and its "… to go") is written once, not every pass.
  auto rows = nlohmann::json::parse(
      f.Sluice({"status", "--format", "json", "--env", "prod", "--log-level", "off"}).out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["state"], "waiting");
  ASSERT_FALSE(rows[0]["reasons"].empty()) << rows.dump(2);
  const std::string soak = rows[0]["reasons"][0];
  EXPECT_NE(soak.find("; ends " + pass["nextDue"].get<std::string>() + " (in "), std::string::npos)
      << soak;
  EXPECT_TRUE(rows[0]["reasonsAsOf"].is_string()) << rows.dump(2);
}

}  // namespace
}  // namespace sluice::testing
