#include "record/event.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace sluice::record {
namespace {

Event Sample() {
  Event e;
  e.time = *ParseRfc3339("2026-11-22T10:00:00Z");
  e.env = "prod";
  e.app = "api";
  e.kind = EventKind::kApplied;
  e.digest = "sha256:" + std::string(64, 'a');
  e.version = "2.5.3";
  e.commit = std::string(40, 'c');
  e.landing = std::string(40, 'b');
  e.gates = {{"digest", "pass", "immutable"}, {"approval", "pass", "alice"}};
  e.approvers = {"alice"};
  e.adapter = AdapterRecord{"exec", 0, 1234};
  e.reason = "exit 0 in 1.2s";
  e.controller_id = "host-1";
  e.controller_version = "0.1.0";
  return e;
}

TEST(EventTest, RoundTripsThroughJsonLine) {
  Event e = Sample();
  std::string line = EventToJsonLine(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto back = ParseEventLine(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

// Found by the event fuzzer (UBSan): a number too large for an int, which
// the JSON parser keeps as a double, was converted to int. Such a value now
// reads as absent.
TEST(EventTest, OutOfRangeNumbersReadAsAbsent) {
  auto e = ParseEventLine(
      R"({"v":5555555555555555555555555555555555551,"time":"2026-11-22T10:00:00Z","env":"prod",)"
      R"("app":"api","event":"applied","adapter":{"name":"exec","exitCode":1e40,)"
      R"("durationMs":-1e300}})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->schema, 1);
  ASSERT_TRUE(e->adapter.has_value());
  EXPECT_EQ(e->adapter->exit_code, -1);
  EXPECT_EQ(e->adapter->duration_ms, 0);
  auto big = ParseEventLine(
      R"({"v":1,"env":"prod","app":"api","event":"applied","adapter":{"exitCode":4294967296}})");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->adapter->exit_code, -1);
}

// A waiting gate's end is kept, so readers can restate it when they read.
TEST(EventTest, AWaitingGateKeepsItsEnd) {
  Event e = Sample();
  e.kind = EventKind::kWaiting;
  e.gates.push_back({"soak", "wait", "35s to go", *ParseRfc3339("2026-11-22T10:05:00Z")});
  std::string line = EventToJsonLine(e);
  EXPECT_NE(
      line.find(
          R"({"name":"soak","result":"wait","reason":"35s to go","until":"2026-11-22T10:05:00Z"})"),
      std::string::npos)
      << line;
  auto back = ParseEventLine(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
  // Gates without an end write no `until`.
  EXPECT_EQ(EventToJsonLine(Sample()).find("until"), std::string::npos);
}

TEST(EventTest, KeysComeInAStableReadableOrder) {
  std::string line = EventToJsonLine(Sample());
  EXPECT_EQ(
      line.rfind("{\"v\":1,\"time\":\"2026-11-22T10:00:00Z\",\"env\":\"prod\",\"app\":\"api\","
                 "\"event\":\"applied\"",
                 0),
      0u)
      << line;
}

TEST(EventTest, ReadsUnknownFieldsAndOlderLinesWithoutFailing) {
  auto e =
      ParseEventLine(R"({"time":"2026-01-01T00:00:00Z","env":"dev","app":"web","event":"verified",)"
                     R"("digest":"sha256:x","commit":"abc","future":{"nested":true}})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->kind, EventKind::kVerified);
  EXPECT_EQ(e->schema, 1);
  EXPECT_TRUE(e->gates.empty());
}

TEST(EventTest, NoteParsingSkipsLinesThatAreNotEvents) {
  std::string note = "hand-written remark\n" + EventToJsonLine(Sample()) +
                     "\n{\"not\":\"an event\"}\n{truncated\n";
  auto events = ParseNote(note);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].app, "api");
}

TEST(EventTest, RejectsUnknownEventKind) {
  EXPECT_FALSE(ParseEventLine(R"({"env":"a","app":"b","event":"exploded"})").ok());
}

TEST(EventTest, LastEventForPicksTheLatestOfThatApp) {
  Event a = Sample();
  Event b = Sample();
  b.kind = EventKind::kVerified;
  Event other = Sample();
  other.app = "web";
  other.kind = EventKind::kFailed;
  std::vector<Event> events = {a, b, other};
  const Event* last = LastEventFor(events, "prod", "api");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->kind, EventKind::kVerified);
  EXPECT_EQ(LastEventFor(events, "dev", "api"), nullptr);
}

TEST(EventTest, LastEventForGoesByTimeWhenALateWriterAppendedOlderLines) {
  // A replica killed with its journal unpushed (its `applying`) pushes it
  // after restarting, behind what the new owner wrote meanwhile.
  Event new_owner_verified = Sample();
  new_owner_verified.kind = EventKind::kVerified;
  new_owner_verified.time = *ParseRfc3339("2026-11-22T10:00:05Z");
  Event late_applying = Sample();
  late_applying.kind = EventKind::kApplying;
  late_applying.time = *ParseRfc3339("2026-11-22T10:00:01Z");
  std::vector<Event> events = {new_owner_verified, late_applying};
  const Event* last = LastEventFor(events, "prod", "api");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->kind, EventKind::kVerified);
}

TEST(EventTest, InvalidUtf8InOutputDoesNotThrow) {
  Event e = Sample();
  e.output = std::string("bad \xff\xfe bytes");
  std::string line = EventToJsonLine(e);
  EXPECT_TRUE(ParseEventLine(line).ok());
}

}  // namespace
}  // namespace sluice::record
