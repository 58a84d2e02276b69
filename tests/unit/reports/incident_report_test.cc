// `sluice incident-report` over a recorded history built in memory: golden
// Markdown and JSON (tests/data/incident/), time-to-detect and
// time-to-restore against hand-computed values, the automatic rollback told
// apart from a person's, window selection, and the empty case.
//
// Set SLUICE_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate
// change of format, then review the diff.
#include "reports/incident_report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/time_format.h"

namespace sluice::reports {
namespace {

std::string Id(char c) { return std::string(40, c); }
TimePoint T(const std::string& text) { return *ParseRfc3339(text); }

std::string Line(const std::string& time, const std::string& kind, char commit,
                 const std::string& extra) {
  return R"({"v":1,"time":")" + time + R"(","env":"prod","app":"api","event":")" + kind +
         R"(","digest":"sha256:)" + std::string(64, commit) + R"(","commit":")" + Id(commit) +
         "\"" + extra + R"(,"controller":{"id":"ctl-1","version":"0.1.0"}})";
}

// The approval gate's pass reason and the approvers, as the controller records them.
std::string Approval(const std::string& reason, const std::string& approvers) {
  return R"J(,"gates":[{"name":"approval","result":"pass","reason":")J" + reason +
         R"J("}],"approvers":[)J" + approvers + "]";
}

const std::string kForge = Approval("approved by alice (1 of 1, release-managers)", R"J("alice")J");
const std::string kSigned =
    Approval("merge signed by bob (1 of 1, release-managers)", R"J("bob")J");
const std::string kTwoForge =
    Approval("approved by alice, bob (2 of 2, release-managers)", R"J("alice","bob")J");
const std::string kOnCall = Approval("merge signed by carol (1 of 1, on-call)", R"J("carol")J");

// Story A: 2.5.0 verified (C1); 2.6.0 (C2) fails verification and the
// controller rolls it back by itself (C3, onFailure: rollback).
std::map<char, std::vector<std::string>> StoryA() {
  std::map<char, std::vector<std::string>> n;
  n['1'] = {
      Line("2026-11-02T10:00:00Z", "applying", '1', R"(,"version":"2.5.0")" + kForge),
      Line("2026-11-02T10:01:00Z", "applied", '1',
           R"(,"version":"2.5.0","reason":"exit 0 in 1.2s")" + kForge +
               R"(,"adapter":{"name":"helm","exitCode":0,"durationMs":1200})"),
      Line(
          "2026-11-02T10:05:00Z", "verified", '1',
          R"(,"version":"2.5.0","reason":"all checks passed","output":"ok   http https://api.internal/ready: 200")" +
              kForge),
  };
  n['2'] = {
      Line("2026-11-03T11:00:00Z", "applying", '2', R"(,"version":"2.6.0")" + kSigned),
      Line("2026-11-03T11:02:00Z", "applied", '2',
           R"(,"version":"2.6.0","reason":"exit 0 in 2m0s")" + kSigned +
               R"(,"adapter":{"name":"helm","exitCode":0,"durationMs":120000},"previous":")" +
               Id('1') + "\""),
      Line(
          "2026-11-03T11:10:00Z", "failed", '2',
          R"(,"version":"2.6.0","reason":"verification failed: prometheus error-ratio 0.07 > max 0.01; rolled back by 333333333333 restoring 111111111111","output":"ok   http https://api.internal/ready: 200\nFAIL prometheus error-ratio: 0.07 > max 0.01")" +
              kSigned),
  };
  n['3'] = {
      Line(
          "2026-11-03T11:10:02Z", "applying", '3',
          R"J(,"version":"2.5.0","reason":"rollback to verified 111111111111 (2.5.0)","gates":[],"approvers":[],"rollbackTo":")J" +
              Id('1') + "\""),
      Line(
          "2026-11-03T11:10:03Z", "rolled-back", '3',
          R"(,"version":"2.5.0","reason":"rollback to verified 111111111111 (2.5.0); exit 0 in 0.4s","gates":[],"approvers":[],"rollbackTo":")" +
              Id('1') + R"(","previous":")" + Id('2') + "\""),
      Line(
          "2026-11-03T11:12:03Z", "verified", '3',
          R"(,"version":"2.5.0","reason":"all checks passed","output":"ok   prometheus error-ratio: 0.002","gates":[],"approvers":[],"rollbackTo":")" +
              Id('1') + "\""),
  };
  return n;
}

// Story B, after A: 2.7.0 (C4) is verified but misbehaves; Carol rolls it
// back by hand with `sluice rollback prod api --incident INC-7` (C5).
std::map<char, std::vector<std::string>> StoryAB() {
  auto n = StoryA();
  n['4'] = {
      Line("2026-11-05T09:30:00Z", "applying", '4', R"(,"version":"2.7.0")" + kTwoForge),
      Line("2026-11-05T09:31:00Z", "applied", '4',
           R"(,"version":"2.7.0","reason":"exit 0 in 1m0s")" + kTwoForge),
      Line("2026-11-05T09:35:00Z", "verified", '4',
           R"(,"version":"2.7.0","reason":"all checks passed")" + kTwoForge),
  };
  n['5'] = {
      Line(
          "2026-11-05T10:00:04Z", "applying", '5',
          R"J(,"version":"2.5.0","reason":"rollback to verified 333333333333 (2.5.0)","rollbackTo":")J" +
              Id('3') + "\"" + kOnCall),
      Line(
          "2026-11-05T10:00:05Z", "rolled-back", '5',
          R"(,"version":"2.5.0","reason":"rollback to verified 333333333333 (2.5.0); exit 0 in 0.5s","rollbackTo":")" +
              Id('3') + "\"" + kOnCall),
      Line("2026-11-05T10:02:05Z", "verified", '5',
           R"(,"version":"2.5.0","reason":"all checks passed","rollbackTo":")" + Id('3') + "\"" +
               kOnCall),
  };
  return n;
}

ChangeSource Source(char c) {
  struct Row {
    const char* author;
    const char* committed;
    const char* message;
  };
  static const std::map<char, Row> rows = {
      {'1', {"Dana <dana@example.com>", "2026-11-02T09:00:00Z", "Promote api 2.5.0 to prod"}},
      {'2', {"Eve <eve@example.com>", "2026-11-03T09:00:00Z", "Promote api 2.6.0 to prod"}},
      {'3',
       {"Sluice controller <sluice@ctl-1>", "2026-11-03T11:10:01Z",
        "Roll back prod/api to 2.5.0\n\nVerification failed: prometheus error-ratio 0.07 > max "
        "0.01\n\nSluice-Rollback: 1111111111111111111111111111111111111111\n"}},
      {'4', {"Eve <eve@example.com>", "2026-11-05T09:00:00Z", "Promote api 2.7.0 to prod"}},
      {'5',
       {"Carol <carol@example.com>", "2026-11-05T10:00:00Z",
        "Roll back prod/api to 2.5.0\n\nSluice-Rollback: "
        "3333333333333333333333333333333333333333\nSluice-Incident: INC-7\n"}},
  };
  const Row& r = rows.at(c);
  ChangeSource s;
  s.known = true;
  s.landing_commit = Id(c);
  s.author = r.author;
  s.committed = T(r.committed);
  std::string message = r.message;
  size_t nl = message.find('\n');
  s.subject = message.substr(0, nl);
  if (nl != std::string::npos) s.body = message.substr(message.find_first_not_of('\n', nl));
  ReadRollbackReferences(message, &s);
  return s;
}

std::map<std::string, ReleaseSide> Sides() {
  std::map<std::string, ReleaseSide> out;
  auto side = [&](char c, const char* version, const char* source) {
    out[Id(c)] = {Id(c), version, "sha256:" + std::string(64, c), source};
  };
  side('1', "2.5.0", "github.com/shop/api@87fea83a9553070349f1447d1db14d8bf18656a6");
  side('2', "2.6.0", "github.com/shop/api@55e4119766a3897094cec5dcbbd642af5f541dd6");
  side('3', "2.5.0", "github.com/shop/api@87fea83a9553070349f1447d1db14d8bf18656a6");
  side('4', "2.7.0", "github.com/shop/api@ca11e6d1bd1c85cb5e05f78ba0595bdfcd5c0bd3");
  side('5', "2.5.0", "github.com/shop/api@87fea83a9553070349f1447d1db14d8bf18656a6");
  return out;
}

IncidentReport Build(const std::map<char, std::vector<std::string>>& notes,
                     IncidentOptions options = {}) {
  std::vector<AnnotatedCommit> annotated;
  for (const auto& [c, lines] : notes) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    annotated.push_back({Id(c), record::ParseNote(text)});
  }
  AuditFilter filter{"prod", "api", std::nullopt, std::nullopt};
  CollectResult collected = CollectChanges(annotated, filter);
  for (Change& c : collected.changes) c.source = Source(c.commit[0]);
  AuditOptions audit;
  audit.filter = filter;
  AuditReport report =
      BuildAudit(std::move(collected.changes), audit, collected.envs_with_approval_gate);
  options.env = "prod";
  options.app = "api";
  return BuildIncidentReport(report.changes, Sides(), options);
}

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(SLUICE_TEST_DATA_DIR) + "/incident/" + name;
  if (std::getenv("SLUICE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "golden file " << path << " differs (SLUICE_UPDATE_GOLDEN=1 rewrites it)";
}

std::string Markdown(const IncidentReport& r) {
  auto md = RenderIncidentReportMarkdown(std::string(DefaultIncidentReportTemplate()), r);
  EXPECT_TRUE(md.ok()) << md.status().ToString();
  return md.ok() ? *md : "";
}

TEST(IncidentReportTest, AutomaticRollbackMatchesGolden) {
  IncidentReport r = Build(StoryA());
  ExpectGolden("auto-rollback.md", Markdown(r));
  ExpectGolden("auto-rollback.json", RenderIncidentReportJson(r));
}

TEST(IncidentReportTest, HumanRollbackWithIncidentMatchesGolden) {
  IncidentOptions options;
  options.incident = "INC-7";
  ExpectGolden("human-rollback.md", Markdown(Build(StoryAB(), options)));
}

TEST(IncidentReportTest, TimesToDetectAndRestoreAreTheHandComputedOnes) {
  IncidentReport a = Build(StoryA());
  ASSERT_EQ(a.failures.size(), 1u);
  const IncidentFailure& f = a.failures[0];
  EXPECT_EQ(f.commit, Id('2'));
  EXPECT_EQ(f.failure, "verification");
  // applied 11:02:00 -> failed 11:10:00; failed 11:10:00 -> rollback verified 11:12:03.
  EXPECT_EQ(*f.started, T("2026-11-03T11:02:00Z"));
  EXPECT_EQ(f.detected, T("2026-11-03T11:10:00Z"));
  EXPECT_DOUBLE_EQ(*f.time_to_detect_seconds, 480.0);
  EXPECT_DOUBLE_EQ(*f.time_to_restore_seconds, 123.0);
  EXPECT_EQ(FormatSeconds(*f.time_to_restore_seconds), "2m 3s");

  IncidentOptions options;
  options.incident = "INC-7";
  IncidentReport b = Build(StoryAB(), options);
  ASSERT_EQ(b.failures.size(), 1u);
  // Nothing failed by itself: detected when Carol committed the rollback.
  EXPECT_EQ(b.failures[0].failure, "rolled-back");
  EXPECT_EQ(b.failures[0].detected, T("2026-11-05T10:00:00Z"));
  EXPECT_DOUBLE_EQ(*b.failures[0].time_to_detect_seconds, 29 * 60.0);  // since applied 09:31
  EXPECT_DOUBLE_EQ(*b.failures[0].time_to_restore_seconds, 125.0);     // verified 10:02:05
}

TEST(IncidentReportTest, TellsTheControllersRollbackFromAPersons) {
  IncidentReport a = Build(StoryA());
  EXPECT_TRUE(a.failures[0].by_rollback);
  EXPECT_TRUE(a.failures[0].automatic);
  EXPECT_EQ(a.failures[0].rollback_target, Id('1'));
  EXPECT_EQ(a.failures[0].restored.version, "2.5.0");
  EXPECT_EQ(a.failures[0].failed_values,
            (std::vector<std::string>{"ok   http https://api.internal/ready: 200",
                                      "FAIL prometheus error-ratio: 0.07 > max 0.01"}));

  IncidentReport b = Build(StoryAB());  // default: the last failure, C4
  ASSERT_EQ(b.failures.size(), 1u);
  const IncidentFailure& f = b.failures[0];
  EXPECT_EQ(f.commit, Id('4'));
  EXPECT_FALSE(f.automatic);
  EXPECT_EQ(f.rollback_author, "Carol <carol@example.com>");
  EXPECT_EQ(f.incidents, std::vector<std::string>{"INC-7"});
  ASSERT_EQ(f.rollback_approvers.size(), 1u);
  EXPECT_EQ(f.rollback_approvers[0].name, "carol");
  EXPECT_EQ(f.rollback_approvers[0].how, "signed rollback commit");
  ASSERT_EQ(f.approvers.size(), 2u);
  EXPECT_EQ(f.approvers[1].how, "forge review");
}

TEST(IncidentReportTest, SinceReportsEveryFailureAndWidensTheTimeline) {
  IncidentOptions options;
  options.since = T("2026-11-01T00:00:00Z");
  IncidentReport r = Build(StoryAB(), options);
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_EQ(r.failures[0].commit, Id('2'));
  EXPECT_EQ(r.failures[1].commit, Id('4'));
  EXPECT_EQ(*r.window_start, T("2026-11-01T00:00:00Z"));
  EXPECT_EQ(r.timeline.front().event, "merged");  // C1's merge, before the first failure
  EXPECT_EQ(r.timeline.front().commit, Id('1'));

  // The default window starts at the failed change's merge.
  IncidentReport last = Build(StoryA());
  EXPECT_EQ(*last.window_start, T("2026-11-03T09:00:00Z"));
  EXPECT_EQ(*last.window_end, T("2026-11-03T11:12:03Z"));
  std::vector<std::string> events;
  for (const auto& t : last.timeline) events.push_back(t.event);
  EXPECT_EQ(events,
            (std::vector<std::string>{"merged", "applying", "applied", "failed", "rollback-commit",
                                      "applying", "rolled-back", "verified"}));
}

TEST(IncidentReportTest, NothingToReportSaysSo) {
  auto notes = StoryA();
  notes.erase('2');
  notes.erase('3');
  IncidentReport r = Build(notes);
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(r.empty_message,
            "no failure recorded for prod/api in 1 recorded change(s) since 2026-11-02T09:00:00Z");
  EXPECT_NE(Markdown(r).find("no failure recorded for prod/api"), std::string::npos);

  IncidentOptions options;
  options.since = T("2026-11-04T00:00:00Z");
  EXPECT_EQ(Build(StoryA(), options).empty_message,
            "no failure recorded for prod/api since 2026-11-04T00:00:00Z");
  options = {};
  options.incident = "INC-9";
  EXPECT_EQ(Build(StoryAB(), options).empty_message,
            "no failure recorded for prod/api with incident INC-9");
}

TEST(IncidentReportTest, ABrokenTemplateIsAnErrorNamingIt) {
  auto md = RenderIncidentReportMarkdown("{{#failures}}unclosed", Build(StoryA()));
  ASSERT_FALSE(md.ok());
  EXPECT_NE(md.status().message().find("incident-report template"), std::string::npos);
}

// The reconciler writes `rolled-back` (with `rollbackTo`) on the rollback
// commit when it applies it: the audit counts that as the rollback's deploy,
// not as a second failure.
TEST(IncidentReportTest, AuditCountsAnAppliedRollbackAsADeployNotAFailure) {
  std::vector<AnnotatedCommit> annotated;
  for (const auto& [c, lines] : StoryA()) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    annotated.push_back({Id(c), record::ParseNote(text)});
  }
  CollectResult collected = CollectChanges(annotated, {});
  for (Change& c : collected.changes) c.source = Source(c.commit[0]);
  AuditReport r = BuildAudit(std::move(collected.changes), {}, collected.envs_with_approval_gate);
  ASSERT_EQ(r.changes.size(), 3u);
  EXPECT_EQ(r.changes[1].outcome, "rolled-back");  // 2.6.0
  EXPECT_EQ(r.changes[2].outcome, "verified");     // the rollback itself
  EXPECT_EQ(*r.changes[2].applied, T("2026-11-03T11:10:03Z"));
  EXPECT_EQ(r.dora.failures, 1u);
  EXPECT_DOUBLE_EQ(*r.dora.time_to_restore.median_seconds, 123.0);
  EXPECT_DOUBLE_EQ(*r.dora.change_failure_rate, 1.0 / 3.0);
}

TEST(SourceRangeTest, ShortensCommitRangesOfOneRepository) {
  EXPECT_EQ(SourceRange("github.com/shop/api@87fea83a9553070349f1447d1db14d8bf18656a6",
                        "github.com/shop/api@55e4119766a3897094cec5dcbbd642af5f541dd6"),
            "github.com/shop/api@87fea83a9553..55e4119766a3");
  EXPECT_EQ(SourceRange("87fea83a9553070349f1447d1db14d8bf18656a6",
                        "55e4119766a3897094cec5dcbbd642af5f541dd6"),
            "87fea83a9553..55e4119766a3");
  EXPECT_EQ(SourceRange("v1.4.1", "v1.5.0"), "v1.4.1 → v1.5.0");
  EXPECT_EQ(SourceRange("", "abc1234"), "");
  EXPECT_EQ(SourceRange("abc1234", "abc1234"), "");
}

TEST(IncidentReportTest, HeldBySelectsTheDependentsAnAppHeld) {
  auto event = [](std::string app, record::EventKind kind, std::string result, std::string reason) {
    record::Event e;
    e.env = "prod";
    e.app = std::move(app);
    e.kind = kind;
    e.gates = {{"approval", "pass", "approved"}, {"dependsOn", std::move(result), reason}};
    return e;
  };
  using K = record::EventKind;
  EXPECT_EQ(
      HeldBy(event("api", K::kBlocked, "block", "dependency migrate failed: x"), "prod", "migrate"),
      "dependency migrate failed: x");
  EXPECT_EQ(HeldBy(event("api", K::kWaiting, "wait", "waiting for dependency migrate (blocked): y"),
                   "prod", "migrate"),
            "waiting for dependency migrate (blocked): y");
  EXPECT_EQ(HeldBy(event("api", K::kBlocked, "block", "dependency migrate was rolled back by c"),
                   "prod", "migrate"),
            "dependency migrate was rolled back by c");
  // Another dependency, a passing result, another environment, the app itself.
  EXPECT_EQ(HeldBy(event("api", K::kBlocked, "block", "dependency migrate2 failed: x"), "prod",
                   "migrate"),
            "");
  EXPECT_EQ(HeldBy(event("api", K::kApplying, "pass", "after migrate verified"), "prod", "migrate"),
            "");
  EXPECT_EQ(
      HeldBy(event("api", K::kBlocked, "block", "dependency migrate failed: x"), "dev", "migrate"),
      "");
  EXPECT_EQ(HeldBy(event("migrate", K::kBlocked, "block", "dependency migrate failed: x"), "prod",
                   "migrate"),
            "");
}

}  // namespace
}  // namespace sluice::reports
