// Metrics rendering, checked as strings: every line must be valid Prometheus
// text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

namespace sluice::server {
namespace {

using std::chrono::seconds;

TimePoint At(long unix_seconds) { return TimePoint(seconds(unix_seconds)); }

// Checks every line against the 0.0.4 grammar: HELP/TYPE comments, or
// `name{label="value",...} value`. Returns the offending lines.
std::vector<std::string> InvalidLines(const std::string& text) {
  static const std::regex kHelp(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  static const std::regex kType(
      R"(^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kSample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*")*\})? ([-+]?[0-9.eE+-]+|[+-]Inf|NaN)$)");
  std::vector<std::string> bad;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!std::regex_match(line, kHelp) && !std::regex_match(line, kType) &&
        !std::regex_match(line, kSample)) {
      bad.push_back(line);
    }
  }
  return bad;
}

record::PassReport ReportWith(std::vector<std::string> states) {
  record::PassReport r;
  for (auto& s : states) {
    r.outcomes.push_back({"dev", "api", "c", "d", record::ParseOutcome(s).value(), ""});
  }
  return r;
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(EscapeLabelValue("line1\nline2"), R"(line1\nline2)");
  EXPECT_EQ(EscapeHelp("back\\slash\nnew"), R"(back\\slash\nnew)");
  EXPECT_EQ(EscapeHelp(R"(keeps "quotes")"), R"(keeps "quotes")");
}

TEST(MetricsTest, FormatsSampleValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatSampleValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTest, FreshRegistryRendersEveryFamilyWithZeroes) {
  Metrics m("1.2.3");
  std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  for (const char* family :
       {"sluice_build_info", "sluice_reconcile_duration_seconds", "sluice_reconcile_passes_total",
        "sluice_fetch_errors_total", "sluice_outcomes_total",
        "sluice_last_successful_pass_timestamp_seconds", "sluice_webhooks_total"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
  EXPECT_NE(text.find("sluice_build_info{version=\"1.2.3\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_passes_total{result=\"success\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_outcomes_total{state=\"failed\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_last_successful_pass_timestamp_seconds 0\n"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsTest, EvidenceCacheSeriesAreZeroWithoutASource) {
  Metrics m("0.1.0");
  std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  for (const char* kind : {"registry", "scan"}) {
    const std::string label = std::string("{kind=\"") + kind + "\"} 0\n";
    EXPECT_NE(text.find("sluice_evidence_cache_hits_total" + label), std::string::npos) << text;
    EXPECT_NE(text.find("sluice_evidence_cache_misses_total" + label), std::string::npos);
    EXPECT_NE(text.find("sluice_evidence_cache_entries" + label), std::string::npos);
  }
}

TEST(MetricsTest, UntrustedRecordEntriesComeFromTheWorkspaceCount) {
  Metrics m("0.1.0");
  EXPECT_NE(m.Render().find("sluice_record_untrusted_total 0\n"), std::string::npos);
  size_t n = 3;
  m.SetUntrustedSource([&n] { return n; });
  std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  EXPECT_NE(text.find("# TYPE sluice_record_untrusted_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_record_untrusted_total 3\n"), std::string::npos) << text;
}

TEST(MetricsTest, EvidenceCacheSeriesComeFromTheSource) {
  Metrics m("0.1.0");
  int reads = 0;
  m.SetEvidenceCacheSource([&reads] {
    ++reads;
    Metrics::CacheSeries s;
    s["registry"].hits = 41;
    s["registry"].misses = 3;
    s["registry"].entries = 2;
    s["scan"].hits = 1000;
    s["scan"].misses = 7;
    s["scan"].entries = 7;
    return s;
  });
  std::string text = m.Render();
  EXPECT_EQ(reads, 1);
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  EXPECT_NE(text.find("# TYPE sluice_evidence_cache_hits_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sluice_evidence_cache_misses_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sluice_evidence_cache_entries gauge\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_evidence_cache_hits_total{kind=\"registry\"} 41\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_evidence_cache_misses_total{kind=\"registry\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_evidence_cache_entries{kind=\"registry\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_evidence_cache_hits_total{kind=\"scan\"} 1000\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_evidence_cache_misses_total{kind=\"scan\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_evidence_cache_entries{kind=\"scan\"} 7\n"), std::string::npos);
}

TEST(MetricsTest, CountsPassesOutcomesAndFetchErrors) {
  Metrics m("0.1.0");
  m.ObservePass(ReportWith({"verified", "blocked", "blocked"}), seconds(2), At(1700000000));
  m.ObservePass(ReportWith({"waiting"}), std::chrono::milliseconds(30), At(1700000060));
  m.ObserveFailedPass(Status::IOError("fetch git://x: refused"), true, seconds(400),
                      At(1700000120));
  std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  EXPECT_NE(text.find("sluice_reconcile_passes_total{result=\"success\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_passes_total{result=\"error\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_fetch_errors_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_outcomes_total{state=\"blocked\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_outcomes_total{state=\"verified\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_outcomes_total{state=\"waiting\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_last_successful_pass_timestamp_seconds 1700000060\n"),
            std::string::npos);
}

TEST(MetricsTest, HistogramIsCumulativeWithInfSumAndCount) {
  Metrics m("0.1.0");
  m.ObservePass({}, std::chrono::milliseconds(250), At(1));  // <= 0.25
  m.ObservePass({}, seconds(1), At(2));                      // <= 1 (bounds are inclusive)
  m.ObservePass({}, seconds(1000), At(3));                   // only +Inf
  std::string text = m.Render();
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_bucket{le=\"0.1\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_bucket{le=\"0.25\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_bucket{le=\"0.5\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_bucket{le=\"300\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_reconcile_duration_seconds_sum 1001.25\n"), std::string::npos);
}

TEST(MetricsTest, WebhookLabelsAreEscapedAndLinesStayValid) {
  Metrics m("v\"1\n\\");
  m.ObserveWebhook("github", "accepted");
  m.ObserveWebhook("github", "accepted");
  m.ObserveWebhook("gitlab", "unauthorized");
  std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  EXPECT_NE(text.find("sluice_webhooks_total{source=\"github\",result=\"accepted\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_webhooks_total{source=\"gitlab\",result=\"unauthorized\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find(R"(sluice_build_info{version="v\"1\n\\"} 1)"), std::string::npos) << text;
}

TEST(MetricsTest, EachSeriesAppearsOnce) {
  Metrics m("0.1.0");
  m.ObservePass(ReportWith({"verified", "verified"}), seconds(1), At(5));
  std::set<std::string> seen;
  std::istringstream in(m.Render());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#", 0) == 0) continue;
    std::string series = line.substr(0, line.rfind(' '));
    EXPECT_TRUE(seen.insert(series).second) << "duplicate series " << series;
  }
}

TEST(MetricsTest, IsFetchErrorRecognisesTheEnginePrefix) {
  EXPECT_TRUE(IsFetchError(Status::IOError("fetch git://h/r: connection refused")));
  EXPECT_FALSE(IsFetchError(Status::NotFound("branch main")));
}

TEST(ReadinessTest, NotReadyBeforeTheFirstPass) {
  Readiness r = EvaluateReadiness({}, At(100), seconds(60));
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "no successful pass yet");
}

TEST(ReadinessTest, ReadyWithinThreeIntervals) {
  PassHealth h;
  h.last_success = At(1000);
  EXPECT_TRUE(EvaluateReadiness(h, At(1000 + 180), seconds(60)).ready);
  Readiness late = EvaluateReadiness(h, At(1000 + 181), seconds(60));
  EXPECT_FALSE(late.ready);
  EXPECT_NE(late.reason.find("no successful pass for 3m"), std::string::npos) << late.reason;
}

TEST(ReadinessTest, NamesTheLastErrorWhenPassesFail) {
  PassHealth h;
  h.last_success = At(1000);
  h.last_failure = At(2000);
  h.last_error = "fetch git://h/r: connection refused";
  Readiness r = EvaluateReadiness(h, At(2000), seconds(60));
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.reason.find("last pass failed: fetch git://h/r: connection refused"),
            std::string::npos)
      << r.reason;
}

}  // namespace
}  // namespace sluice::server

namespace sluice::server {
namespace {

record::AppOutcome Outcome(const std::string& app, const std::string& state) {
  return {"prod", app, std::string(40, 'c'), "", record::ParseOutcome(state).value(), ""};
}

TEST(MetricsTest, DriftIsCountedWhenFoundAndTheGaugeFollowsThePins) {
  Metrics m("0.1.0");
  record::PassReport first;
  first.drift_checks = 3;
  first.outcomes = {Outcome("api", "drift"), Outcome("web", "drift")};
  m.ObservePass(first, seconds(1), At(10));
  record::PassReport second;
  second.drift_checks = 2;
  second.outcomes = {Outcome("api", "drift-resolved")};
  m.ObservePass(second, seconds(1), At(20));
  std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty()) << text;
  EXPECT_NE(text.find("\nsluice_drift_checks_total 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsluice_drift_detected_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsluice_drifted_pins 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE sluice_drifted_pins gauge\n"), std::string::npos) << text;

  // A new release of the drifted app replaces what drifted.
  record::PassReport third;
  third.outcomes = {Outcome("web", "verified")};
  m.ObservePass(third, seconds(1), At(30));
  EXPECT_NE(m.Render().find("\nsluice_drifted_pins 0\n"), std::string::npos);
}

TEST(ReadinessTest, NotReadyWhileRecordsCannotBePushedEvenAfterARecentPass) {
  PassHealth h;
  h.last_success = At(1000);
  h.record_push_error = "push the record to git://h/r: pre-receive hook declined";
  Readiness r = EvaluateReadiness(h, At(1001), seconds(60));
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.reason.find("records cannot be pushed: push the record to git://h/r"),
            std::string::npos)
      << r.reason;
  h.record_push_error.clear();
  EXPECT_TRUE(EvaluateReadiness(h, At(1001), seconds(60)).ready);
}

TEST(ReadinessTest, MetricsKeepTheRecordPushErrorOnOneLine) {
  Metrics m("test");
  m.SetRecordPushError("push refused\nremote: denied");
  EXPECT_EQ(m.Health().record_push_error.find('\n'), std::string::npos);
  m.SetRecordPushError("");
  EXPECT_TRUE(m.Health().record_push_error.empty());
}

TEST(ReadinessTest, NotReadyWhileFencedEvenAfterARecentPass) {
  Metrics m("test");
  std::string reason = "cannot renew etcd lease 7: etcd at http://e:2379 unreachable:\nrefused";
  m.SetOwnershipSource([&reason] { return OwnershipView{{}, 0, reason}; });
  PassHealth h = m.Health();
  h.last_success = At(1000);
  Readiness r = EvaluateReadiness(h, At(1001), seconds(60));
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.reason.find("fenced, applying nothing: cannot renew etcd lease 7"), std::string::npos)
      << r.reason;
  EXPECT_EQ(r.reason.find('\n'), std::string::npos);
  reason.clear();
  h = m.Health();
  h.last_success = At(1000);
  EXPECT_TRUE(EvaluateReadiness(h, At(1001), seconds(60)).ready);
}

TEST(MetricsTest, OwnersAndLeaseChangesComeFromTheOwnershipSource) {
  Metrics m("test");
  EXPECT_EQ(m.Render().find("sluice_env_owner"), std::string::npos);  // no --etcd: no series
  m.SetOwnershipSource([] { return OwnershipView{{{"dev", "a"}, {"prod", "b\"x"}}, 3, ""}; });
  const std::string text = m.Render();
  EXPECT_TRUE(InvalidLines(text).empty());
  EXPECT_NE(text.find("\nsluice_env_owner{env=\"dev\",instance=\"a\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nsluice_env_owner{env=\"prod\",instance=\"b\\\"x\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nsluice_lease_changes_total 3\n"), std::string::npos);
}

}  // namespace
}  // namespace sluice::server
