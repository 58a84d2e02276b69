// Notifications from real reconciler passes over a real repository: the
// reconcile only enqueues (a receiver holding the request does not hold up
// the deploy), and a blocked change is announced once, not every pass.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/time_format.h"
#include "engine/reconciler.h"
#include "notify/notifier.h"
#include "notify/repo_sink.h"
#include "support/engine_fixture.h"
#include "support/git_servers.h"
#include "support/http_receiver.h"
#include "support/temp_dir.h"
#include "verify/verifier.h"

namespace sluice::notify {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sluice::testing::Latch;
using sluice::testing::Receiver;
using std::chrono::seconds;

std::string D(char c) { return "sha256:" + std::string(64, c); }

class ReconcileNotifyTest : public sluice::testing::EngineFixture {
 protected:
  ReconcileNotifyTest() : EngineFixture(*ParseRfc3339("2026-11-24T10:00:00Z")), waiter_(clock_) {}

  std::string Pin(const std::string& digest, const std::string& version) {
    return "artifact:\n  image: r.example.com/shop/api\n  digest: " + digest +
           "\n  version: " + version + "\ndeploy:\n  adapter: exec\n  exec: {command: [touch, \"" +
           tmp_.Sub("ran-") + "{{env}}\"]}\n";
  }

  std::string Settings(const Receiver& r, const std::string& extra = "") {
    hook_url_ = r.Url("/hook");
    return "pipeline: [dev]\n" + extra + "notify:\n  - {target: hook}\n";
  }

  // A controller-like setup: one workspace, notifier and reconciler for
  // several passes.
  void Open() {
    ws_ = OpenWorkspace();
    ASSERT_NE(ws_, nullptr);
    notifier_ = std::make_unique<Notifier>(http_, clock_, waiter_);
    notifier_->Start();
    // The target as the controller's configuration defines it; sluice.yaml
    // names it.
    std::vector<std::shared_ptr<const Target>> targets;
    config::Notification hook;
    hook.name = "hook";
    hook.kind = "webhook";
    hook.url = hook_url_;
    EXPECT_TRUE(LoadTargets({hook}, targets).ok());
    sink_ = std::make_unique<RepoNotifySink>(*ws_, *notifier_, targets);
    engine::ReconcileOptions o;
    o.on_event = [this](const record::Event& e) { (*sink_)(e); };
    reconciler_ = MakeReconciler(*ws_, o);
  }

  std::string Pass() {
    auto report = reconciler_->RunOnce();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (!report.ok() || report->outcomes.empty()) return "(no outcome)";
    return std::string(record::OutcomeName(report->outcomes[0].state)) + ": " +
           report->outcomes[0].reason;
  }

  ClockWaiter waiter_;
  std::unique_ptr<record::Workspace> ws_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<RepoNotifySink> sink_;
  std::unique_ptr<engine::Reconciler> reconciler_;
  std::string hook_url_;  // set by Settings()
};

TEST_F(ReconcileNotifyTest, ASlowReceiverDoesNotDelayTheDeploy) {
  Latch release;
  std::atomic<bool> held_until_timeout{false};
  std::atomic<int> answered{0};
  Receiver hook([&](size_t, httplib::Response&) {
    // Holds every request until the test opens the latch. Had the pass
    // waited for this answer, the latch would only open by timing out.
    if (!release.Wait(seconds(30))) held_until_timeout = true;
    ++answered;
  });
  Push({{"sluice.yaml", Settings(hook)}, {"environments/dev/environment.yaml", "{}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('a'), "2.5.3")}});
  Open();

  std::string outcome = Pass();
  // The pass is over — applied and verified, recorded — while the receiver
  // holds the first notification and has answered nothing.
  EXPECT_EQ(outcome.substr(0, 9), "verified:") << outcome;
  EXPECT_TRUE(fs::exists(tmp_.Sub("ran-dev")));
  ASSERT_TRUE(hook.WaitForRequests(1));
  EXPECT_EQ(answered.load(), 0);
  EXPECT_FALSE(release.IsOpen());
  EXPECT_GE(notifier_->Snapshot().queue_depth, 1u);

  release.Open();
  ASSERT_TRUE(hook.WaitForRequests(2));
  ASSERT_TRUE(notifier_->WaitIdle(seconds(30)));
  EXPECT_FALSE(held_until_timeout.load());
  auto reqs = hook.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(json::parse(reqs[0].body)["event"]["event"], "applied");
  EXPECT_EQ(json::parse(reqs[1].body)["event"]["event"], "verified");
  EXPECT_EQ(
      json::parse(reqs[1].body)["summary"],
      "dev/api 2.5.3 verified: no verification checks configured: verified on a successful apply");
  Stats s = notifier_->Snapshot();
  EXPECT_EQ(s.sent["applied"], 1u);
  EXPECT_EQ(s.sent["verified"], 1u);
  notifier_->Shutdown(seconds(1));
}

TEST_F(ReconcileNotifyTest, ABlockedChangeIsAnnouncedOnceNotEveryPass) {
  Receiver hook;
  Push({{"sluice.yaml", Settings(hook, "groups:\n  release-managers: [alice]\n")},
        {"environments/dev/environment.yaml",
         "approval: {required: 1, from: [release-managers], evidence: signed}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('b'), "3.0.0")}});
  Open();

  for (int pass = 0; pass < 3; ++pass) {
    std::string outcome = Pass();
    EXPECT_EQ(outcome.substr(0, 8), "blocked:") << outcome;
  }
  ASSERT_TRUE(hook.WaitForRequests(1));
  notifier_->Shutdown(seconds(10));
  auto reqs = hook.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  json j = json::parse(reqs[0].body);
  EXPECT_EQ(j["event"]["event"], "blocked");
  EXPECT_EQ(j["event"]["env"], "dev");
  EXPECT_EQ(j["event"]["app"], "api");
  // The record does not stamp blocked events with a version: the sink reads it
  // from the pin so people see which release is stuck.
  EXPECT_EQ(j["event"]["version"], "3.0.0");
  EXPECT_NE(j["event"]["reason"].get<std::string>().find("direct push"), std::string::npos)
      << j.dump();
  EXPECT_EQ(notifier_->Snapshot().sent["blocked"], 1u);
}

}  // namespace
}  // namespace sluice::notify
