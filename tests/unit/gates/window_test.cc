#include "gates/window.h"

#include <gtest/gtest.h>

#include "gates/time_zone.h"
#include "test_time.h"

namespace sluice::gates {
namespace {

using config::Weekday;
using config::WindowRule;
using config::Windows;
using testing::Utc;

constexpr int H(int h, int m = 0) { return h * 60 + m; }

struct WindowCase {
  const char* what;
  Windows windows;
  const char* now;  // UTC
  Verdict verdict;
  const char* reason;  // substring of the reason ("" = don't care)
};

const Windows kBerlinFri10to14{"Europe/Berlin", {{{Weekday::kFri}, H(10), H(14)}}};
const Windows kBerlinFriNight{"Europe/Berlin", {{{Weekday::kFri}, H(22), H(2)}}};
const Windows kBerlinUntilMidnight{"Europe/Berlin", {{{}, H(10), H(24)}}};
const Windows kBerlinEveryDay10to14{"Europe/Berlin", {{{}, H(10), H(14)}}};
const Windows kBerlin2to3{"Europe/Berlin", {{{}, H(2), H(3)}}};
const Windows kBerlin230to4{"Europe/Berlin", {{{}, H(2, 30), H(4)}}};
const Windows kBerlin2to230{"Europe/Berlin", {{{}, H(2), H(2, 30)}}};
const Windows kNewYork9to17{"America/New_York", {{{}, H(9), H(17)}}};
const Windows kNewYork1to2{"America/New_York", {{{}, H(1), H(2)}}};
const Windows kUtcTue{"UTC", {{{Weekday::kTue}, H(10), H(14)}}};

class WindowTableTest : public ::testing::TestWithParam<WindowCase> {};

TEST_P(WindowTableTest, JudgesTheInstantInLocalWallTime) {
  const WindowCase& c = GetParam();
  GateResult r = EvaluateWindow(c.windows, Utc(c.now));
  EXPECT_EQ(r.name, "window");
  EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict)) << c.what << ": " << r.reason;
  EXPECT_NE(r.reason.find(c.reason), std::string::npos)
      << c.what << ": reason '" << r.reason << "' lacks '" << c.reason << "'";
  // A closed window knows when it opens (the daemon wakes then).
  EXPECT_EQ(r.until.has_value(), r.verdict == Verdict::kWait) << c.what;
}

TEST(WindowGateTest, UntilIsTheOpening) {
  GateResult r = EvaluateWindow(kBerlinFri10to14, Utc("2026-03-27T08:59:59Z"));
  ASSERT_TRUE(r.until.has_value());
  EXPECT_EQ(*r.until, Utc("2026-03-27T09:00:00Z"));
}

INSTANTIATE_TEST_SUITE_P(
    Windows, WindowTableTest,
    ::testing::Values(
        // Friday 2026-03-27, CET (UTC+1).
        WindowCase{"fri 13:59:59 is inside 10:00-14:00", kBerlinFri10to14, "2026-03-27T12:59:59Z",
                   Verdict::kPass, "inside the deployment window fri 10:00-14:00"},
        WindowCase{"fri 14:00:00 is outside 10:00-14:00", kBerlinFri10to14, "2026-03-27T13:00:00Z",
                   Verdict::kWait, "outside the deployment window; opens Fri 10:00 Europe/Berlin"},
        WindowCase{"fri 10:00:00 is inside", kBerlinFri10to14, "2026-03-27T09:00:00Z",
                   Verdict::kPass, ""},
        WindowCase{"fri 09:59:59 opens in a second", kBerlinFri10to14, "2026-03-27T08:59:59Z",
                   Verdict::kWait, "opens Fri 10:00 Europe/Berlin (in 1s)"},
        WindowCase{"thu 11:00 names next fri", kBerlinFri10to14, "2026-03-26T10:00:00Z",
                   Verdict::kWait, "opens Fri 10:00 Europe/Berlin (in 23h)"},
        // A window crossing midnight belongs to the day it starts on.
        WindowCase{"fri 23:00 inside fri 22:00-02:00", kBerlinFriNight, "2026-03-27T22:00:00Z",
                   Verdict::kPass, "fri 22:00-02:00"},
        WindowCase{"sat 01:59 still inside fri's window", kBerlinFriNight, "2026-03-28T00:59:00Z",
                   Verdict::kPass, ""},
        WindowCase{"sat 02:00 outside", kBerlinFriNight, "2026-03-28T01:00:00Z", Verdict::kWait,
                   "opens Fri 22:00 Europe/Berlin"},
        WindowCase{"fri 01:00 belongs to thursday: outside", kBerlinFriNight,
                   "2026-03-27T00:00:00Z", Verdict::kWait,
                   "opens Fri 22:00 Europe/Berlin (in 21h)"},
        WindowCase{"sat 23:00 outside", kBerlinFriNight, "2026-03-28T22:00:00Z", Verdict::kWait,
                   ""},
        // "24:00" is midnight.
        WindowCase{"23:59:59 inside 10:00-24:00", kBerlinUntilMidnight, "2026-06-10T21:59:59Z",
                   Verdict::kPass, ""},
        WindowCase{"00:00 outside 10:00-24:00", kBerlinUntilMidnight, "2026-06-10T22:00:00Z",
                   Verdict::kWait, "opens Thu 10:00 Europe/Berlin (in 10h)"},
        // Berlin spring forward, Sun 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
        WindowCase{"10:00 CEST on the switch day is 08:00Z", kBerlinEveryDay10to14,
                   "2026-03-29T08:00:00Z", Verdict::kPass, ""},
        WindowCase{"09:59 CEST on the switch day waits a minute", kBerlinEveryDay10to14,
                   "2026-03-29T07:59:00Z", Verdict::kWait, "opens Sun 10:00 Europe/Berlin (in 1m)"},
        WindowCase{"waiting across the switch counts the lost hour", kBerlinEveryDay10to14,
                   "2026-03-28T23:00:00Z", Verdict::kWait, "opens Sun 10:00 Europe/Berlin (in 9h)"},
        WindowCase{"02:00-03:00 does not exist on 03-29: opens monday", kBerlin2to3,
                   "2026-03-29T00:30:00Z", Verdict::kWait,
                   "opens Mon 02:00 Europe/Berlin (in 23h30m)"},
        WindowCase{"02:30-04:00 opens at the switch, 03:00 CEST", kBerlin230to4,
                   "2026-03-29T00:30:00Z", Verdict::kWait,
                   "opens Sun 03:00 Europe/Berlin (in 30m)"},
        WindowCase{"03:00 CEST is inside 02:30-04:00", kBerlin230to4, "2026-03-29T01:00:00Z",
                   Verdict::kPass, ""},
        // Berlin fall back, Sun 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z): 02:30 twice.
        WindowCase{"first 02:30 (CEST) inside 02:00-03:00", kBerlin2to3, "2026-10-25T00:30:00Z",
                   Verdict::kPass, ""},
        WindowCase{"second 02:30 (CET) inside 02:00-03:00", kBerlin2to3, "2026-10-25T01:30:00Z",
                   Verdict::kPass, ""},
        WindowCase{"03:00 CET outside 02:00-03:00", kBerlin2to3, "2026-10-25T02:00:00Z",
                   Verdict::kWait, "opens Mon 02:00"},
        WindowCase{"02:45 CEST: 02:00-02:30 reopens at 02:00 CET", kBerlin2to230,
                   "2026-10-25T00:45:00Z", Verdict::kWait,
                   "opens Sun 02:00 Europe/Berlin (in 15m)"},
        // New York spring forward, Sun 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
        WindowCase{"09:30 EDT inside", kNewYork9to17, "2026-03-08T13:30:00Z", Verdict::kPass, ""},
        WindowCase{"same UTC time the day before is 08:30 EST", kNewYork9to17,
                   "2026-03-07T13:30:00Z", Verdict::kWait,
                   "opens Sat 09:00 America/New_York (in 30m)"},
        WindowCase{"midnight EST to 09:00 EDT is 8h", kNewYork9to17, "2026-03-08T05:00:00Z",
                   Verdict::kWait, "opens Sun 09:00 America/New_York (in 8h)"},
        // New York fall back, Sun 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
        WindowCase{"01:30 EDT inside 01:00-02:00", kNewYork1to2, "2026-11-01T05:30:00Z",
                   Verdict::kPass, ""},
        WindowCase{"01:30 EST inside 01:00-02:00 again", kNewYork1to2, "2026-11-01T06:30:00Z",
                   Verdict::kPass, ""},
        WindowCase{"02:00 EST outside", kNewYork1to2, "2026-11-01T07:00:00Z", Verdict::kWait,
                   "opens Mon 01:00 America/New_York (in 23h)"},
        // Leap day: 2028-02-29 is a Tuesday.
        WindowCase{"tue 2028-02-29 11:00 inside", kUtcTue, "2028-02-29T11:00:00Z", Verdict::kPass,
                   ""},
        WindowCase{"mon 2028-02-28 23:00 opens on the leap day", kUtcTue, "2028-02-28T23:00:00Z",
                   Verdict::kWait, "opens Tue 10:00 UTC (in 11h)"},
        WindowCase{"tue 2028-02-29 14:00 waits a week", kUtcTue, "2028-02-29T14:00:00Z",
                   Verdict::kWait, "opens Tue 10:00 UTC (in 6d20h)"}),
    [](const ::testing::TestParamInfo<WindowCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(WindowGateTest, RecordsZoneLocalTimeAndMatchedRule) {
  GateResult r = EvaluateWindow(kBerlinFri10to14, Utc("2026-03-27T12:59:59Z"));
  EXPECT_EQ(r.evidence.at("zone"), "Europe/Berlin");
  EXPECT_EQ(r.evidence.at("local"), "2026-03-27T13:59:59+01:00 CET");
  EXPECT_EQ(r.evidence.at("matched"), "fri 10:00-14:00");
}

TEST(WindowGateTest, RecordsWhenItOpensWhileWaiting) {
  GateResult r = EvaluateWindow(kBerlinFri10to14, Utc("2026-03-27T13:00:00Z"));
  EXPECT_EQ(r.evidence.at("opens"), "2026-04-03T10:00:00+02:00 CEST");
  EXPECT_EQ(r.evidence.count("matched"), 0u);
}

TEST(WindowGateTest, AnyOfSeveralRulesLetsThrough) {
  Windows w{"Europe/Berlin",
            {{{Weekday::kMon}, H(9), H(10)}, {{Weekday::kWed, Weekday::kFri}, H(15), H(16)}}};
  GateResult r = EvaluateWindow(w, Utc("2026-03-27T14:30:00Z"));  // Fri 15:30 CET
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
  EXPECT_EQ(r.evidence.at("matched"), "wed,fri 15:00-16:00");
  r = EvaluateWindow(w, Utc("2026-03-27T15:30:00Z"));  // Fri 16:30: next is Mon 09:00 CEST
  EXPECT_EQ(r.verdict, Verdict::kWait);
  EXPECT_NE(r.reason.find("opens Mon 09:00 Europe/Berlin (in 2d16h)"), std::string::npos)
      << r.reason;
}

TEST(WindowGateTest, UnknownZoneBlocksWithAClearErrorInsteadOfThrowing) {
  Windows w{"Europe/Berln", {{{}, H(10), H(14)}}};
  GateResult r;
  ASSERT_NO_THROW(r = EvaluateWindow(w, Utc("2026-03-27T12:00:00Z")));
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("unknown time zone 'Europe/Berln'"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("Europe/Berlin"), std::string::npos) << r.reason;
}

TEST(ValidateTimeZoneTest, AcceptsIanaNamesAndUtc) {
  EXPECT_TRUE(ValidateTimeZone("Europe/Berlin").ok());
  EXPECT_TRUE(ValidateTimeZone("America/New_York").ok());
  EXPECT_TRUE(ValidateTimeZone("UTC").ok());
}

TEST(ValidateTimeZoneTest, RejectsUnknownNamesWithASuggestion) {
  Status s = ValidateTimeZone("Mars/Olympus_Mons");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_NE(s.message().find("Europe/Berlin"), std::string::npos);
  EXPECT_FALSE(ValidateTimeZone("").ok());
  EXPECT_FALSE(ValidateTimeZone("CEST").ok());
}

TEST(ValidateTimeZoneTest, SuggestsTheCorrectCapitalisation) {
  Status s = ValidateTimeZone("europe/berlin");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("did you mean Europe/Berlin?"), std::string::npos) << s.message();
}

TEST(FormatDurationTest, IsCompactAndNeverUnderstatesAWait) {
  using std::chrono::seconds;
  EXPECT_EQ(FormatDuration(seconds(-5)), "0s");
  EXPECT_EQ(FormatDuration(seconds(45)), "45s");
  EXPECT_EQ(FormatDuration(seconds(60)), "1m");
  EXPECT_EQ(FormatDuration(seconds(61)), "2m");
  EXPECT_EQ(FormatDuration(seconds(3 * 3600 + 20 * 60)), "3h20m");
  EXPECT_EQ(FormatDuration(seconds(2 * 3600)), "2h");
  EXPECT_EQ(FormatDuration(seconds(86400)), "1d");
  EXPECT_EQ(FormatDuration(seconds(86400 + 60)), "1d1h");
}

}  // namespace
}  // namespace sluice::gates
