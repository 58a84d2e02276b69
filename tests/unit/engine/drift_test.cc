// Drift checks (issue #5) through real reconciler passes on a real
// repository, with an injected clock and a fake adapter standing in for
// helm/terraform (their exact commands are asserted in the adapter tests and
// in tests/integration/drift_test.cc).
#include "engine/drift.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "engine/reconciler.h"
#include "record/refs.h"
#include "reports/status_view.h"
#include "support/engine_fixture.h"
#include "support/git_servers.h"
#include "support/temp_dir.h"
#include "verify/verifier.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;
using testing::Git;

std::string D(char c) { return "sha256:" + std::string(64, c); }

// What the fake cluster runs, and every adapter call in order.
struct FakeCluster {
  std::mutex mu;
  std::vector<std::string> calls;                         // "apply dev/api", "inspect dev/api"
  std::map<std::string, adapters::Observation> observed;  // "env/app" -> answer
  std::map<std::string, Status> errors;                   // "env/app" -> failing check
};

class FakeAdapter final : public adapters::Adapter {
 public:
  explicit FakeAdapter(FakeCluster& c) : c_(c) {}
  std::string_view Name() const override { return "helm"; }
  Result<adapters::ApplyResult> Apply(const adapters::ApplyRequest& req) override {
    std::lock_guard lock(c_.mu);
    c_.calls.push_back("apply " + req.env + "/" + req.app);
    adapters::ApplyResult r;
    r.ok = true;
    r.exit_code = 0;
    r.summary = "applied by the fake";
    return r;
  }
  Result<adapters::Observation> Inspect(const adapters::ApplyRequest& req) override {
    std::lock_guard lock(c_.mu);
    const std::string key = req.env + "/" + req.app;
    c_.calls.push_back("inspect " + key);
    EXPECT_TRUE(fs::is_directory(req.checkout_dir)) << "the deployed commit is checked out";
    if (auto e = c_.errors.find(key); e != c_.errors.end()) return e->second;
    if (auto o = c_.observed.find(key); o != c_.observed.end()) return o->second;
    adapters::Observation same;
    same.state = adapters::Observed::kPinDeployed;
    same.exit_code = 0;
    return same;
  }

 private:
  FakeCluster& c_;
};

adapters::Observation Drifted(std::string detail, int exit_code = 0) {
  adapters::Observation o;
  o.state = adapters::Observed::kOtherDeployed;
  o.detail = std::move(detail);
  o.exit_code = exit_code;
  o.duration = std::chrono::milliseconds(120);
  return o;
}

class DriftTest : public testing::EngineFixture {
 protected:
  DriftTest() {
    Push({{"sluice.yaml", "pipeline: [dev]\n"}, {"environments/dev/environment.yaml", "{}\n"}});
  }

  static std::string HelmPin(const std::string& app, const std::string& digest) {
    return "artifact:\n  image: r.example.com/shop/" + app + "\n  digest: " + digest +
           "\ndeploy:\n  adapter: helm\n  helm: {release: " + app +
           ", chart: oci://r.example.com/charts/" + app + ", namespace: shop}\n";
  }
  std::string ExecPin(const std::string& digest) {
    return "artifact:\n  image: r.example.com/shop/job\n  digest: " + digest +
           "\ndeploy:\n  adapter: exec\n  exec: {command: [touch, \"" + tmp_.Sub("ran") + "\"]}\n";
  }

  // The long-lived reconciler of a daemon: drift checks remember when they ran.
  Reconciler& R(DriftOptions drift = {}) {
    if (!reconciler_) {
      ws_ = OpenWorkspace();
      ReconcileOptions opts;
      opts.drift = std::move(drift);
      opts.make_adapter =
          [this](config::AdapterKind kind,
                 process::CommandRunner& runner) -> Result<std::unique_ptr<adapters::Adapter>> {
        if (kind == config::AdapterKind::kExec) return adapters::MakeAdapter(kind, runner);
        return std::unique_ptr<adapters::Adapter>(std::make_unique<FakeAdapter>(cluster_));
      };
      reconciler_ = MakeReconciler(*ws_, std::move(opts));
    }
    return *reconciler_;
  }

  record::PassReport Pass() {
    auto report = R().RunOnce();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : record::PassReport{};
  }

  std::vector<std::string> Calls() {
    std::lock_guard lock(cluster_.mu);
    return cluster_.calls;
  }
  void ClearCalls() {
    std::lock_guard lock(cluster_.mu);
    cluster_.calls.clear();
  }
  void Observe(const std::string& key, adapters::Observation o) {
    std::lock_guard lock(cluster_.mu);
    cluster_.errors.erase(key);
    cluster_.observed[key] = std::move(o);
  }

  // The `drift` events in the remote's note on `commit`.
  std::vector<record::Event> DriftEvents(const std::string& commit) {
    auto note = Git(bare_, {"notes", "--ref=sluice", "show", commit}, /*allow_failure=*/true);
    std::vector<record::Event> out;
    for (auto& e : record::ParseNote(note.out)) {
      if (e.kind == record::EventKind::kDrift) out.push_back(std::move(e));
    }
    return out;
  }

  static const record::AppOutcome* Find(const record::PassReport& p, const std::string& state) {
    for (const auto& o : p.outcomes) {
      if (record::OutcomeName(o.state) == state) return &o;
    }
    return nullptr;
  }

  FakeCluster cluster_;
  std::unique_ptr<record::Workspace> ws_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(DriftTest, DriftIsRecordedOnceWhileItLastsAndResolvedWhenItEnds) {
  R();  // default options: every 10m
  std::string deployed = Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('a'))}});
  record::PassReport first = Pass();
  ASSERT_NE(Find(first, "verified"), nullptr);
  // Just applied: what runs is the pin, no check before the interval is over.
  EXPECT_EQ(first.drift_checks, 0u);
  EXPECT_EQ(Calls(), std::vector<std::string>{"apply dev/api"});

  clock_.Advance(minutes(10));
  record::PassReport in_sync = Pass();
  EXPECT_EQ(in_sync.drift_checks, 1u);
  EXPECT_TRUE(in_sync.outcomes.empty());
  EXPECT_TRUE(DriftEvents(deployed).empty());

  Observe("dev/api", Drifted("helm release api (namespace shop): image.digest sha256:bbb… ≠ "
                             "pinned sha256:aaa…"));
  clock_.Advance(minutes(5));
  EXPECT_EQ(Pass().drift_checks, 0u);  // not due yet
  clock_.Advance(minutes(5));
  record::PassReport found = Pass();
  EXPECT_EQ(found.drift_checks, 1u);
  const record::AppOutcome* drift = Find(found, "drift");
  ASSERT_NE(drift, nullptr);
  EXPECT_EQ(drift->commit, deployed);
  EXPECT_EQ(drift->reason,
            "helm release api (namespace shop): image.digest sha256:bbb… ≠ pinned sha256:aaa…");
  std::vector<record::Event> events = DriftEvents(deployed);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].digest, D('a'));
  EXPECT_EQ(events[0].commit, deployed);
  EXPECT_EQ(events[0].time, clock_.Now());
  EXPECT_FALSE(events[0].resolved);
  ASSERT_TRUE(events[0].adapter.has_value());
  EXPECT_EQ(events[0].adapter->name, "helm");
  EXPECT_EQ(events[0].adapter->exit_code, 0);
  EXPECT_EQ(events[0].adapter->duration_ms, 120);

  // `sluice status`: still in sync with Git, with the drift as a reason.
  auto rows = reports::ComputeStatus(*ws_, "dev", "api");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].state, "in-sync");
  ASSERT_EQ((*rows)[0].reasons.size(), 1u);
  EXPECT_EQ(
      (*rows)[0].reasons[0].rfind("drift: helm release api (namespace shop): image.digest", 0), 0u)
      << (*rows)[0].reasons[0];

  // The same drift seen again is not recorded again.
  clock_.Advance(minutes(10));
  record::PassReport again = Pass();
  EXPECT_EQ(again.drift_checks, 1u);
  EXPECT_EQ(Find(again, "drift"), nullptr);
  EXPECT_EQ(DriftEvents(deployed).size(), 1u);

  // Another difference is news.
  Observe("dev/api", Drifted("helm release api (namespace shop): status failed at revision 3"));
  clock_.Advance(minutes(10));
  ASSERT_NE(Find(Pass(), "drift"), nullptr);
  ASSERT_EQ(DriftEvents(deployed).size(), 2u);

  // Gone: one resolving event, and status stops showing it.
  Observe("dev/api", adapters::Observation{adapters::Observed::kPinDeployed, "", 0, {}});
  clock_.Advance(minutes(10));
  const record::AppOutcome* resolved = Find(Pass(), "drift-resolved");
  ASSERT_NE(resolved, nullptr);
  events = DriftEvents(deployed);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[2].resolved);
  EXPECT_EQ(events[2].reason.rfind("drift resolved: what runs matches the pin again", 0), 0u);
  rows = reports::ComputeStatus(*ws_, "dev", "api");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].state, "in-sync");
  EXPECT_TRUE((*rows)[0].reasons.empty());

  clock_.Advance(minutes(10));
  Pass();
  EXPECT_EQ(DriftEvents(deployed).size(), 3u);
  // Drift never applies anything by itself.
  std::vector<std::string> calls = Calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "apply dev/api"), 1);
}

TEST_F(DriftTest, ChecksAreBoundedPerPassAndSpreadOverPasses) {
  DriftOptions drift;
  drift.max_checks_per_pass = 2;
  R(drift);
  std::map<std::string, std::optional<std::string>> pins;
  for (char c : std::string("abcde")) {
    pins["environments/dev/apps/" + std::string(1, c) + ".yaml"] = HelmPin(std::string(1, c), D(c));
  }
  Push(pins);
  ASSERT_EQ(Pass().outcomes.size(), 5u);
  ClearCalls();

  clock_.Advance(minutes(10));
  EXPECT_EQ(Pass().drift_checks, 2u);
  clock_.Advance(minutes(1));
  EXPECT_EQ(Pass().drift_checks, 2u);
  clock_.Advance(minutes(1));
  EXPECT_EQ(Pass().drift_checks, 1u);
  clock_.Advance(minutes(1));
  EXPECT_EQ(Pass().drift_checks, 0u);  // each pin checked once per interval
  EXPECT_EQ(Calls(), (std::vector<std::string>{"inspect dev/a", "inspect dev/b", "inspect dev/c",
                                               "inspect dev/d", "inspect dev/e"}));
  // Ten minutes after their check, a and b are due again; c, d and e not yet.
  clock_.Advance(minutes(7));
  ClearCalls();
  EXPECT_EQ(Pass().drift_checks, 2u);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"inspect dev/a", "inspect dev/b"}));
}

TEST_F(DriftTest, CheckAllNowIgnoresTheIntervalAndTheBound) {
  DriftOptions drift;
  drift.interval = std::chrono::milliseconds(0);
  drift.check_all_now = true;
  drift.max_checks_per_pass = 1;
  R(drift);
  Push({{"environments/dev/apps/a.yaml", HelmPin("a", D('a'))},
        {"environments/dev/apps/b.yaml", HelmPin("b", D('b'))},
        {"environments/dev/apps/c.yaml", HelmPin("c", D('c'))}});
  Pass();
  EXPECT_EQ(Pass().drift_checks, 3u);
  EXPECT_EQ(Pass().drift_checks, 3u);
}

TEST_F(DriftTest, ZeroIntervalTurnsChecksOff) {
  DriftOptions drift;
  drift.interval = std::chrono::milliseconds(0);
  R(drift);
  Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('a'))}});
  Pass();
  clock_.Advance(std::chrono::hours(24));
  EXPECT_EQ(Pass().drift_checks, 0u);
  EXPECT_EQ(Calls(), std::vector<std::string>{"apply dev/api"});
}

TEST_F(DriftTest, ExecPinsNeverDriftAndCostNoCheck) {
  DriftOptions drift;
  drift.check_all_now = true;
  R(drift);
  std::string deployed = Push({{"environments/dev/apps/job.yaml", ExecPin(D('e'))}});
  ASSERT_NE(Find(Pass(), "verified"), nullptr);
  ASSERT_TRUE(fs::exists(tmp_.Sub("ran")));
  record::PassReport p = Pass();
  EXPECT_EQ(p.drift_checks, 0u);
  EXPECT_TRUE(p.outcomes.empty());
  EXPECT_TRUE(Calls().empty());
  EXPECT_TRUE(DriftEvents(deployed).empty());
}

// An exec pin is read once and then left alone while it stays deployed
// (drift never reads its record again); the same app moved to Helm is a new
// deployed commit, and is checked like any Helm pin.
TEST_F(DriftTest, AnExecPinIsSkippedUntilAnotherCommitIsDeployed) {
  DriftOptions drift;
  drift.check_all_now = true;
  R(drift);
  Push({{"environments/dev/apps/job.yaml", ExecPin(D('e'))}});
  ASSERT_NE(Find(Pass(), "verified"), nullptr);
  EXPECT_EQ(Pass().drift_checks, 0u);
  EXPECT_EQ(Pass().drift_checks, 0u);

  std::string helm = Push({{"environments/dev/apps/job.yaml", HelmPin("job", D('b'))}});
  ASSERT_NE(Find(Pass(), "verified"), nullptr);
  ClearCalls();
  Observe("dev/job", Drifted("image r.example.com/shop/job@sha256:0000 runs"));
  record::PassReport p = Pass();
  EXPECT_EQ(p.drift_checks, 1u);
  EXPECT_EQ(Calls(), std::vector<std::string>{"inspect dev/job"});
  ASSERT_EQ(DriftEvents(helm).size(), 1u);
}

TEST_F(DriftTest, PendingApplyRunsBeforeDriftChecks) {
  R();
  Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('a'))}});
  Pass();
  clock_.Advance(minutes(10));
  Observe("dev/api", Drifted("helm release api (namespace shop): not found"));
  Push({{"environments/dev/apps/web.yaml", HelmPin("web", D('b'))}});
  record::PassReport p = Pass();
  // The new pin is applied first; the due drift check of api waits for it,
  // and the pin just applied is not checked in the same pass.
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"apply dev/api", "apply dev/web", "inspect dev/api"}));
  EXPECT_EQ(p.drift_checks, 1u);
  ASSERT_NE(Find(p, "drift"), nullptr);
}

TEST_F(DriftTest, AnEnvironmentThatIgnoresDriftIsNeverChecked) {
  DriftOptions drift;
  drift.check_all_now = true;
  R(drift);
  Push({{"environments/dev/environment.yaml", "drift: ignore\n"},
        {"environments/dev/apps/api.yaml", HelmPin("api", D('a'))}});
  Pass();
  EXPECT_EQ(Pass().drift_checks, 0u);
  EXPECT_EQ(Calls(), std::vector<std::string>{"apply dev/api"});
  // The policy in force decides (trust rule 1): dev needs no approval, so an
  // edit of its policy takes effect as it lands.
  Push({{"environments/dev/environment.yaml", "drift: record\n"}});
  EXPECT_EQ(Pass().drift_checks, 1u);
  Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('b'))}});
  Pass();  // applies b (and the policy that came before it)
  EXPECT_EQ(Pass().drift_checks, 1u);
}

TEST_F(DriftTest, YieldStopsChecksSoThatAWokenPassRunsAtOnce) {
  DriftOptions drift;
  drift.check_all_now = true;
  bool woken = false;
  drift.should_yield = [&woken] { return woken; };
  R(drift);
  Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('a'))}});
  Pass();
  woken = true;
  EXPECT_EQ(Pass().drift_checks, 0u);
  woken = false;
  EXPECT_EQ(Pass().drift_checks, 1u);
}

TEST_F(DriftTest, AFailingCheckIsAnErrorNotDrift) {
  DriftOptions drift;
  drift.check_all_now = true;
  R(drift);
  std::string deployed = Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('a'))}});
  Pass();
  {
    std::lock_guard lock(cluster_.mu);
    cluster_.errors["dev/api"] =
        Status::IOError("terraform plan: exit 1: Error: Invalid value for input variable");
  }
  record::PassReport p = Pass();
  const record::AppOutcome* error = Find(p, "error");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->reason,
            "drift check failed: terraform plan: exit 1: Error: Invalid value for input variable");
  EXPECT_EQ(Find(p, "drift"), nullptr);
  EXPECT_TRUE(DriftEvents(deployed).empty());
}

TEST_F(DriftTest, FailedPinsAreNotChecked) {
  DriftOptions drift;
  drift.check_all_now = true;
  R(drift);
  Push({{"environments/dev/apps/api.yaml", HelmPin("api", D('a')) +
                                               "verification:\n  checks:\n    - http: {url: "
                                               "\"http://127.0.0.1:1/\", retries: 0}\n"}});
  ASSERT_NE(Find(Pass(), "failed"), nullptr);
  ClearCalls();
  EXPECT_EQ(Pass().drift_checks, 0u);
  EXPECT_TRUE(Calls().empty());
}

// ---------------------------------------------------------------------------
// The pure decisions.

record::Event WithKind(record::EventKind kind, std::string reason = "", bool resolved = false) {
  record::Event e;
  e.kind = kind;
  e.reason = std::move(reason);
  e.resolved = resolved;
  return e;
}

TEST(IsInSyncForDriftTest, OnlyAVerifiedOrDriftingDeployedPinIsChecked) {
  record::Event verified = WithKind(record::EventKind::kVerified);
  record::Event drift = WithKind(record::EventKind::kDrift, "x");
  EXPECT_TRUE(IsInSyncForDrift("b1", "b1", &verified));
  EXPECT_TRUE(IsInSyncForDrift("b1", "b1", &drift));
  EXPECT_FALSE(IsInSyncForDrift("b2", "b1", &verified));  // a change is pending
  EXPECT_FALSE(IsInSyncForDrift("", "", &verified));
  EXPECT_FALSE(IsInSyncForDrift("b1", "b1", nullptr));
  for (record::EventKind k :
       {record::EventKind::kApplying, record::EventKind::kApplied, record::EventKind::kFailed,
        record::EventKind::kRolledBack, record::EventKind::kWaiting, record::EventKind::kBlocked}) {
    record::Event e = WithKind(k);
    EXPECT_FALSE(IsInSyncForDrift("b1", "b1", &e)) << record::EventKindName(k);
  }
}

TEST(DriftEventToRecordTest, RecordsStartsAndChangesAndResolutionsOnly) {
  record::Event verified = WithKind(record::EventKind::kVerified);
  record::Event drifting = WithKind(record::EventKind::kDrift, "a ≠ b");
  record::Event resolved = WithKind(record::EventKind::kDrift, "drift resolved: ...", true);
  adapters::Observation same{adapters::Observed::kPinDeployed, "", 0, {}};
  adapters::Observation unknown{adapters::Observed::kUnknown, "", -1, {}};

  auto started = DriftEventToRecord(&verified, Drifted("a ≠ b"), record::Event{});
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(started->kind, record::EventKind::kDrift);
  EXPECT_EQ(started->reason, "a ≠ b");
  EXPECT_FALSE(started->resolved);
  EXPECT_FALSE(DriftEventToRecord(&drifting, Drifted("a ≠ b"), record::Event{}).has_value());
  EXPECT_EQ(DriftEventToRecord(&drifting, Drifted("a ≠ c"), record::Event{})->reason, "a ≠ c");
  EXPECT_EQ(DriftEventToRecord(&resolved, Drifted("a ≠ b"), record::Event{})->reason, "a ≠ b");
  EXPECT_EQ(DriftEventToRecord(&verified, Drifted(""), record::Event{})->reason,
            "something other than the pin runs");

  auto gone = DriftEventToRecord(&drifting, same, record::Event{});
  ASSERT_TRUE(gone.has_value());
  EXPECT_TRUE(gone->resolved);
  EXPECT_EQ(gone->reason, "drift resolved: what runs matches the pin again (was: a ≠ b)");
  EXPECT_FALSE(DriftEventToRecord(&verified, same, record::Event{}).has_value());
  EXPECT_FALSE(DriftEventToRecord(&resolved, same, record::Event{}).has_value());
  EXPECT_FALSE(DriftEventToRecord(&drifting, unknown, record::Event{}).has_value());
}

}  // namespace
}  // namespace sluice::engine
