// deploy.strategy end to end (SPEC 1.4): the real `sluice` binary, a real
// git daemon, the exec adapter's own log of each run's SLUICE_WEIGHT /
// SLUICE_SLOT / SLUICE_ACTION, and a real HTTP server the verification asks,
// whose answer depends on what the adapter rolled out.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <boost/process.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "env_repo_fixture.h"
#include "support/prometheus.h"
#include "support/stop_child.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

// Stand-in rollout: logs "<digest> weight=<w> slot=<s> action=<a>" to
// <state>/rollouts.log and records what now takes the traffic in
// <state>/running ("<digest> <weight>" or "<digest> <slot> <action>");
// hangs (pid in <state>/hung.pid) when <state>/hang-<weight> exists; fails
// when <state>/fail-<action>-<slot> exists.
constexpr char kRolloutScript[] = R"(#!/bin/sh
set -eu
state="$2"
echo "$1 weight=${SLUICE_WEIGHT:-} slot=${SLUICE_SLOT:-} action=${SLUICE_ACTION:-}" >> "$state/rollouts.log"
if [ -f "$state/hang-${SLUICE_WEIGHT:-x}" ]; then
  echo $$ > "$state/hung.pid.tmp" && mv "$state/hung.pid.tmp" "$state/hung.pid"
  exec sleep 600
fi
if [ -f "$state/fail-${SLUICE_ACTION:-x}-${SLUICE_SLOT:-x}" ]; then
  echo "switch to $SLUICE_SLOT failed: load balancer refused" >&2
  exit 4
fi
printf '%s %s\n' "$1" "${SLUICE_WEIGHT:-${SLUICE_SLOT:-}}" > "$state/running.tmp"
mv "$state/running.tmp" "$state/running"
echo "rolled out $1"
)";

// The service's health endpoint: 500 while the `bad` digest takes traffic
// (running with a weight above 0), 200 otherwise. Every answer is logged
// with what ran at the time.
class Service {
 public:
  Service(std::string state, std::string bad) : state_(std::move(state)), bad_(std::move(bad)) {
    server_.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
      std::string running;
      if (std::ifstream file(state_ + "/running"); file) std::getline(file, running);
      while (!running.empty() && running.back() == '\n') running.pop_back();
      std::istringstream in(running);
      std::string digest, weight;
      in >> digest >> weight;
      const bool sick = !bad_.empty() && digest == bad_ && weight != "0";
      {
        std::lock_guard lock(mu_);
        asked_.push_back(running);
      }
      res.status = sick ? 500 : 200;
      res.set_content(sick ? "errors" : "ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    WaitUntil([this] { return server_.is_running(); }, std::chrono::seconds(10),
              "the service to listen");
  }
  ~Service() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/ready"; }
  std::vector<std::string> Asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }

 private:
  std::string state_;
  std::string bad_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> asked_;
};

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& state) {
  for (const auto& o : pass["outcomes"]) {
    if (o["app"] == "api" && o["state"] == state) return &o;
  }
  return nullptr;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "kind" or "step:<step>:<phase>" per event of api.
std::vector<std::string> Story(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.value("app", "") != "api") continue;
    std::string kind = e["event"];
    if (kind == "step") {
      kind += ":" + std::to_string(e.value("step", 0)) + ":" + e.value("phase", "");
      if (e.value("action", "") == "abort") kind += ":abort";
    }
    out.push_back(kind);
  }
  return out;
}

class CanaryTest : public ::testing::Test {
 protected:
  void SetUpService(const std::string& bad_digest) {
    service_ = std::make_unique<Service>(f_.state, bad_digest);
    const std::string script = f_.work + "/scripts/rollout.sh";
    WriteFile(script, kRolloutScript);
    fs::permissions(script, fs::perms::owner_all, fs::perm_options::add);
    f_.CommitAndPush({{"scripts/rollout.sh", kRolloutScript},
                      {"environments/dev/environment.yaml",
                       "onFailure: rollback\n"
                       "verification:\n"
                       "  checks:\n"
                       "    - http: {url: \"" +
                           service_->Url() + "\", retries: 0}\n"}},
                     "dev: canary verification, roll back by itself");
  }

  std::string Pin(const std::string& digest, const std::string& strategy,
                  const std::string& version = "1.0.0") const {
    return "artifact:\n  image: registry.example.com/shop/api\n  digest: " + digest +
           "\n  version: " + version + "\ndeploy:\n  adapter: exec\n  strategy:\n" + strategy +
           "  exec:\n    command: [scripts/rollout.sh, \"{{digest}}\", \"" + f_.state +
           "\"]\n    timeout: 1m\n";
  }

  std::vector<std::string> Rollouts() const { return Lines(ReadFile(f_.state + "/rollouts.log")); }

  EnvRepoFixture f_;
  std::unique_ptr<Service> service_;
};

constexpr char kThreeSteps[] =
    "    canary:\n      steps: [{weight: 10}, {weight: 50}, {weight: 100}]\n";

TEST_F(CanaryTest, RunsTheAdapterOncePerWeightAndVerifiesAfterEach) {
  SetUpService("");
  std::string commit = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(Digest('a'), kThreeSteps)}}, "api 1.0.0 as a canary");
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "verified"), nullptr) << pass.dump(2);
  const std::string a = Digest('a');
  EXPECT_EQ(Rollouts(), (std::vector<std::string>{
                            a + " weight=10 slot= action=", a + " weight=50 slot= action=",
                            a + " weight=100 slot= action="}));
  // Verified after each weight: the service was asked at 10, 50 and 100.
  EXPECT_EQ(service_->Asked(), (std::vector<std::string>{a + " 10", a + " 50", a + " 100"}));
  auto events = f_.RemoteEvents(commit);
  EXPECT_EQ(Story(events), (std::vector<std::string>{
                               "applying", "step:1:applying", "step:1:verifying", "step:1:verified",
                               "step:2:applying", "step:2:verifying", "step:2:verified",
                               "step:3:applying", "step:3:verifying", "applied", "verified"}))
      << nlohmann::json(events).dump(2);
  const nlohmann::json& step2 = events[5];
  EXPECT_EQ(step2["weight"], 50);
  EXPECT_EQ(step2["steps"], 3);
  EXPECT_EQ(step2["action"], "deploy");
  EXPECT_EQ(f_.RemoteRef("refs/sluice/lkg/dev/api"), commit);

  // The audit has a row per step with its time.
  CommandOutput audit = f_.Sluice({"audit", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  auto report = nlohmann::json::parse(audit.out);
  const nlohmann::json* change = nullptr;
  for (const auto& c : report["changes"]) {
    if (c["commit"] == commit) change = &c;
  }
  ASSERT_NE(change, nullptr) << report.dump(2);
  ASSERT_EQ((*change)["steps"].size(), 8u) << change->dump(2);
  EXPECT_EQ((*change)["steps"][4]["text"], "canary 50%, verifying");
  EXPECT_EQ((*change)["steps"][4]["time"], step2["time"]);
  CommandOutput md = f_.Sluice({"audit", "--log-level", "off"});
  EXPECT_NE(md.out.find("## Release steps"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| 2 of 3 | canary 50%, verified |"), std::string::npos) << md.out;
}

TEST_F(CanaryTest, ACanaryThatFailsAtTenPercentReturnsTrafficAndRollsBackByItself) {
  const std::string a = Digest('a');
  const std::string b = Digest('b');
  SetUpService(b);
  std::string good = f_.CommitAndPush({{"environments/dev/apps/api.yaml", Pin(a, kThreeSteps)}},
                                      "api 1.0.0 as a canary");
  ASSERT_NE(Outcome(f_.Reconcile(), "verified"), nullptr);
  std::string bad = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(b, kThreeSteps, "2.0.0")}}, "api 2.0.0");
  nlohmann::json pass = f_.Reconcile(/*expected_exit=*/1);
  ASSERT_NE(Outcome(pass, "failed"), nullptr) << pass.dump(2);
  // 10% of the bad release, then the traffic back to the old one (weight
  // 0). The old release never stopped running at 100 - 10%: the rollback
  // commit only brings Git back to it, with nothing to apply.
  std::vector<std::string> runs = Rollouts();
  ASSERT_EQ(runs.size(), 5u) << ReadFile(f_.state + "/rollouts.log");
  EXPECT_EQ(runs[3], b + " weight=10 slot= action=");
  EXPECT_EQ(runs[4], b + " weight=0 slot= action=");

  auto events = f_.RemoteEvents(bad);
  EXPECT_EQ(Story(events),
            (std::vector<std::string>{"applying", "step:1:applying", "step:1:verifying",
                                      "step:1:failed", "step:1:verified:abort", "failed"}))
      << nlohmann::json(events).dump(2);
  const std::string reason = events.back()["reason"];
  EXPECT_NE(reason.find("step 1 of 3 (canary 10%) verification failed"), std::string::npos)
      << reason;
  EXPECT_NE(reason.find("traffic returned to the old release (weight 0)"), std::string::npos)
      << reason;
  EXPECT_NE(reason.find("rolled back by"), std::string::npos) << reason;
  EXPECT_EQ(events[4]["weight"], 0);
  // The rollback commit restores the good pin, which stays the deployed
  // release and the LKG: dev/api is in sync again.
  std::string rollback = f_.RemoteRef("refs/heads/main");
  EXPECT_NE(rollback, bad);
  EXPECT_EQ(Git(f_.bare, {"show", rollback + ":environments/dev/apps/api.yaml"}).out,
            Git(f_.bare, {"show", good + ":environments/dev/apps/api.yaml"}).out);
  EXPECT_EQ(f_.RemoteRef("refs/sluice/deployed/dev/api"), good);
  EXPECT_EQ(f_.RemoteRef("refs/sluice/lkg/dev/api"), good);
  CommandOutput status =
      f_.Sluice({"status", "--env", "dev", "--format", "json", "--log-level", "off"});
  auto rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["state"], "in-sync") << rows[0].dump(2);

  // The incident report shows the steps with their times.
  CommandOutput incident =
      f_.Sluice({"incident-report", "dev", "api", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(incident.exit_code, 0) << incident.err;
  auto report = nlohmann::json::parse(incident.out);
  bool abort_row = false;
  for (const auto& t : report["timeline"]) {
    if (t["event"] == "step" &&
        t["text"].get<std::string>().find("step 1 of 3: canary 0%: traffic back on the old "
                                          "release") == 0) {
      abort_row = t["time"] == events[4]["time"];
    }
  }
  EXPECT_TRUE(abort_row) << report.dump(2);
}

TEST_F(CanaryTest, AKilledControllerResumesAtTheRecordedStepAndNeverRepeatsAFinishedOne) {
  SetUpService("");
  const std::string a = Digest('a');
  WriteFile(f_.state + "/hang-50", "");
  std::string commit =
      f_.CommitAndPush({{"environments/dev/apps/api.yaml", Pin(a, kThreeSteps)}}, "api 1.0.0");
  bp::child controller(std::string(SLUICE_BINARY), "reconcile", "--once", "--repo", f_.url,
                       "--workdir", f_.workdir, "--log-level", "off", bp::std_out > bp::null,
                       bp::std_err > bp::null);
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(f_.state + "/hung.pid"); },
                        std::chrono::seconds(30), "step 2's adapter to start (hung.pid)"));
  // The record reaches the remote in batches while the pass runs.
  EXPECT_TRUE(WaitUntil([&] { return Story(f_.RemoteEvents(commit)).size() == 5; },
                        std::chrono::seconds(10), "step 2's `applying` on the remote"));
  ::kill(controller.id(), SIGKILL);
  controller.wait();
  pid_t hung = std::stoi(ReadFile(f_.state + "/hung.pid"));
  EXPECT_TRUE(WaitUntil([&] { return !IsAlive(hung); }, std::chrono::seconds(10),
                        "the hung rollout to die with its controller"));
  EXPECT_EQ(Story(f_.RemoteEvents(commit)),
            (std::vector<std::string>{"applying", "step:1:applying", "step:1:verifying",
                                      "step:1:verified", "step:2:applying"}));
  // Meanwhile `status` says where the release stands.
  CommandOutput status;
  EXPECT_TRUE(WaitUntil(
      [&] {
        status = f_.Sluice({"status", "--env", "dev", "--log-level", "off"});
        return status.out.find("  step     canary 50%, applying (step 2 of 3)") !=
               std::string::npos;
      },
      std::chrono::seconds(10), "status to show step 2"))
      << "exit " << status.exit_code << "\n"
      << status.out << status.err;

  fs::remove(f_.state + "/hang-50");
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "verified"), nullptr) << pass.dump(2);
  // Step 1 ran once; step 2, cut short, ran again; then step 3.
  EXPECT_EQ(Rollouts(), (std::vector<std::string>{
                            a + " weight=10 slot= action=", a + " weight=50 slot= action=",
                            a + " weight=50 slot= action=", a + " weight=100 slot= action="}));
  EXPECT_EQ(Story(f_.RemoteEvents(commit)),
            (std::vector<std::string>{"applying", "step:1:applying", "step:1:verifying",
                                      "step:1:verified", "step:2:applying", "step:2:applying",
                                      "step:2:verifying", "step:2:verified", "step:3:applying",
                                      "step:3:verifying", "applied", "verified"}));
}

TEST_F(CanaryTest, APauseWaitsWithoutRepeatingTheStepBeforeIt) {
  SetUpService("");
  const std::string a = Digest('a');
  std::string commit = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml",
        Pin(a, "    canary:\n      steps: [{weight: 10}, {pause: 1h}, {weight: 100}]\n")}},
      "api 1.0.0 with a pause");
  nlohmann::json pass = f_.Reconcile();
  const nlohmann::json* waiting = Outcome(pass, "waiting");
  ASSERT_NE(waiting, nullptr) << pass.dump(2);
  EXPECT_EQ((*waiting)["reason"].get<std::string>().rfind("canary 10%, paused until ", 0), 0u)
      << waiting->dump();
  // The controller wakes when the pause ends, without a new commit.
  ASSERT_TRUE(pass.contains("nextDue")) << pass.dump(2);
  // A second process waits too: step 1 is not run again.
  nlohmann::json again = f_.Reconcile();
  ASSERT_NE(Outcome(again, "waiting"), nullptr) << again.dump(2);
  EXPECT_EQ(Rollouts(), (std::vector<std::string>{a + " weight=10 slot= action="}));
  EXPECT_EQ(Story(f_.RemoteEvents(commit)),
            (std::vector<std::string>{"applying", "step:1:applying", "step:1:verifying",
                                      "step:1:verified", "step:2:paused"}));
  CommandOutput status =
      f_.Sluice({"status", "--env", "dev", "--format", "json", "--log-level", "off"});
  auto rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["state"], "waiting");
  EXPECT_EQ(rows[0]["step"].get<std::string>().rfind("canary 10%, paused until ", 0), 0u)
      << rows[0].dump(2);
}

TEST_F(CanaryTest, BlueGreenDeploysToTheIdleSlotVerifiesItThenSwitches) {
  SetUpService("");
  const std::string a = Digest('a');
  const std::string c = Digest('c');
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", Pin(a, "    blueGreen: {}\n")}},
                   "api 1.0.0 blue-green");
  ASSERT_NE(Outcome(f_.Reconcile(), "verified"), nullptr);
  std::string second = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(c, "    blueGreen: {}\n", "1.1.0")}}, "api 1.1.0");
  ASSERT_NE(Outcome(f_.Reconcile(), "verified"), nullptr);
  // Nothing was live: blue first, then the idle slot green.
  EXPECT_EQ(Rollouts(),
            (std::vector<std::string>{
                a + " weight= slot=blue action=deploy", a + " weight= slot=blue action=switch",
                c + " weight= slot=green action=deploy", c + " weight= slot=green action=switch"}));
  // Verified on the idle slot, before the switch.
  EXPECT_EQ(service_->Asked(), (std::vector<std::string>{a + " blue", c + " green"}));
  auto events = f_.RemoteEvents(second);
  EXPECT_EQ(Story(events), (std::vector<std::string>{
                               "applying", "step:1:applying", "step:1:verifying", "step:1:verified",
                               "step:2:applying", "step:2:verified", "applied", "verified"}))
      << nlohmann::json(events).dump(2);
  EXPECT_EQ(events[5]["slot"], "green");
  EXPECT_EQ(events[5]["action"], "switch");
}

TEST_F(CanaryTest, ABlueGreenReleaseThatFailsOnTheIdleSlotNeverSwitches) {
  const std::string a = Digest('a');
  const std::string c = Digest('c');
  SetUpService(c);
  std::string good = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(a, "    blueGreen: {}\n")}}, "api 1.0.0 blue-green");
  ASSERT_NE(Outcome(f_.Reconcile(), "verified"), nullptr);
  std::string bad = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(c, "    blueGreen: {}\n", "1.1.0")}}, "api 1.1.0");
  nlohmann::json pass = f_.Reconcile(/*expected_exit=*/1);
  ASSERT_NE(Outcome(pass, "failed"), nullptr) << pass.dump(2);
  // Deployed to green, verified there (failing), never switched: blue, the
  // live slot, kept all the traffic.
  EXPECT_EQ(Rollouts(), (std::vector<std::string>{a + " weight= slot=blue action=deploy",
                                                  a + " weight= slot=blue action=switch",
                                                  c + " weight= slot=green action=deploy"}));
  auto events = f_.RemoteEvents(bad);
  EXPECT_EQ(Story(events),
            (std::vector<std::string>{"applying", "step:1:applying", "step:1:verifying",
                                      "step:1:failed", "failed"}))
      << nlohmann::json(events).dump(2);
  const std::string reason = events.back()["reason"];
  EXPECT_NE(reason.find("step 1 of 2 (green before the switch) verification failed"),
            std::string::npos)
      << reason;
  EXPECT_EQ(f_.RemoteRef("refs/sluice/deployed/dev/api"), good);
}

TEST_F(CanaryTest, AFailedBlueGreenSwitchSwitchesBackToTheLiveSlot) {
  const std::string a = Digest('a');
  const std::string c = Digest('c');
  SetUpService("");
  std::string good = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(a, "    blueGreen: {}\n")}}, "api 1.0.0 blue-green");
  ASSERT_NE(Outcome(f_.Reconcile(), "verified"), nullptr);
  WriteFile(f_.state + "/fail-switch-green", "");
  std::string bad = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml", Pin(c, "    blueGreen: {}\n", "1.1.0")}}, "api 1.1.0");
  nlohmann::json pass = f_.Reconcile(/*expected_exit=*/1);
  ASSERT_NE(Outcome(pass, "failed"), nullptr) << pass.dump(2);
  EXPECT_EQ(Rollouts(),
            (std::vector<std::string>{
                a + " weight= slot=blue action=deploy", a + " weight= slot=blue action=switch",
                c + " weight= slot=green action=deploy", c + " weight= slot=green action=switch",
                c + " weight= slot=blue action=switch"}));
  auto events = f_.RemoteEvents(bad);
  EXPECT_EQ(Story(events),
            (std::vector<std::string>{"applying", "step:1:applying", "step:1:verifying",
                                      "step:1:verified", "step:2:applying", "step:2:failed",
                                      "step:2:verified:abort", "failed"}))
      << nlohmann::json(events).dump(2);
  EXPECT_EQ(events[6]["slot"], "blue");
  const std::string reason = events.back()["reason"];
  EXPECT_NE(reason.find("step 2 of 2 (switch green): exit 4"), std::string::npos) << reason;
  EXPECT_NE(reason.find("; switched back to blue"), std::string::npos) << reason;
  EXPECT_EQ(f_.RemoteRef("refs/sluice/deployed/dev/api"), good);
}

// Prometheus queries may compare the canary at its weight: {{weight}} is the
// step's weight. The service reports a series per weight it takes traffic
// at; a query left with "{{weight}}" in it would find none and fail.
TEST_F(CanaryTest, PrometheusQueriesSeeTheStepsWeight) {
  MetricsExporter exporter([] {
    return std::string(
        "# TYPE sluice_canary_healthy gauge\n"
        "sluice_canary_healthy{weight=\"10\"} 1\n"
        "sluice_canary_healthy{weight=\"100\"} 1\n");
  });
  PrometheusServer prometheus({exporter.Target()}, std::chrono::milliseconds(250));
  ASSERT_TRUE(prometheus.ready()) << prometheus.Log();
  ASSERT_TRUE(prometheus.WaitForValue(R"(max(sluice_canary_healthy{weight="100"}))", 1));
  const std::string script = f_.work + "/scripts/rollout.sh";
  WriteFile(script, kRolloutScript);
  fs::permissions(script, fs::perms::owner_all, fs::perm_options::add);
  f_.CommitAndPush(
      {{"scripts/rollout.sh", kRolloutScript},
       {"environments/dev/environment.yaml",
        "verification:\n  checks:\n    - prometheus:\n        url: " + prometheus.Url() +
            "\n        query: 'max(sluice_canary_healthy{weight=\"{{weight}}\"})'\n"
            "        min: 1\n"}},
      "dev: verify the canary at its weight");
  std::string commit = f_.CommitAndPush(
      {{"environments/dev/apps/api.yaml",
        Pin(Digest('a'), "    canary:\n      steps: [{weight: 10}, {weight: 100}]\n")}},
      "api 1.0.0 as a canary");
  nlohmann::json pass = f_.Reconcile();
  ASSERT_NE(Outcome(pass, "verified"), nullptr) << pass.dump(2);
  auto events = f_.RemoteEvents(commit);
  ASSERT_EQ(Story(events)[3], "step:1:verified") << nlohmann::json(events).dump(2);
  EXPECT_NE(events[3]["reason"].get<std::string>().find("passed"), std::string::npos)
      << events[3].dump();
}

TEST_F(CanaryTest, ValidateNamesTheFileLineAndFixOfABadStrategy) {
  SetUpService("");
  WriteFile(f_.work + "/environments/dev/apps/api.yaml",
            Pin(Digest('a'), "    canary:\n      steps: [{weight: 10}, {weight: 50}]\n"));
  CommandOutput out = f_.Sluice({"validate", "--repo", f_.work}, /*with_repo=*/false);
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.out.find("environments/dev/apps/api.yaml:9: deploy.strategy.canary.steps ends at "
                         "weight 50, so the release would never take all traffic; end the steps "
                         "with { weight: 100 }"),
            std::string::npos)
      << out.out << out.err;
}

}  // namespace
}  // namespace sluice::testing
