// The controller's pass stamp (refs/sluice/pass): its message format and the
// freshness verdict `sluice status` gives from it.
#include "record/pass_stamp.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace sluice::record {
namespace {

using std::chrono::seconds;

TimePoint T(const std::string& text) { return *ParseRfc3339(text); }

PassStamp Stamp(seconds interval) {
  PassStamp s;
  s.time = T("2026-11-22T10:00:00Z");
  s.head = std::string(40, 'a');
  s.branch = "main";
  s.interval = interval;
  s.controller_id = "ctl-1-4242";
  s.controller_version = "0.1.0";
  return s;
}

TEST(PassStampTest, MessageRoundTripsAndReadsInGitLog) {
  PassStamp s = Stamp(seconds(60));
  std::string message = PassStampMessage(s);
  EXPECT_EQ(message.rfind("sluice pass 2026-11-22T10:00:00Z by ctl-1-4242\n\n", 0), 0u) << message;
  auto parsed = ParsePassStampMessage(message);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, s);
}

TEST(PassStampTest, UnknownKeysAreIgnoredAndGarbageIsRefused) {
  auto parsed = ParsePassStampMessage(
      "subject\n\n{\"v\":2,\"time\":\"2026-11-22T10:00:00Z\",\"future\":[1],\"head\":\"abc\"}\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->head, "abc");
  EXPECT_EQ(parsed->interval, seconds(0));
  EXPECT_FALSE(ParsePassStampMessage("a person's commit\n\nnot a stamp\n").ok());
  EXPECT_FALSE(ParsePassStampMessage("{\"time\":\"yesterday\"}").ok());
}

TEST(FreshnessTest, FreshWithinThreeIntervalsOfAtLeastFiveMinutes) {
  // interval 1m -> stale after max(5m, 3m) = 5m.
  Freshness f = JudgeFreshness(Stamp(seconds(60)), T("2026-11-22T10:04:59Z"));
  EXPECT_EQ(f.state, "fresh");
  EXPECT_EQ(f.stale_after, seconds(300));
  EXPECT_DOUBLE_EQ(*f.age_seconds, 299.0);
  EXPECT_EQ(f.reason, "last pass 4m59s ago by ctl-1-4242");
  // interval 10m -> stale after 30m.
  EXPECT_EQ(JudgeFreshness(Stamp(seconds(600)), T("2026-11-22T10:29:00Z")).state, "fresh");
  EXPECT_EQ(JudgeFreshness(Stamp(seconds(600)), T("2026-11-22T10:31:00Z")).state, "stale");
}

TEST(FreshnessTest, StaleSaysHowOldAndAsksWhetherTheControllerRuns) {
  Freshness f = JudgeFreshness(Stamp(seconds(60)), T("2026-11-22T13:00:00Z"));
  EXPECT_EQ(f.state, "stale");
  EXPECT_EQ(f.reason, "last pass 3h ago by ctl-1-4242, longer than 5m: is the controller running?");
}

TEST(FreshnessTest, OncePassesUseFifteenMinutesAndTheFlagWins) {
  // reconcile --once records no interval: 15 minutes.
  EXPECT_EQ(JudgeFreshness(Stamp(seconds(0)), T("2026-11-22T10:14:00Z")).state, "fresh");
  EXPECT_EQ(JudgeFreshness(Stamp(seconds(0)), T("2026-11-22T10:16:00Z")).state, "stale");
  EXPECT_EQ(JudgeFreshness(Stamp(seconds(0)), T("2026-11-22T10:16:00Z"), seconds(3600)).state,
            "fresh");
}

TEST(FreshnessTest, UnknownWithoutAStamp) {
  Freshness f = JudgeFreshness(std::nullopt, T("2026-11-22T10:00:00Z"));
  EXPECT_EQ(f.state, "unknown");
  EXPECT_FALSE(f.age_seconds.has_value());
  EXPECT_NE(f.reason.find("refs/sluice/pass"), std::string::npos);
}

}  // namespace
}  // namespace sluice::record
