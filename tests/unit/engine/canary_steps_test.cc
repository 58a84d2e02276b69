// deploy.strategy with an injected clock (SPEC 1.4): a pause step makes the
// app wait until it ends and the next pass goes on without a new commit; a
// release past its first step goes through a window's end; a freeze that
// starts mid-release holds the next step.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/time_format.h"
#include "engine/reconciler.h"
#include "record/workspace.h"
#include "support/engine_fixture.h"

namespace sluice::engine {
namespace {

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

class CanaryStepsTest : public testing::EngineFixture {
 protected:
  // A canary pin whose adapter appends SLUICE_WEIGHT to <tmp>/weights.
  std::string Pin(const std::string& steps) {
    return "artifact:\n  image: r.example.com/shop/api\n  digest: sha256:" + std::string(64, 'a') +
           "\ndeploy:\n  adapter: exec\n  strategy:\n    canary:\n      steps: " + steps +
           "\n  exec: {command: [sh, -c, \"echo $SLUICE_WEIGHT >> '" + tmp_.Sub("weights") +
           "'\"]}\n";
  }

  std::string Weights() {
    std::ifstream in(tmp_.Sub("weights"));
    std::string out, line;
    while (std::getline(in, line)) out += line + " ";
    return out;
  }

  // One pass by a fresh reconciler (as `sluice reconcile --once` would).
  record::PassReport Pass() {
    auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    auto report = MakeReconciler(**ws)->RunOnce();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : record::PassReport{};
  }

  static std::string StateOf(const record::PassReport& p) {
    for (const auto& o : p.outcomes) {
      if (o.app == "api") return std::string(record::OutcomeName(o.state)) + ": " + o.reason;
    }
    return "(no outcome)";
  }
};

TEST_F(CanaryStepsTest, APauseWaitsForTheClockAndAWindowsEndDoesNotStopTheRelease) {
  // The default start is Tue 09:00 UTC, inside the window.
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "windows:\n  timezone: UTC\n  allow:\n    - {hours: \"09:00-10:00\"}\n"}});
  Push({{"environments/dev/apps/api.yaml",
         Pin("[{weight: 10}, {pause: 30m}, {weight: 50}, {weight: 100}]")}});

  record::PassReport first = Pass();
  EXPECT_EQ(StateOf(first), "waiting: canary 10%, paused until 2026-11-24T09:30:00Z (step 2 of 4)");
  ASSERT_TRUE(first.next_due.has_value());
  EXPECT_EQ(*first.next_due, At("2026-11-24T09:30:00Z"));
  EXPECT_EQ(Weights(), "10 ");

  clock_.Advance(std::chrono::minutes(29));
  record::PassReport second = Pass();
  EXPECT_EQ(StateOf(second).substr(0, 8), "waiting:") << StateOf(second);
  EXPECT_EQ(second.next_due, At("2026-11-24T09:30:00Z"));
  EXPECT_EQ(Weights(), "10 ");  // step 1 is never run again

  // The pause is over and the window closed meanwhile: the release started
  // inside it, so it goes on.
  clock_.Set(At("2026-11-24T11:00:00Z"));
  record::PassReport third = Pass();
  EXPECT_EQ(StateOf(third).substr(0, 9), "verified:") << StateOf(third);
  EXPECT_EQ(Weights(), "10 50 100 ");
}

TEST_F(CanaryStepsTest, AFreezeThatStartsMidReleaseHoldsTheNextStep) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "freezes:\n  - {name: release-freeze, from: 2026-11-25, to: 2026-11-25}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin("[{weight: 10}, {pause: 1h}, {weight: 100}]")}});
  EXPECT_EQ(Pass().outcomes.at(0).state, record::Outcome::kWaiting);
  EXPECT_EQ(Weights(), "10 ");

  clock_.Set(At("2026-11-25T12:00:00Z"));  // the pause is over; the freeze is on
  record::PassReport frozen = Pass();
  const std::string state = StateOf(frozen);
  EXPECT_EQ(state.rfind("waiting: the freeze holds the next step (canary 10%, paused until "
                        "2026-11-24T10:00:00Z): ",
                        0),
            0u)
      << state;
  EXPECT_NE(state.find("release-freeze"), std::string::npos) << state;
  EXPECT_TRUE(frozen.next_due.has_value());
  EXPECT_EQ(Weights(), "10 ");

  clock_.Set(At("2026-11-26T09:00:00Z"));
  record::PassReport after = Pass();
  EXPECT_EQ(StateOf(after).substr(0, 9), "verified:") << StateOf(after);
  EXPECT_EQ(Weights(), "10 100 ");
}

}  // namespace
}  // namespace sluice::engine
