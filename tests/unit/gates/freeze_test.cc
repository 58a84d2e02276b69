#include "gates/freeze.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gates/calendar.h"
#include "gates/time_zone.h"
#include "test_time.h"

namespace sluice::gates {
namespace {

using config::Freeze;
using testing::Utc;

const char* kBerlin = "Europe/Berlin";

const char* kChristmasIcs =
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:christmas@test\r\n"
    "DTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20261225\r\n"
    "DTEND;VALUE=DATE:20261226\r\n"
    "RRULE:FREQ=YEARLY\r\n"
    "SUMMARY:Christmas Day\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n";

std::string Ics(const std::string& events) {
  return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + events + "END:VCALENDAR\n";
}

GateResult Judge(const std::vector<Freeze>& freezes, const std::vector<CalendarEvidence>& cals,
                 const std::string& zone, const char* now) {
  return EvaluateFreezes(freezes, cals, zone, Utc(now));
}

struct FreezeCase {
  const char* what;
  const char* zone;
  const char* now;
  Verdict verdict;
  const char* reason;
};

class DateRangeFreezeTest : public ::testing::TestWithParam<FreezeCase> {};

TEST_P(DateRangeFreezeTest, BothDaysAreWholeLocalDays) {
  const FreezeCase& c = GetParam();
  GateResult r = Judge({{"black-friday", "2026-11-26", "2026-12-01", ""}}, {}, c.zone, c.now);
  EXPECT_EQ(r.name, "freeze");
  EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict)) << c.what << ": " << r.reason;
  EXPECT_NE(r.reason.find(c.reason), std::string::npos)
      << c.what << ": reason '" << r.reason << "' lacks '" << c.reason << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Freezes, DateRangeFreezeTest,
    ::testing::Values(
        FreezeCase{"the evening before (Nov 25 23:59:59 CET)", kBerlin, "2026-11-25T22:59:59Z",
                   Verdict::kPass, "no freeze in force (next: black-friday from 2026-11-26 00:00"},
        FreezeCase{"first local midnight", kBerlin, "2026-11-25T23:00:00Z", Verdict::kWait,
                   "frozen: black-friday until 2026-12-02 00:00 Europe/Berlin (in 6d)"},
        FreezeCase{"the last day is inclusive (Dec 1 23:59:59 CET)", kBerlin,
                   "2026-12-01T22:59:59Z", Verdict::kWait,
                   "frozen: black-friday until 2026-12-02 00:00 Europe/Berlin (in 1s)"},
        FreezeCase{"over at local midnight after `to`", kBerlin, "2026-12-01T23:00:00Z",
                   Verdict::kPass, "no freeze in force"},
        FreezeCase{"UTC without windows: Dec 1 23:30Z still frozen", "UTC", "2026-12-01T23:30:00Z",
                   Verdict::kWait, "frozen: black-friday until 2026-12-02 00:00 UTC (in 30m)"},
        FreezeCase{"New York: Dec 2 03:00Z is Dec 1 22:00 EST", "America/New_York",
                   "2026-12-02T03:00:00Z", Verdict::kWait,
                   "until 2026-12-02 00:00 America/New_York"}),
    [](const ::testing::TestParamInfo<FreezeCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(FreezeGateTest, AFreezeEndingTodayCoversTheWholeDay) {
  std::vector<Freeze> f{{"release-party", "2026-06-10", "2026-06-10", ""}};
  EXPECT_EQ(Judge(f, {}, kBerlin, "2026-06-09T22:00:00Z").verdict, Verdict::kWait);  // 00:00 CEST
  EXPECT_EQ(Judge(f, {}, kBerlin, "2026-06-10T21:59:59Z").verdict, Verdict::kWait);  // 23:59:59
  EXPECT_EQ(Judge(f, {}, kBerlin, "2026-06-10T22:00:00Z").verdict, Verdict::kPass);
  EXPECT_EQ(Judge(f, {}, kBerlin, "2026-06-09T21:59:59Z").verdict, Verdict::kPass);
}

TEST(FreezeGateTest, FreezeAcrossTheSpringForwardNightEndsAtLocalMidnight) {
  std::vector<Freeze> f{{"easter", "2026-03-28", "2026-03-29", ""}};
  GateResult r = Judge(f, {}, kBerlin, "2026-03-29T21:59:59Z");  // Sun 23:59:59 CEST
  EXPECT_EQ(r.verdict, Verdict::kWait);
  EXPECT_EQ(r.evidence.at("until"), "2026-03-30T00:00:00+02:00 CEST");
  ASSERT_TRUE(r.until.has_value());
  EXPECT_EQ(*r.until, Utc("2026-03-29T22:00:00Z"));
  EXPECT_EQ(Judge(f, {}, kBerlin, "2026-03-29T22:00:00Z").verdict, Verdict::kPass);
}

TEST(FreezeGateTest, BackToBackFreezesWaitUntilTheLastOneEnds) {
  std::vector<Freeze> f{{"year-end", "2026-12-21", "2026-12-31", ""},
                        {"new-year", "2027-01-01", "2027-01-04", ""}};
  GateResult r = Judge(f, {}, kBerlin, "2026-12-30T12:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kWait);
  EXPECT_NE(r.reason.find("frozen: year-end until 2027-01-05 00:00 Europe/Berlin"),
            std::string::npos)
      << r.reason;
}

TEST(FreezeGateTest, LeapDayFreeze) {
  std::vector<Freeze> f{{"leap", "2028-02-29", "2028-02-29", ""}};
  EXPECT_EQ(Judge(f, {}, "UTC", "2028-02-29T12:00:00Z").verdict, Verdict::kWait);
  EXPECT_EQ(Judge(f, {}, "UTC", "2028-03-01T00:00:00Z").verdict, Verdict::kPass);
  EXPECT_EQ(Judge(f, {}, "UTC", "2028-02-28T23:59:59Z").verdict, Verdict::kPass);
}

TEST(FreezeGateTest, UnknownZoneBlocks) {
  GateResult r =
      Judge({{"x", "2026-01-01", "2026-01-02", ""}}, {}, "Berlin", "2026-01-01T12:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("unknown time zone 'Berlin'"), std::string::npos) << r.reason;
}

TEST(IcsFreezeTest, YearlyAllDayHolidayFreezesTheLocalDay) {
  std::vector<Freeze> f{{"", "", "", "calendars/holidays.ics"}};
  std::vector<CalendarEvidence> cal{{"calendars/holidays.ics", kChristmasIcs, ""}};
  // 2027-12-25 is expanded from the 2026 DTSTART by the yearly RRULE.
  GateResult r = Judge(f, cal, kBerlin, "2027-12-25T09:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kWait) << r.reason;
  EXPECT_NE(r.reason.find("frozen: Christmas Day until 2027-12-26 00:00 Europe/Berlin"),
            std::string::npos)
      << r.reason;
  // Dec 24 23:59:59 in Berlin is not frozen, Dec 25 00:00 is.
  EXPECT_EQ(Judge(f, cal, kBerlin, "2027-12-24T22:59:59Z").verdict, Verdict::kPass);
  EXPECT_EQ(Judge(f, cal, kBerlin, "2027-12-24T23:00:00Z").verdict, Verdict::kWait);
  EXPECT_EQ(Judge(f, cal, kBerlin, "2027-12-25T22:59:59Z").verdict, Verdict::kWait);
  EXPECT_EQ(Judge(f, cal, kBerlin, "2027-12-25T23:00:00Z").verdict, Verdict::kPass);
  // Before DTSTART there is no occurrence.
  EXPECT_EQ(Judge(f, cal, kBerlin, "2025-12-25T12:00:00Z").verdict, Verdict::kPass);
}

TEST(IcsFreezeTest, NamedCalendarPrefixesTheEventName) {
  std::vector<Freeze> f{{"holidays", "", "", "calendars/holidays.ics"}};
  std::vector<CalendarEvidence> cal{{"calendars/holidays.ics", kChristmasIcs, ""}};
  GateResult r = Judge(f, cal, kBerlin, "2026-12-25T12:00:00Z");
  EXPECT_NE(r.reason.find("frozen: holidays: Christmas Day"), std::string::npos) << r.reason;
}

TEST(IcsFreezeTest, TheShippedExampleCalendarParses) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/environments/calendars/holidays.ics");
  ASSERT_TRUE(in) << "environments/calendars/holidays.ics is missing";
  std::stringstream text;
  text << in.rdbuf();
  std::vector<Freeze> f{{"", "", "", "calendars/holidays.ics"}};
  std::vector<CalendarEvidence> cal{{"calendars/holidays.ics", text.str(), ""}};
  EXPECT_EQ(Judge(f, cal, kBerlin, "2027-01-01T12:00:00Z").verdict, Verdict::kWait);
  EXPECT_EQ(Judge(f, cal, kBerlin, "2028-12-25T12:00:00Z").verdict, Verdict::kWait);
  EXPECT_EQ(Judge(f, cal, kBerlin, "2028-01-01T12:00:00Z").verdict, Verdict::kPass);
}

TEST(IcsFreezeTest, TzidUtcAndFloatingTimes) {
  const auto* berlin = *LocateTimeZone(kBerlin);
  std::string text =
      Ics("BEGIN:VEVENT\nUID:a\nSUMMARY:NY evening\n"
          "DTSTART;TZID=America/New_York:20261224T170000\n"
          "DTEND;TZID=America/New_York:20261224T230000\nEND:VEVENT\n"
          "BEGIN:VEVENT\nUID:b\nSUMMARY:UTC day\nDTSTART:20260601T000000Z\nDTEND:20260602T000000Z\n"
          "END:VEVENT\n"
          "BEGIN:VEVENT\nUID:c\nSUMMARY:floating\nDTSTART:20260701T090000\nDURATION:PT2H\n"
          "END:VEVENT\n");
  auto periods =
      ParseIcsCalendar(text, berlin, Utc("2026-01-01T00:00:00Z"), Utc("2027-01-01T00:00:00Z"));
  ASSERT_TRUE(periods.ok()) << periods.status().ToString();
  ASSERT_EQ(periods->size(), 3u);
  EXPECT_EQ((*periods)[0].name, "UTC day");
  EXPECT_EQ((*periods)[0].start, Utc("2026-06-01T00:00:00Z"));
  EXPECT_EQ((*periods)[1].name, "floating");  // 09:00-11:00 CEST
  EXPECT_EQ((*periods)[1].start, Utc("2026-07-01T07:00:00Z"));
  EXPECT_EQ((*periods)[1].end, Utc("2026-07-01T09:00:00Z"));
  EXPECT_EQ((*periods)[2].name, "NY evening");  // 17:00-23:00 EST
  EXPECT_EQ((*periods)[2].start, Utc("2026-12-24T22:00:00Z"));
  EXPECT_EQ((*periods)[2].end, Utc("2026-12-25T04:00:00Z"));
}

TEST(IcsFreezeTest, UsesTheFilesOwnVtimezoneForNonIanaTzids) {
  const auto* utc = *LocateTimeZone("UTC");
  std::string text =
      Ics("BEGIN:VTIMEZONE\nTZID:W. Europe Standard Time\n"
          "BEGIN:STANDARD\nDTSTART:16010101T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\n"
          "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\nEND:STANDARD\n"
          "BEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\n"
          "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\nEND:DAYLIGHT\nEND:VTIMEZONE\n"
          "BEGIN:VEVENT\nUID:o\nSUMMARY:outlook\n"
          "DTSTART;TZID=W. Europe Standard Time:20260715T100000\n"
          "DTEND;TZID=W. Europe Standard Time:20260715T120000\nEND:VEVENT\n");
  auto periods =
      ParseIcsCalendar(text, utc, Utc("2026-01-01T00:00:00Z"), Utc("2027-01-01T00:00:00Z"));
  ASSERT_TRUE(periods.ok()) << periods.status().ToString();
  ASSERT_EQ(periods->size(), 1u);
  EXPECT_EQ((*periods)[0].start, Utc("2026-07-15T08:00:00Z"));
  EXPECT_EQ((*periods)[0].end, Utc("2026-07-15T10:00:00Z"));
}

TEST(IcsFreezeTest, ExdateOverridesAndCancelledEventsDoNotFreeze) {
  std::string text = Ics(
      "BEGIN:VEVENT\nUID:weekly\nSUMMARY:friday freeze\n"
      "DTSTART;VALUE=DATE:20260306\nRRULE:FREQ=WEEKLY;BYDAY=FR\n"
      "EXDATE;VALUE=DATE:20260313\nEND:VEVENT\n"
      "BEGIN:VEVENT\nUID:weekly\nSUMMARY:moved friday freeze\nRECURRENCE-ID;VALUE=DATE:20260320\n"
      "DTSTART;VALUE=DATE:20260321\nEND:VEVENT\n"
      "BEGIN:VEVENT\nUID:gone\nSUMMARY:cancelled\nSTATUS:CANCELLED\n"
      "DTSTART;VALUE=DATE:20260310\nEND:VEVENT\n");
  std::vector<Freeze> f{{"", "", "", "c.ics"}};
  std::vector<CalendarEvidence> cal{{"c.ics", text, ""}};
  EXPECT_EQ(Judge(f, cal, "UTC", "2026-03-06T12:00:00Z").verdict, Verdict::kWait);
  EXPECT_EQ(Judge(f, cal, "UTC", "2026-03-10T12:00:00Z").verdict, Verdict::kPass);  // cancelled
  EXPECT_EQ(Judge(f, cal, "UTC", "2026-03-13T12:00:00Z").verdict, Verdict::kPass);  // EXDATE
  EXPECT_EQ(Judge(f, cal, "UTC", "2026-03-20T12:00:00Z").verdict, Verdict::kPass);  // moved
  GateResult r = Judge(f, cal, "UTC", "2026-03-21T12:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kWait);
  EXPECT_NE(r.reason.find("moved friday freeze"), std::string::npos) << r.reason;
  EXPECT_EQ(Judge(f, cal, "UTC", "2026-03-27T12:00:00Z").verdict, Verdict::kWait);
}

struct BadCalendar {
  const char* what;
  const char* text;
  const char* problem;
};

class MalformedIcsTest : public ::testing::TestWithParam<BadCalendar> {};

TEST_P(MalformedIcsTest, BlocksNamingTheFileAndTheProblem) {
  const BadCalendar& c = GetParam();
  std::vector<Freeze> f{{"", "", "", "calendars/bad.ics"}};
  std::vector<CalendarEvidence> cal{{"calendars/bad.ics", c.text, ""}};
  GateResult r;
  ASSERT_NO_THROW(r = Judge(f, cal, kBerlin, "2026-06-01T12:00:00Z"));
  EXPECT_EQ(r.verdict, Verdict::kBlock) << c.what;
  EXPECT_NE(r.reason.find("calendar calendars/bad.ics is malformed"), std::string::npos)
      << r.reason;
  EXPECT_NE(r.reason.find(c.problem), std::string::npos) << c.what << ": " << r.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Calendars, MalformedIcsTest,
    ::testing::Values(
        BadCalendar{"not iCalendar", "holidays:\n  - 2026-12-25\n", "not an iCalendar file"},
        BadCalendar{"empty", "", "not an iCalendar file"},
        BadCalendar{"unterminated", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\n",
                    "not an iCalendar file"},
        BadCalendar{"bad date",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART;VALUE=DATE:2026XX25\nEND:VEVENT\nEND:VCALENDAR\n",
                    "2026XX25"},
        BadCalendar{"bad rrule",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\n"
                    "RRULE:FREQ=SOMETIMES\nEND:VEVENT\nEND:VCALENDAR\n",
                    "RRULE"},
        BadCalendar{"garbage line",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\n"
                    "this is not a property\nEND:VEVENT\nEND:VCALENDAR\n",
                    "this is not a property"},
        BadCalendar{"no DTSTART",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Holiday\n"
                    "END:VEVENT\nEND:VCALENDAR\n",
                    "event 'Holiday' has no DTSTART"},
        BadCalendar{"unknown TZID",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART;TZID=Mars/Base:20261225T100000\nEND:VEVENT\n"
                    "END:VCALENDAR\n",
                    "unknown TZID 'Mars/Base'"},
        BadCalendar{"ends before start",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART:20261225T100000Z\nDTEND:20261225T090000Z\n"
                    "END:VEVENT\nEND:VCALENDAR\n",
                    "ends before it starts"},
        BadCalendar{"too dense",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART:20000101T000000Z\nDURATION:PT1S\n"
                    "RRULE:FREQ=MINUTELY\nEND:VEVENT\nEND:VCALENDAR\n",
                    "recurs too often"},
        // Found by fuzz/calendar_fuzz.cc: years a TimePoint cannot hold
        // overflowed it (undefined behaviour) instead of blocking.
        BadCalendar{"year 1013",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART;TZID=Europe/Berlin:10130101T090000\nDURATION:PT2H\n"
                    "END:VEVENT\nEND:VCALENDAR\n",
                    "event 'x' has a DTSTART outside the years 1900 to 2199"},
        BadCalendar{"year 2500 end",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART:20261225T100000Z\nDTEND:25001225T100000Z\n"
                    "END:VEVENT\nEND:VCALENDAR\n",
                    "event 'x' has a DTEND outside the years 1900 to 2199"},
        BadCalendar{"ends after 2199",
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\n"
                    "DTSTART;VALUE=DATE:21991225\nDURATION:P30D\n"
                    "END:VEVENT\nEND:VCALENDAR\n",
                    "event 'x' has an occurrence that starts or ends outside the years"}),
    [](const ::testing::TestParamInfo<BadCalendar>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(IcsFreezeTest, RecurrenceBeyondTheLastYearEndsTheExpansion) {
  const auto* berlin = *LocateTimeZone(kBerlin);
  std::string text =
      Ics("BEGIN:VEVENT\nUID:s\nSUMMARY:sparse\nDTSTART;VALUE=DATE:20260704\n"
          "RRULE:FREQ=YEARLY;INTERVAL=500\nEND:VEVENT\n");
  auto periods =
      ParseIcsCalendar(text, berlin, Utc("2026-01-01T00:00:00Z"), Utc("2199-01-01T00:00:00Z"));
  ASSERT_TRUE(periods.ok()) << periods.status().ToString();
  ASSERT_EQ(periods->size(), 1u);
  EXPECT_EQ((*periods)[0].start, Utc("2026-07-03T22:00:00Z"));
}

TEST(CalendarEvidenceTest, UnreadableCalendarBlocksNamingIt) {
  std::vector<Freeze> f{{"", "", "", "calendars/holidays.ics"}};
  std::vector<CalendarEvidence> cal{{"calendars/holidays.ics", "", "no such file at abc123"}};
  GateResult r = Judge(f, cal, kBerlin, "2026-06-01T12:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("calendar calendars/holidays.ics cannot be read: no such file"),
            std::string::npos)
      << r.reason;
}

TEST(CalendarEvidenceTest, CalendarTheEngineDidNotReadBlocks) {
  std::vector<Freeze> f{{"", "", "", "calendars/holidays.ics"}};
  GateResult r = Judge(f, {}, kBerlin, "2026-06-01T12:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("fail closed"), std::string::npos) << r.reason;
}

TEST(CalendarEvidenceTest, BlockWinsOverAnActiveFreeze) {
  std::vector<Freeze> f{{"now", "2026-06-01", "2026-06-01", ""}, {"", "", "", "bad.ics"}};
  std::vector<CalendarEvidence> cal{{"bad.ics", "nonsense", ""}};
  EXPECT_EQ(Judge(f, cal, kBerlin, "2026-06-01T12:00:00Z").verdict, Verdict::kBlock);
}

TEST(YamlCalendarTest, ListOfDateRangesFreezes) {
  std::vector<Freeze> f{{"", "", "", "calendars/freezes.yaml"}};
  std::vector<CalendarEvidence> cal{
      {"calendars/freezes.yaml",
       "freezes:\n  - { name: summer, from: 2026-08-01, to: 2026-08-14 }\n"
       "  - { name: winter, from: 2026-12-20, to: 2027-01-03 }\n",
       ""}};
  GateResult r = Judge(f, cal, kBerlin, "2026-08-14T21:00:00Z");
  EXPECT_EQ(r.verdict, Verdict::kWait);
  EXPECT_NE(r.reason.find("frozen: summer until 2026-08-15 00:00 Europe/Berlin"), std::string::npos)
      << r.reason;
  EXPECT_EQ(Judge(f, cal, kBerlin, "2026-09-01T12:00:00Z").verdict, Verdict::kPass);
}

TEST(YamlCalendarTest, MalformedYamlCalendarBlocksWithTheLine) {
  std::vector<Freeze> f{{"", "", "", "calendars/freezes.yaml"}};
  for (const char* text :
       {"- { name: x, from: 2026-02-30, to: 2026-03-01 }\n", "- { name: x, from: 2026-01-01 }\n",
        "- { name: x, from: 2026-01-01, to: 2026-01-02, form: 1 }\n", "- [unclosed\n",
        "just a string\n", "- { name: x, from: 0001-01-01, to: 2026-01-01 }\n",
        "- { name: x, from: 2026-01-01, to: 9999-12-31 }\n"}) {
    std::vector<CalendarEvidence> cal{{"calendars/freezes.yaml", text, ""}};
    GateResult r = Judge(f, cal, kBerlin, "2026-06-01T12:00:00Z");
    EXPECT_EQ(r.verdict, Verdict::kBlock) << text;
    EXPECT_NE(r.reason.find("calendar calendars/freezes.yaml is malformed"), std::string::npos)
        << r.reason;
  }
}

}  // namespace
}  // namespace sluice::gates
