// High availability end to end (SPEC section 8): real `sluice controller`
// replicas with --etcd against a real etcd 3.4 and a repository served by
// git daemon. Six environments; every change must be applied exactly once.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include "env_repo_fixture.h"
#include "net/http_client.h"
#include "support/etcd_server.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::vector<std::string> kEnvs = {"e1", "e2", "e3", "e4", "e5", "e6"};

std::map<std::string, std::optional<std::string>> SixEnvironments() {
  std::map<std::string, std::optional<std::string>> files = {
      {"sluice.yaml", "pipeline: [e1, e2, e3, e4, e5, e6]\n"},
      {"environments/dev/environment.yaml", std::nullopt},
      {"environments/prod/environment.yaml", std::nullopt}};
  for (const auto& env : kEnvs) files["environments/" + env + "/environment.yaml"] = "{}\n";
  return files;
}

// One `sluice controller --etcd` process with its own workdir, signing key
// and HTTP port.
struct Replica {
  std::string id;
  std::string workdir;
  std::string log;
  int port = 0;
  std::unique_ptr<bp::child> child;
};

class HaTest : public ::testing::Test {
 protected:
  HaTest() : f_(SixEnvironments()) {}

  void SetUp() override {
    ASSERT_TRUE(etcd_.ready());
    // Each replica signs the record with its own key; all list every key,
    // so each trusts what the others wrote.
    std::string keys;
    for (const char* id : {"a", "b", "c"}) {
      CommandOutput k = RunCommand(
          {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", id, "-f", tmp_.Sub(id) + ".key"});
      ASSERT_EQ(k.exit_code, 0) << k.err;
      keys += ReadFile(tmp_.Sub(id) + ".key.pub");
    }
    WriteFile(tmp_.Sub("controller-keys"), keys);
  }

  void TearDown() override {
    for (auto& [id, r] : replicas_) {
      if (r.child && r.child->running()) {
        ::kill(r.child->id(), SIGTERM);
        r.child->wait();
        EXPECT_EQ(r.child->exit_code(), 0) << ReadFile(r.log);
      }
    }
  }

  std::vector<std::string> Args(const std::string& id, int port) {
    return {"controller",
            "--repo",
            f_.url,
            "--workdir",
            tmp_.Sub("wd-" + id),
            "--interval",
            "1s",
            "--listen",
            "127.0.0.1:" + std::to_string(port),
            "--etcd",
            etcd_.Url(),
            "--lease-ttl",
            "3s",
            "--instance-id",
            id,
            "--signing-key",
            tmp_.Sub(id) + ".key",
            "--controller-keys",
            tmp_.Sub("controller-keys"),
            "--log-level",
            "info"};
  }

  Replica& Start(const std::string& id) {
    Replica& r = replicas_[id];
    r.id = id;
    r.port = FreePort();
    r.log = tmp_.Sub("controller-" + id + ".log");
    r.child = std::make_unique<bp::child>(std::string(SLUICE_BINARY), bp::args(Args(id, r.port)),
                                          bp::std_out > bp::null, bp::std_err > r.log);
    EXPECT_TRUE(WaitForPort(r.port, 20000)) << ReadFile(r.log);
    return r;
  }

  std::string Get(const Replica& r, const std::string& path, long* status = nullptr) {
    net::HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(r.port) + path;
    auto res = http_.Send(req);
    if (status != nullptr) *status = res.ok() ? res->status : 0;
    return res.ok() ? res->body : "";
  }

  // env -> owner, from a replica's /metrics (sluice_env_owner).
  std::map<std::string, std::string> Owners(const Replica& r) {
    std::map<std::string, std::string> out;
    std::istringstream in(Get(r, "/metrics"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("sluice_env_owner{env=\"", 0) != 0) continue;
      auto env_end = line.find('"', 22);
      auto inst = line.find("instance=\"", env_end);
      auto inst_end = line.find('"', inst + 10);
      out[line.substr(22, env_end - 22)] = line.substr(inst + 10, inst_end - inst - 10);
    }
    return out;
  }

  // Every environment owned, and `ids` each holding its fair share, as
  // every replica of `ids` sees it.
  bool Spread(const std::vector<std::string>& ids) {
    const size_t share = (kEnvs.size() + ids.size() - 1) / ids.size();
    for (const auto& viewer : ids) {
      auto owners = Owners(replicas_[viewer]);
      if (owners.size() != kEnvs.size()) return false;
      std::map<std::string, size_t> count;
      for (const auto& [env, owner] : owners) ++count[owner];
      for (const auto& id : ids) {
        if (count[id] + 1 < share || count[id] > share) return false;
      }
      if (count.size() != ids.size()) return false;
    }
    return true;
  }

  // Pins api in every environment to `digest`; returns the commit.
  std::string PinAll(char digest) {
    std::map<std::string, std::optional<std::string>> files;
    for (const auto& env : kEnvs) {
      files["environments/" + env + "/apps/api.yaml"] = f_.PinYaml(Digest(digest));
    }
    return f_.CommitAndPush(files, std::string("Pin api to ") + digest + " everywhere");
  }

  // The adapter runs of `digest`, per environment (the deploy script's log).
  std::map<std::string, int> Runs(char digest) {
    std::map<std::string, int> runs;
    for (const auto& line : f_.Deploys()) {
      std::istringstream in(line);
      std::string env, app, arg;
      in >> env >> app >> arg;
      if (arg == Digest(digest)) ++runs[env];
    }
    return runs;
  }

  // env -> the instance that recorded `kind` for it on `commit`.
  std::map<std::string, std::string> RecordedBy(const std::string& commit,
                                                const std::string& kind) {
    std::map<std::string, std::string> by;
    for (const auto& e : f_.RemoteEvents(commit)) {
      if (e.value("event", "") != kind) continue;
      by[e.value("env", "")] = e.contains("controller") ? e["controller"].value("id", "") : "";
    }
    return by;
  }

  // Waits until every environment's api is verified at `commit`.
  bool WaitVerified(const std::string& commit, seconds limit) {
    return WaitUntil([&] { return RecordedBy(commit, "verified").size() == kEnvs.size(); }, limit,
                     "every environment verified at " + commit);
  }

  std::string Logs() {
    std::string all;
    for (auto& [id, r] : replicas_) all += "---- " + id + "\n" + ReadFile(r.log);
    return all;
  }

  EtcdServer etcd_;
  EnvRepoFixture f_;
  TempDir tmp_;
  net::CurlHttpClient http_;
  std::map<std::string, Replica> replicas_;
};

TEST_F(HaTest, TwoReplicasApplyEachChangeExactlyOnceEachInItsOwnEnvironments) {
  Start("a");
  Start("b");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Spread({"a", "b"});
      },
      seconds(30), "three environments each"))
      << Logs();
  const auto owners = Owners(replicas_["a"]);
  const std::string commit = PinAll('a');
  ASSERT_TRUE(WaitVerified(commit, seconds(60))) << Logs();
  // Let both replicas run more passes over the same head: still once.
  const std::string passes = "sluice_reconcile_passes_total{result=\"success\"}";
  auto passes_of = [&](Replica& r) {
    std::istringstream in(Get(r, "/metrics"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(passes + " ", 0) == 0) return std::stod(line.substr(passes.size() + 1));
    }
    return -1.0;
  };
  const double a0 = passes_of(replicas_["a"]), b0 = passes_of(replicas_["b"]);
  ASSERT_TRUE(WaitUntil(
      [&] { return passes_of(replicas_["a"]) >= a0 + 2 && passes_of(replicas_["b"]) >= b0 + 2; },
      seconds(30), "two more passes of each replica"));

  const auto runs = Runs('a');
  for (const auto& env : kEnvs) EXPECT_EQ(runs.count(env) ? runs.at(env) : 0, 1) << env;
  // The `applying` event names the replica that owned the environment.
  const auto applying = RecordedBy(commit, "applying");
  for (const auto& env : kEnvs) EXPECT_EQ(applying.at(env), owners.at(env)) << env;
  long status = 0;
  EXPECT_NE(Get(replicas_["a"], "/readyz", &status).find("ready"), std::string::npos);
  EXPECT_EQ(status, 200);
}

TEST_F(HaTest, AJoiningReplicaTakesItsShareAndAppliesOnlyThere) {
  Start("a");
  ASSERT_TRUE(WaitUntil([&] { return Spread({"a"}); }, seconds(30), "a owning all six")) << Logs();
  Start("b");
  Start("c");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Spread({"a", "b", "c"});
      },
      seconds(30), "two each"))
      << Logs();
  const auto owners = Owners(replicas_["c"]);
  const std::string commit = PinAll('b');
  ASSERT_TRUE(WaitVerified(commit, seconds(60))) << Logs();
  const auto runs = Runs('b');
  for (const auto& env : kEnvs) EXPECT_EQ(runs.count(env) ? runs.at(env) : 0, 1) << env;
  const auto applying = RecordedBy(commit, "applying");
  for (const auto& env : kEnvs) EXPECT_EQ(applying.at(env), owners.at(env)) << env;
}

TEST_F(HaTest, KillNineOfAReplicaMovesItsEnvironmentsToTheSurvivorWithinTheLease) {
  Start("a");
  Start("b");
  ASSERT_TRUE(WaitUntil([&] { return Spread({"a", "b"}); }, seconds(30), "three each")) << Logs();
  ::kill(replicas_["b"].child->id(), SIGKILL);
  replicas_["b"].child->wait();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(PollUntil([&] { return Spread({"a"}); }, seconds(15))) << Logs();
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed);
  std::printf("takeover after kill -9 with a 3s lease: %lld ms\n",
              static_cast<long long>(took.count()));
  EXPECT_LE(took, seconds(3) + seconds(2));

  const std::string commit = PinAll('c');
  ASSERT_TRUE(WaitVerified(commit, seconds(60))) << Logs();
  const auto runs = Runs('c');
  for (const auto& env : kEnvs) EXPECT_EQ(runs.count(env) ? runs.at(env) : 0, 1) << env;
  for (const auto& [env, by] : RecordedBy(commit, "applying")) EXPECT_EQ(by, "a") << env;
}

TEST_F(HaTest, EtcdDownStopsApplyingWithAReasonAndItResumesWhenEtcdIsBack) {
  Replica& a = Start("a");
  ASSERT_TRUE(WaitUntil([&] { return Spread({"a"}); }, seconds(30), "a owning all six")) << Logs();
  etcd_.Stop();
  long status = 0;
  std::string body;
  ASSERT_TRUE(WaitUntil(
      [&] {
        body = Get(a, "/readyz", &status);
        return status == 503;
      },
      seconds(15), "/readyz to fail while etcd is down"))
      << Logs();
  EXPECT_NE(body.find("fenced, applying nothing: "), std::string::npos) << body;
  EXPECT_NE(body.find("etcd at " + etcd_.Url() + " unreachable"), std::string::npos) << body;

  const std::string commit = PinAll('d');
  // The passes go on (fetching the new head) but apply nothing.
  const std::string passes = "sluice_reconcile_passes_total{result=\"success\"}";
  auto passes_now = [&] {
    std::istringstream in(Get(a, "/metrics"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(passes + " ", 0) == 0) return std::stod(line.substr(passes.size() + 1));
    }
    return -1.0;
  };
  const double before = passes_now();
  ASSERT_TRUE(WaitUntil([&] { return passes_now() >= before + 3; }, seconds(30),
                        "three passes while etcd is down"));
  EXPECT_TRUE(Runs('d').empty());
  EXPECT_TRUE(f_.RemoteEvents(commit).empty());  // nothing recorded either

  ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
  ASSERT_TRUE(WaitVerified(commit, seconds(60))) << Logs();
  const auto runs = Runs('d');
  for (const auto& env : kEnvs) EXPECT_EQ(runs.count(env) ? runs.at(env) : 0, 1) << env;
  EXPECT_TRUE(WaitUntil([&] { return Get(a, "/readyz", &status), status == 200; }, seconds(15),
                        "/readyz 200 again"));
}

TEST_F(HaTest, ANewOwnerWaitsForTheAdapterOfAReplicaThatIsCutOffButAlive) {
  // a starts a slow apply, then stops answering (SIGSTOP: as a replica cut
  // off from etcd, it is alive and its adapter runs on). b takes the
  // environment over and must not run the change beside a's adapter: it
  // waits for the adapter's longest run (timeout 15s + 10s grace). The
  // timeout leaves 9 s beyond the run's 6 s of sleep, so that a loaded
  // machine's slow start does not end a's run by its timeout before a stops.
  Replica& a = Start("a");
  Start("b");
  ASSERT_TRUE(WaitUntil([&] { return Spread({"a", "b"}); }, seconds(30), "three each")) << Logs();
  std::string env;
  for (const auto& [e, owner] : Owners(a)) {
    if (owner == "a") env = e;
  }
  ASSERT_FALSE(env.empty());
  const std::string log = f_.state + "/slow.log";
  // Each run logs "start <shell pid>" and "end <shell pid>", and first looks
  // whether an earlier run still runs ("overlap": not gone, not a zombie).
  // a's run ends on its own while a is stopped (or, on a machine slow enough
  // to take 9 s to start it, by its timeout: then it has no "end"); either
  // way it must be over before b's begins.
  WriteFile(f_.work + "/scripts/slow.sh",
            "#!/bin/sh\n"
            "for p in $(sed -n 's/^start \\([0-9]*\\)$/\\1/p' \"$1\" 2>/dev/null); do\n"
            "  s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)\n"
            "  if [ -n \"$s\" ] && [ \"$s\" != Z ]; then echo \"overlap $p\" >> \"$1\"; fi\n"
            "done\n"
            "echo \"start $$\" >> \"$1\"\nsleep 6\necho \"end $$\" >> \"$1\"\n");
  std::filesystem::permissions(f_.work + "/scripts/slow.sh", std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  const std::string pin =
      "artifact:\n  image: registry.example.com/shop/app\n  digest: " + Digest('f') +
      "\n  version: 1.0.0\ndeploy:\n  adapter: exec\n  exec:\n    command: [scripts/slow.sh, \"" +
      log + "\"]\n    timeout: 15s\n";
  const std::string commit =
      f_.CommitAndPush({{"environments/" + env + "/apps/api.yaml", pin}}, "Pin a slow api");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return std::filesystem::exists(log) && ReadFile(log).find("start") != std::string::npos &&
               RecordedBy(commit, "applying").count(env) > 0;
      },
      seconds(30), "a's adapter to start, announced on the remote"))
      << Logs();
  ::kill(a.child->id(), SIGSTOP);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto owners = Owners(replicas_["b"]);
        return owners.count(env) > 0 && owners.at(env) == "b";
      },
      seconds(15), "b to take " + env + " over"))
      << Logs();
  ASSERT_TRUE(WaitUntil([&] { return RecordedBy(commit, "verified").count(env) > 0; }, seconds(60),
                        "b to apply the change in the end"))
      << Logs();
  ::kill(a.child->id(), SIGCONT);
  // a's run was over before b's began, b's ran whole, and b recorded the
  // outcome.
  const std::string runs = ReadFile(log);
  std::istringstream lines(runs);
  std::vector<std::string> seen;
  for (std::string l; std::getline(lines, l);) seen.push_back(l);
  ASSERT_GE(seen.size(), 3u) << runs;
  EXPECT_EQ(runs.find("overlap"), std::string::npos) << runs;
  const std::string a_run = seen[0].substr(seen[0].find(' ') + 1);
  const std::string b_run = seen[seen.size() - 2].substr(seen[seen.size() - 2].find(' ') + 1);
  EXPECT_EQ(seen[0], "start " + a_run) << runs;
  if (seen.size() == 4) EXPECT_EQ(seen[1], "end " + a_run) << runs;  // else a killed it
  EXPECT_LE(seen.size(), 4u) << runs;
  EXPECT_NE(a_run, b_run) << runs;
  EXPECT_EQ(seen[seen.size() - 2], "start " + b_run) << runs;
  EXPECT_EQ(seen.back(), "end " + b_run) << runs;
  EXPECT_EQ(RecordedBy(commit, "verified").at(env), "b");
  EXPECT_NE(ReadFile(replicas_["b"].log).find("interrupted apply by a: waiting until"),
            std::string::npos)
      << Logs();
}

TEST_F(HaTest, StatusTheApiAndTheDashboardNameEachEnvironmentsOwner) {
  Replica& a = Start("a");
  Start("b");
  ASSERT_TRUE(WaitUntil([&] { return Spread({"a", "b"}); }, seconds(30), "three each")) << Logs();
  const auto owners = Owners(a);
  const std::string commit = PinAll('e');
  ASSERT_TRUE(WaitVerified(commit, seconds(60))) << Logs();

  // /api/v1/status: each row's owner as the replica's last look saw it.
  auto api = nlohmann::json::parse(Get(a, "/api/v1/status"), nullptr, false);
  ASSERT_TRUE(api.is_array()) << api.dump();
  ASSERT_EQ(api.size(), kEnvs.size());
  for (const auto& row : api) {
    EXPECT_EQ(row.value("owner", ""), owners.at(row.value("env", ""))) << row.dump();
  }
  // The dashboard renders the field.
  EXPECT_NE(Get(a, "/").find("Owned by replica "), std::string::npos);

  // `sluice status --etcd`: read from etcd, in JSON and in text.
  const std::vector<std::string> base = {SLUICE_BINARY,
                                         "status",
                                         "--repo",
                                         f_.url,
                                         "--workdir",
                                         tmp_.Sub("wd-status"),
                                         "--controller-keys",
                                         tmp_.Sub("controller-keys")};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  };
  CommandOutput r = with({"--etcd", etcd_.Url(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(rows.is_array()) << r.out;
  ASSERT_EQ(rows.size(), kEnvs.size());
  for (const auto& row : rows) {
    EXPECT_EQ(row.value("owner", ""), owners.at(row.value("env", ""))) << row.dump();
  }
  r = with({"--etcd", etcd_.Url(), "--env", "e1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("e1/api  in-sync\n  owner    " + owners.at("e1") + "\n"), std::string::npos)
      << r.out;
  // The same through --config (the controller's file, etcd: key).
  WriteFile(tmp_.Sub("status.yaml"), "etcd: [" + etcd_.Url() + "]\nleaseTtl: 3s\n");
  r = with({"--config", tmp_.Sub("status.yaml"), "--format", "json", "--env", "e2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_EQ(rows.size(), 1u) << r.out;
  EXPECT_EQ(rows[0].value("owner", ""), owners.at("e2"));

  // Without --etcd, no owner key (and etcd is not asked: it is down here).
  etcd_.Stop();
  r = with({"--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_EQ(rows.size(), kEnvs.size()) << r.out;
  for (const auto& row : rows) EXPECT_FALSE(row.contains("owner")) << row.dump();
  // With --etcd and etcd down: an error naming it, never a silent fallback.
  r = with({"--etcd", etcd_.Url()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--etcd: cannot read the owners: etcd at " + etcd_.Url() + " unreachable"),
            std::string::npos)
      << r.err;
  r = with({"--etcd-user", "sluice"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--etcd-user given without --etcd"), std::string::npos) << r.err;
  ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
}

TEST_F(HaTest, AnUnreachableOrMisconfiguredEtcdIsAClearErrorAtStart) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  CommandOutput r = RunCommand({SLUICE_BINARY, "controller", "--repo", f_.url, "--workdir",
                                tmp_.Sub("wd-x"), "--etcd", dead, "--instance-id", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--etcd: cannot get an etcd lease: etcd at " + dead + " unreachable"),
            std::string::npos)
      << r.err;

  r = RunCommand({SLUICE_BINARY, "controller", "--repo", f_.url, "--workdir", tmp_.Sub("wd-x"),
                  "--etcd-user", "sluice"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--etcd-user given without --etcd"), std::string::npos) << r.err;

  r = RunCommand({SLUICE_BINARY, "controller", "--repo", f_.url, "--workdir", tmp_.Sub("wd-x"),
                  "--etcd", etcd_.Url(), "--lease-ttl", "1s"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("from 2s"), std::string::npos) << r.err;

  r = RunCommand({SLUICE_BINARY, "controller", "--repo", f_.url, "--workdir", tmp_.Sub("wd-x"),
                  "--etcd", "127.0.0.1:2379"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not an http:// or https:// URL"), std::string::npos) << r.err;

  // The same through --config.
  WriteFile(tmp_.Sub("c.yaml"), "repo: " + f_.url + "\nworkdir: " + tmp_.Sub("wd-x") + "\netcd: [" +
                                    dead + "]\ninstanceId: x\nleaseTtl: 5s\n");
  r = RunCommand({SLUICE_BINARY, "controller", "--config", tmp_.Sub("c.yaml")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("etcd at " + dead + " unreachable"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::testing
