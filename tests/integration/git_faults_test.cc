// Git-server faults against a real `git daemon`: the remote down at start
// (once, and for the daemon, which backs off and recovers), a full disk in
// the workdir, a push cut mid-way, a force-push that
// drops the deployed commit, and another writer of the record's notes. Each checks what a user
// relies on: an honest exit code, nothing applied without a record, nothing lost or doubled.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "env_repo_fixture.h"
#include "net/http_client.h"
#include "support/git_servers.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;

std::vector<std::string> Kinds(const std::vector<nlohmann::json>& events, const std::string& app) {
  std::vector<std::string> kinds;
  for (const auto& e : events) {
    if (e.value("app", "") == app) kinds.push_back(e.value("event", ""));
  }
  return kinds;
}

// Remote down at start: the pass cannot run, says where it could not fetch
// from, applies nothing and leaves the workdir usable for the next pass.
TEST(GitFaultsTest, RemoteDownAtStartIsAnErrorAndTheNextPassRecovers) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  const std::string dead = "git://127.0.0.1:" + std::to_string(FreePort()) + "/envs.git";
  CommandOutput down = f.Sluice({"reconcile", "--once", "--repo", dead, "--workdir", f.workdir},
                                /*with_repo=*/false);
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_NE(down.err.find("127.0.0.1"), std::string::npos) << down.err;
  EXPECT_TRUE(f.Deploys().empty());

  // The remote answers again: the same workdir applies and records.
  f.Reconcile();
  EXPECT_EQ(f.Deploys().size(), 1u);
  EXPECT_EQ(Kinds(f.RemoteEvents(f.RemoteRef("refs/heads/main")), "api"),
            (std::vector<std::string>{"applying", "applied", "verified"}));
}

// The daemon with its remote down: not ready, with the reason, and alive.
TEST(GitFaultsTest, DaemonWithTheRemoteDownIsNotReadyAndSaysWhy) {
  EnvRepoFixture f;
  const std::string dead = "git://127.0.0.1:" + std::to_string(FreePort()) + "/envs.git";
  const int port = FreePort();
  TempDir tmp;
  const std::string log = tmp.Sub("controller.log");
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", dead, "--workdir",
                       f.workdir, "--interval", "1h", "--listen",
                       "127.0.0.1:" + std::to_string(port), bp::std_out > bp::null,
                       bp::std_err > log);
  ASSERT_TRUE(WaitForPort(port, 20000)) << ReadFile(log);
  net::CurlHttpClient http;
  std::string reason;
  WaitUntil(
      [&] {
        net::HttpRequest req;
        req.url = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
        auto res = http.Send(req);
        if (!res.ok() || res->status != 503) return false;
        reason = res->body;
        return reason.find("last pass failed") != std::string::npos;
      },
      std::chrono::seconds(30), "/readyz 503 saying the last pass failed");
  EXPECT_NE(reason.find("last pass failed"), std::string::npos) << reason << ReadFile(log);
  EXPECT_NE(reason.find("127.0.0.1"), std::string::npos) << reason;
  EXPECT_TRUE(controller.running());
  ::kill(controller.id(), SIGTERM);
  controller.wait();
  EXPECT_EQ(controller.exit_code(), 0) << ReadFile(log);
}

// The daemon whose remote is away at start (the repository gone from the
// git daemon, as during a server restore) tries again with backoff, not
// after its hour-long interval: once the repository is back, the pin is
// applied within seconds, with no webhook and no restart.
TEST(GitFaultsTest, DaemonBacksOffAndRecoversWhenTheRemoteReturns) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  std::filesystem::rename(f.bare, f.bare + ".away");
  const int port = FreePort();
  TempDir tmp;
  const std::string log = tmp.Sub("controller.log");
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir",
                       f.workdir, "--interval", "1h", "--listen",
                       "127.0.0.1:" + std::to_string(port), bp::std_out > bp::null,
                       bp::std_err > log);
  ASSERT_TRUE(WaitForPort(port, 20000)) << ReadFile(log);
  WaitUntil(
      [&] { return ReadFile(log).find("failed pass in a row; next try in") != std::string::npos; },
      std::chrono::seconds(30), "a failed pass and its retry announced");
  EXPECT_TRUE(f.Deploys().empty());
  std::filesystem::rename(f.bare + ".away", f.bare);
  WaitUntil([&] { return f.Deploys().size() == 1; }, std::chrono::seconds(40),
            "the pin applied once the remote returned");
  EXPECT_TRUE(controller.running());
  ::kill(controller.id(), SIGTERM);
  controller.wait();
  EXPECT_EQ(controller.exit_code(), 0) << ReadFile(log);
  EXPECT_EQ(f.Deploys().size(), 1u);
}

// The disk holding the workdir fills up (a preloaded shim makes every
// write under it fail with ENOSPC, tests/fault/full_disk.cc). The pass
// fails with an error that says so and names the fix; nothing is applied,
// since nothing can be recorded; once space is freed the next pass applies
// the change once, and the cache passes `git fsck`.
TEST(GitFaultsTest, AFullDiskInTheWorkdirIsAClearErrorAndCorruptsNothing) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  f.Reconcile();
  ASSERT_EQ(f.Deploys().size(), 1u);
  const std::string flag = f.state + "/disk-full";
  f.extra_env = {"LD_PRELOAD=" + std::string(SLUICE_FULL_DISK_SHIM),
                 "SLUICE_FAULT_FULL_DIR=" + std::filesystem::canonical(f.workdir).string(),
                 "SLUICE_FAULT_FULL_FLAG=" + flag,
                 // A sanitizer build loads its runtime first; the shim after.
                 "ASAN_OPTIONS=verify_asan_link_order=0"};
  const std::string b = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'), "1.1.0")}}, "api b");
  WriteFile(flag, "");
  for (int pass = 0; pass < 2; ++pass) {
    CommandOutput full = f.Sluice({"reconcile", "--once"});
    EXPECT_EQ(full.exit_code, 1) << full.out << full.err;
    EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
    EXPECT_NE(full.err.find("the disk holding the workdir " +
                            std::filesystem::canonical(f.workdir).string() + " is full"),
              std::string::npos)
        << full.err;
    EXPECT_EQ(f.Deploys().size(), 1u) << "applied while nothing could be recorded";
  }
  std::filesystem::remove(flag);
  f.Reconcile();
  ASSERT_EQ(f.Deploys().size(), 2u);
  EXPECT_NE(f.Deploys()[1].find(Digest('b')), std::string::npos);
  std::vector<std::string> kinds = Kinds(f.RemoteEvents(b), "api");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "applying"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "verified"), 1);
  CommandOutput fsck = RunCommand({"git", "fsck", "--no-progress"}, f.workdir + "/cache.git");
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
}

// A push cut mid-way: the server receives the pack, then git-receive-pack
// dies before any ref moves. The first apply must not start (its `applying`
// is not on the remote); the next pass pushes the record once and applies
// once: every line on the remote once, one adapter run.
TEST(GitFaultsTest, APushCutMidWayIsRetriedWithNothingLostOrDoubled) {
  EnvRepoFixture f;
  const std::string hook = f.bare + "/hooks/pre-receive";
  WriteFile(hook,
            "#!/bin/sh\n"
            "cat >/dev/null\n"
            "if [ -f '" +
                f.state +
                "/cut-once' ]; then\n"
                "  rm -f '" +
                f.state +
                "/cut-once'\n"
                "  kill -9 $PPID\n"
                "  exit 1\n"
                "fi\n"
                "exit 0\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  const std::string head = f.RemoteRef("refs/heads/main");
  WriteFile(f.state + "/cut-once", "");

  f.Reconcile(1);
  EXPECT_TRUE(f.Deploys().empty()) << "an apply started whose announcement is not on the remote";
  EXPECT_FALSE(std::filesystem::exists(f.state + "/cut-once")) << "the push was never tried";

  f.Reconcile();
  EXPECT_EQ(f.Deploys().size(), 1u);
  std::vector<nlohmann::json> events = f.RemoteEvents(head);
  std::vector<std::string> kinds = Kinds(events, "api");
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "applied"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "verified"), 1);
  EXPECT_EQ(kinds.back(), "verified");
  std::set<std::string> lines;
  for (const auto& e : events) {
    EXPECT_TRUE(lines.insert(e.dump()).second) << "recorded twice: " << e.dump();
  }
}

// A force-push to main that drops the deployed commit: the new head is
// judged as a normal change and applied; before that, `status` says the
// deployed commit left the branch.
TEST(GitFaultsTest, AForcePushDroppingTheDeployedCommitIsAnOrdinaryChange) {
  EnvRepoFixture f;
  const std::string before = f.RemoteRef("refs/heads/main");
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  f.Reconcile();
  const std::string dropped = f.RemoteRef("refs/heads/main");

  // Rewrite main: back to `before`, then api b on top, force-pushed.
  Git(f.work, {"reset", "-q", "--hard", before});
  CommitFiles(f.work, {{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'))}}, "api b");
  Git(f.work, {"push", "-q", "--force", "origin", "HEAD:refs/heads/main"});
  const std::string rewritten = f.RemoteRef("refs/heads/main");
  ASSERT_NE(rewritten, dropped);

  CommandOutput status = f.Sluice({"status", "--env", "dev", "--format", "json",
                                   "--controller-keys", f.workdir + "/controller-key.pub"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto rows = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_TRUE(rows.is_array() && rows.size() == 1u) << status.out;
  EXPECT_EQ(rows[0]["deployed"]["commit"], dropped);
  bool said = false;
  for (const auto& r : rows[0]["reasons"]) {
    said = said || r.get<std::string>().find("no longer on main") != std::string::npos;
  }
  EXPECT_TRUE(said) << status.out;

  f.Reconcile();
  ASSERT_EQ(f.Deploys().size(), 2u);
  EXPECT_NE(f.Deploys()[1].find(Digest('b')), std::string::npos);
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), rewritten);
}

// Someone with push access replaces the record's refs/sluice/deployed/*
// by one ref named refs/sluice/deployed (git allows that once the others
// are gone). The controller's copies of the old refs are directories of that
// name: fetching it failed every later pass ("cannot lock ref ..., there are
// refs beneath that folder"), a controller no push could repair and no
// rollback could get past. Names the controller never writes are not fetched.
TEST(GitFaultsTest, ARecordRefThatIsADirectoryOfTheLocalCopiesIsNotFetched) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  f.Reconcile();
  const std::string head = f.RemoteRef("refs/heads/main");
  Git(f.bare, {"update-ref", "-d", "refs/sluice/deployed/dev/api"});
  Git(f.bare, {"update-ref", "refs/sluice/deployed", head});
  Git(f.bare, {"update-ref", "refs/sluice/lkg/dev/web/deeper", head});  // one level too many

  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'))}}, "api b");
  f.Reconcile();
  ASSERT_EQ(f.Deploys().size(), 2u);
  EXPECT_NE(f.Deploys()[1].find(Digest('b')), std::string::npos);
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('c'))}}, "api c");
  f.Reconcile();
  EXPECT_EQ(f.Deploys().size(), 3u);
  // The names were never fetched into the cache.
  const std::string cache = f.workdir + "/cache.git";
  for (const char* name :
       {"refs/sluice-remote/sluice/deployed", "refs/sluice-remote/sluice/lkg/dev/web/deeper"}) {
    EXPECT_NE(RunCommand({"git", "rev-parse", "--verify", "-q", name}, cache).exit_code, 0) << name;
  }
}

// Another writer of refs/notes/sluice (an auditor's tool, a second
// controller) pushes between two passes: the controller merges (union) and
// neither side's lines are lost.
TEST(GitFaultsTest, AnotherNotesWriterIsMergedNotOverwritten) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  f.Reconcile();
  const std::string first = f.RemoteRef("refs/heads/main");

  TempDir other;
  const std::string clone = other.Sub("clone");
  CloneRepo(f.bare, clone);
  Git(clone, {"fetch", "-q", "origin", "+refs/notes/sluice:refs/notes/sluice"});
  Git(clone, {"-c", "user.name=Auditor", "-c", "user.email=audit@example.com", "notes",
              "--ref=sluice", "append", "-m", R"({"reviewed":"audit 2026-Q4"})", first});
  Git(clone, {"push", "-q", "origin", "refs/notes/sluice:refs/notes/sluice"});

  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'))}}, "api b");
  f.Reconcile();
  const std::string second = f.RemoteRef("refs/heads/main");

  std::vector<nlohmann::json> on_first = f.RemoteEvents(first);
  EXPECT_EQ(Kinds(on_first, "api"), (std::vector<std::string>{"applying", "applied", "verified"}));
  bool kept = false;
  for (const auto& e : on_first) kept = kept || e.value("reviewed", "") == "audit 2026-Q4";
  EXPECT_TRUE(kept) << "the other writer's line was lost";
  EXPECT_EQ(Kinds(f.RemoteEvents(second), "api"),
            (std::vector<std::string>{"applying", "applied", "verified"}));
}

}  // namespace
}  // namespace sluice::testing
