// deploy.strategy in the record: `step` events round-trip, and where an
// unfinished release stands is read back from them (record/steps.h).
#include "record/steps.h"

#include <gtest/gtest.h>

#include "core/time_format.h"
#include "record/event.h"

namespace sluice::record {
namespace {

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

Event Make(EventKind kind, const char* time) {
  Event e;
  e.env = "prod";
  e.app = "api";
  e.kind = kind;
  e.time = At(time);
  e.commit = std::string(40, 'c');
  e.controller_id = "sluice-1";
  return e;
}

Event Step(const char* time, int step, std::optional<int> weight, const std::string& phase,
           const std::string& action = "deploy") {
  Event e = Make(EventKind::kStep, time);
  e.step = step;
  e.steps = 4;
  e.weight = weight;
  e.phase = phase;
  e.action = action;
  return e;
}

TEST(StepEventTest, RoundTripsWithEveryStepField) {
  Event e = Step("2026-12-07T10:00:00Z", 2, 10, "paused", "pause");
  e.until = At("2026-12-07T10:05:00Z");
  std::string line = EventToJsonLine(e);
  EXPECT_NE(line.find("\"event\":\"step\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"step\":2,\"steps\":4,\"weight\":10,\"action\":\"pause\","
                      "\"phase\":\"paused\",\"until\":\"2026-12-07T10:05:00Z\""),
            std::string::npos)
      << line;
  Result<Event> back = ParseEventLine(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
  // Other events carry none of them.
  std::string applied = EventToJsonLine(Make(EventKind::kApplied, "2026-12-07T10:00:00Z"));
  EXPECT_EQ(applied.find("\"step\""), std::string::npos) << applied;
  EXPECT_EQ(applied.find("\"weight\""), std::string::npos) << applied;
}

TEST(StepLineTest, SaysWhereTheReleaseStands) {
  EXPECT_EQ(StepLine(Step("2026-12-07T10:00:00Z", 3, 50, "verifying")), "canary 50%, verifying");
  Event paused = Step("2026-12-07T10:00:00Z", 2, 10, "paused", "pause");
  paused.until = At("2026-12-07T10:05:00Z");
  EXPECT_EQ(StepLine(paused), "canary 10%, paused until 2026-12-07T10:05:00Z");
  EXPECT_EQ(StepLine(Step("2026-12-07T10:00:00Z", 1, 0, "verified", "abort")),
            "canary 0%: traffic back on the old release");
  Event bg = Step("2026-12-07T10:00:00Z", 1, std::nullopt, "verifying");
  bg.slot = "green";
  EXPECT_EQ(StepLine(bg), "blue-green: green deployed, verifying");
  bg.action = "switch";
  bg.phase = "verified";
  EXPECT_EQ(StepLine(bg), "blue-green: switched to green");
  EXPECT_EQ(StepLine(Make(EventKind::kApplied, "2026-12-07T10:00:00Z")), "");
}

TEST(ReleaseInProgressTest, ResumesAtTheStepAfterTheLastFinishedOne) {
  std::vector<Event> events = {Make(EventKind::kApplying, "2026-12-07T10:00:00Z"),
                               Step("2026-12-07T10:00:01Z", 1, 10, "applying"),
                               Step("2026-12-07T10:00:02Z", 1, 10, "verifying"),
                               Step("2026-12-07T10:00:03Z", 1, 10, "verified")};
  auto p = ReleaseInProgress(events, "prod", "api");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->next, 1);
  EXPECT_FALSE(p->verify_first);
  EXPECT_EQ(p->weight, 10);
  EXPECT_EQ(p->line, "canary 10%, verified");
  EXPECT_EQ(p->current, 1);
  EXPECT_EQ(p->by, "sluice-1");

  // Cut short in the adapter of step 2: step 2 again.
  events.push_back(Step("2026-12-07T10:00:04Z", 2, 50, "applying"));
  EXPECT_EQ(ReleaseInProgress(events, "prod", "api")->next, 1);
  // Cut short in its verification: verify step 2 again, then step 3.
  events.push_back(Step("2026-12-07T10:00:05Z", 2, 50, "verifying"));
  p = ReleaseInProgress(events, "prod", "api");
  EXPECT_EQ(p->next, 2);
  EXPECT_TRUE(p->verify_first);
  EXPECT_EQ(p->weight, 50);
  // A waiting decision in between (a freeze) changes nothing; the order is by time.
  Event waiting = Make(EventKind::kWaiting, "2026-12-07T10:00:06Z");
  events.insert(events.begin(), waiting);
  EXPECT_EQ(ReleaseInProgress(events, "prod", "api")->next, 2);
  // Other apps' events do not count.
  EXPECT_FALSE(ReleaseInProgress(events, "prod", "web").has_value());
  // An outcome ends the release.
  events.push_back(Make(EventKind::kFailed, "2026-12-07T10:00:07Z"));
  EXPECT_FALSE(ReleaseInProgress(events, "prod", "api").has_value());
  // A new `applying` without steps is the normal crash path, not a resume.
  events.push_back(Make(EventKind::kApplying, "2026-12-07T10:00:08Z"));
  EXPECT_FALSE(ReleaseInProgress(events, "prod", "api").has_value());
}

TEST(ReleaseInProgressTest, APauseCarriesItsEnd) {
  Event paused = Step("2026-12-07T10:00:03Z", 2, 10, "paused", "pause");
  paused.until = At("2026-12-07T10:05:03Z");
  std::vector<Event> events = {Make(EventKind::kApplying, "2026-12-07T10:00:00Z"),
                               Step("2026-12-07T10:00:02Z", 1, 10, "verified"), paused};
  auto p = ReleaseInProgress(events, "prod", "api");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->next, 2);
  EXPECT_EQ(p->weight, 10);
  EXPECT_EQ(p->paused_until, At("2026-12-07T10:05:03Z"));
}

}  // namespace
}  // namespace sluice::record
