// `sluice audit` over a recorded history built in memory: golden Markdown,
// JSON and CSV (tests/data/audit/), exceptions, hand-computed DORA figures,
// rollback links, and old event lines.
//
// Set SLUICE_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate
// change of format, then review the diff.
#include "reports/audit.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/time_format.h"
#include "reports/audit_render.h"
#include "reports/release_notes.h"

namespace sluice::reports {
namespace {

std::string Id(char c) { return std::string(40, c); }
TimePoint T(const std::string& text) { return *ParseRfc3339(text); }

// One event line as the controller writes it (schema 1).
std::string Line(const std::string& time, const std::string& env, const std::string& app,
                 const std::string& kind, char commit, const std::string& extra = "") {
  return R"({"v":1,"time":")" + time + R"(","env":")" + env + R"(","app":")" + app +
         R"(","event":")" + kind + R"(","digest":"sha256:)" + std::string(64, commit) +
         R"(","commit":")" + Id(commit) + "\"" + extra +
         R"(,"controller":{"id":"ctl-1","version":"0.1.0"}})";
}

const std::string kPassGates =
    R"(,"gates":[{"name":"digest","result":"pass","reason":"immutable"},)"
    R"({"name":"approval","result":"pass","reason":"approved by alice (1 of 1, release-managers), PR #12"}])";

// The history. Times are UTC; each change's story in one block.
std::vector<AnnotatedCommit> History() {
  std::map<char, std::vector<std::string>> notes;
  // C1 prod/api: waits for the window, then deploys and verifies.
  notes['1'] = {
      Line(
          "2026-11-02T09:30:00Z", "prod", "api", "waiting", '1',
          R"(,"version":"2.5.0","reason":"window: closed until 10:00","gates":[)"
          R"({"name":"digest","result":"pass","reason":"immutable"},)"
          R"({"name":"approval","result":"pass","reason":"approved by alice (1 of 1, release-managers), PR #12"},)"
          R"({"name":"window","result":"wait","reason":"closed until 10:00"}],"approvers":["alice"])"),
      Line("2026-11-02T10:00:00Z", "prod", "api", "applying", '1',
           R"(,"version":"2.5.0")" + kPassGates + R"(,"approvers":["alice"])"),
      Line(
          "2026-11-02T10:01:00Z", "prod", "api", "applied", '1',
          R"(,"version":"2.5.0","reason":"exit 0")" + kPassGates +
              R"(,"approvers":["alice"],"adapter":{"name":"helm","exitCode":0,"durationMs":60000})"),
      Line("2026-11-02T10:05:00Z", "prod", "api", "verified", '1',
           R"(,"version":"2.5.0")" + kPassGates + R"(,"approvers":["alice"])"),
  };
  // C2 prod/api: blocked until approved (signed merge), applied, fails verification.
  notes['2'] = {
      Line(
          "2026-11-03T09:10:00Z", "prod", "api", "blocked", '2',
          R"(,"reason":"approval: 0 of 1 approvals","gates":[{"name":"approval","result":"block","reason":"0 of 1 approvals"}])"),
      Line(
          "2026-11-03T11:00:00Z", "prod", "api", "applying", '2',
          R"(,"version":"2.6.0","gates":[{"name":"digest","result":"pass","reason":"immutable"},)"
          R"({"name":"approval","result":"pass","reason":"merge signed by bob (1 of 1, release-managers), PR #12"}],"approvers":["bob"])"),
      Line(
          "2026-11-03T11:02:00Z", "prod", "api", "applied", '2',
          R"(,"version":"2.6.0","approvers":["bob"],"adapter":{"name":"helm","exitCode":0,"durationMs":120000})"),
      Line(
          "2026-11-03T11:10:00Z", "prod", "api", "failed", '2',
          R"(,"version":"2.6.0","reason":"verification failed: error ratio 0.07 > 0.01","approvers":["bob"])"),
  };
  // C3 prod/api: the rollback commit (Sluice-Rollback: C1), verified.
  notes['3'] = {
      Line(
          "2026-11-03T11:30:00Z", "prod", "api", "applying", '3',
          R"(,"version":"2.5.0","gates":[{"name":"approval","result":"pass","reason":"approved by carol (1 of 1, on-call), signed"}],"approvers":["carol"])"),
      Line("2026-11-03T11:31:00Z", "prod", "api", "applied", '3',
           R"(,"version":"2.5.0","approvers":["carol"])"),
      Line("2026-11-03T11:40:00Z", "prod", "api", "verified", '3',
           R"(,"version":"2.5.0","approvers":["carol"])"),
  };
  // C4 prod/web: applied with no approvers and a blocking gate: two exceptions.
  notes['4'] = {
      Line(
          "2026-11-04T09:00:00Z", "prod", "web", "applying", '4',
          R"(,"version":"1.0.0","gates":[{"name":"digest","result":"pass","reason":"immutable"},)"
          R"({"name":"registry","result":"block","reason":"registry unreachable"}],"approvers":[])"),
      Line("2026-11-04T09:01:00Z", "prod", "web", "applied", '4', R"(,"version":"1.0.0")"),
      Line("2026-11-04T09:02:00Z", "prod", "web", "verified", '4', R"(,"version":"1.0.0")"),
  };
  // C5 dev/api: written by an older controller (no "v", unknown keys), and
  // drift seen later on the deployed commit.
  notes['5'] = {
      R"({"time":"2026-11-01T12:10:00Z","env":"dev","app":"api","event":"applying","digest":"sha256:5","commit":")" +
          Id('5') + R"(","legacy":{"x":1},"gates":[],"approvers":[]})",
      R"({"time":"2026-11-01T12:11:00Z","env":"dev","app":"api","event":"applied","digest":"sha256:5","commit":")" +
          Id('5') + R"(","oldField":"kept out"})",
      R"({"time":"2026-11-01T12:12:00Z","env":"dev","app":"api","event":"verified","digest":"sha256:5","commit":")" +
          Id('5') + R"("})",
      "not an event: hand-written text in the note",
      Line("2026-11-04T12:00:00Z", "dev", "api", "drift", '5',
           R"(,"reason":"running digest differs")"),
  };
  // C6 dev/api: the adapter fails (never applied).
  notes['6'] = {
      Line("2026-11-05T10:05:00Z", "dev", "api", "applying", '6'),
      Line(
          "2026-11-05T10:06:00Z", "dev", "api", "failed", '6',
          R"(,"reason":"exit 3: image pull backoff, \"ErrImagePull\"","adapter":{"name":"exec","exitCode":3,"durationMs":900})"),
  };
  // C7 dev/api: interrupted by a restart, then applied again and verified.
  notes['7'] = {
      Line("2026-11-05T11:05:00Z", "dev", "api", "applying", '7'),
      Line("2026-11-05T11:06:00Z", "dev", "api", "failed", '7',
           R"(,"reason":"interrupted: controller shutting down","interrupted":true)"),
      Line("2026-11-05T11:10:00Z", "dev", "api", "applying", '7'),
      Line("2026-11-05T11:11:00Z", "dev", "api", "applied", '7'),
      Line("2026-11-05T11:12:00Z", "dev", "api", "verified", '7'),
  };
  // C8 prod/api: verified, then marked rolled-back by C9.
  notes['8'] = {
      Line("2026-11-06T09:10:00Z", "prod", "api", "applying", '8',
           R"(,"version":"2.7.0")" + kPassGates + R"(,"approvers":["alice"])"),
      Line("2026-11-06T09:11:00Z", "prod", "api", "applied", '8',
           R"(,"version":"2.7.0","approvers":["alice"])"),
      Line("2026-11-06T09:15:00Z", "prod", "api", "verified", '8',
           R"(,"version":"2.7.0","approvers":["alice"])"),
      Line("2026-11-06T09:58:00Z", "prod", "api", "rolled-back", '8',
           R"(,"version":"2.7.0","reason":"rolled back by )" + Id('9') + "\""),
  };
  // C9 prod/api: the rollback of C8 (Sluice-Rollback: C3).
  notes['9'] = {
      Line("2026-11-06T09:55:00Z", "prod", "api", "applying", '9',
           R"(,"version":"2.5.0")" + kPassGates + R"(,"approvers":["carol"])"),
      Line("2026-11-06T09:56:00Z", "prod", "api", "applied", '9',
           R"(,"version":"2.5.0","approvers":["carol"])"),
      Line("2026-11-06T10:00:00Z", "prod", "api", "verified", '9',
           R"(,"version":"2.5.0","approvers":["carol"])"),
  };
  // C10 prod/web: blocked, never applied.
  notes['a'] = {
      Line(
          "2026-11-06T12:00:00Z", "prod", "web", "blocked", 'a',
          R"(,"version":"1.1.0","reason":"approval: 0 of 1 approvals","gates":[{"name":"approval","result":"block","reason":"0 of 1 approvals"}])"),
  };
  std::vector<AnnotatedCommit> out;
  for (const auto& [c, lines] : notes) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    out.push_back({Id(c), record::ParseNote(text)});
  }
  return out;
}

// What Git says about each commit (the reader's job in production).
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
       {"Carol <carol@example.com>", "2026-11-03T11:20:00Z",
        "Roll back api in prod\n\nSluice-Rollback: 1111111111111111111111111111111111111111\n"}},
      {'4', {"Mallory <mallory@example.com>", "2026-11-04T08:00:00Z", "web, direct push"}},
      {'5', {"Dana <dana@example.com>", "2026-11-01T12:00:00Z", "Pin api in dev"}},
      {'6', {"Dana <dana@example.com>", "2026-11-05T10:00:00Z", "Bump api, \"quick\" fix"}},
      {'7', {"Dana <dana@example.com>", "2026-11-05T11:00:00Z", "Bump api again"}},
      {'8', {"Eve <eve@example.com>", "2026-11-06T09:00:00Z", "Promote api 2.7.0 to prod"}},
      {'9',
       {"Carol <carol@example.com>", "2026-11-06T09:50:00Z",
        "Roll back api in prod\n\nSluice-Rollback: 3333333333333333333333333333333333333333\n"}},
      {'a', {"Eve <eve@example.com>", "2026-11-06T11:00:00Z", "Promote web 1.1.0 to prod"}},
  };
  const Row& r = rows.at(c);
  ChangeSource s;
  s.known = true;
  s.landing_commit = Id(c);
  s.author = r.author;
  s.committed = T(r.committed);
  std::string message = r.message;
  s.subject = message.substr(0, message.find('\n'));
  ReadRollbackReferences(message, &s);
  return s;
}

AuditReport Build(const AuditFilter& filter = {}, std::set<std::string> require = {}) {
  CollectResult collected = CollectChanges(History(), filter);
  for (Change& c : collected.changes) c.source = Source(c.commit[0]);
  AuditOptions options;
  options.filter = filter;
  options.require_approval = std::move(require);
  return BuildAudit(std::move(collected.changes), options, collected.envs_with_approval_gate);
}

const Change* Find(const AuditReport& r, char commit, const std::string& app = "") {
  for (const auto& c : r.changes) {
    if (c.commit == Id(commit) && (app.empty() || c.app == app)) return &c;
  }
  return nullptr;
}

void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(SLUICE_TEST_DATA_DIR) + "/audit/" + name;
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

TEST(AuditTest, MarkdownMatchesGolden) { ExpectGolden("history.md", RenderAuditMarkdown(Build())); }
TEST(AuditTest, JsonMatchesGolden) { ExpectGolden("history.json", RenderAuditJson(Build())); }
TEST(AuditTest, CsvMatchesGolden) { ExpectGolden("history.csv", RenderAuditCsv(Build())); }

TEST(AuditTest, OneChangePerEnvAppCommitInTimeOrder) {
  AuditReport r = Build();
  std::vector<std::string> order;
  for (const auto& c : r.changes) order.push_back(c.commit.substr(0, 1) + ":" + c.outcome);
  EXPECT_EQ(order, (std::vector<std::string>{"5:verified", "1:verified", "2:rolled-back",
                                             "3:verified", "4:verified", "6:failed", "7:verified",
                                             "8:rolled-back", "9:verified", "a:blocked"}));
}

TEST(AuditTest, SummarisesApproversGatesTimesAndProposer) {
  AuditReport r = Build();
  const Change* c1 = Find(r, '1');
  ASSERT_NE(c1, nullptr);
  EXPECT_EQ(c1->approvers, std::vector<std::string>{"alice"});
  EXPECT_EQ(c1->approval_method, "forge");
  EXPECT_EQ(c1->gates.size(), 2u);  // of the `applying` event, not the earlier `waiting`
  EXPECT_EQ(c1->source.author, "Dana <dana@example.com>");
  EXPECT_EQ(*c1->applying, T("2026-11-02T10:00:00Z"));
  EXPECT_EQ(*c1->applied, T("2026-11-02T10:01:00Z"));
  EXPECT_EQ(*c1->verified, T("2026-11-02T10:05:00Z"));
  EXPECT_EQ(Find(r, '2')->approval_method, "signed");
  EXPECT_EQ(Find(r, '2')->failure, "verification");
  EXPECT_EQ(Find(r, '6')->failure, "adapter");
  // An interrupted apply is not a failure; the retry's outcome counts.
  const Change* c7 = Find(r, '7');
  EXPECT_FALSE(c7->failed.has_value());
  EXPECT_EQ(*c7->applying, T("2026-11-05T11:05:00Z"));
  EXPECT_EQ(*Find(r, '5')->drift, T("2026-11-04T12:00:00Z"));
}

TEST(AuditTest, LinksRollbacksByTrailerAndByRolledBackEvent) {
  AuditReport r = Build();
  // C3 carries Sluice-Rollback: C1 (the LKG it restores); what it rolled back
  // is C2, the change started before it.
  EXPECT_EQ(Find(r, '3')->rolls_back, Id('2'));
  EXPECT_EQ(Find(r, '2')->rolled_back_by, Id('3'));
  EXPECT_EQ(*Find(r, '2')->rolled_back, T("2026-11-03T11:20:00Z"));
  EXPECT_TRUE(Find(r, '1')->rolled_back_by.empty());
  // C8's `rolled-back` event names C9.
  EXPECT_EQ(Find(r, '8')->rolled_back_by, Id('9'));
  EXPECT_EQ(Find(r, '9')->rolls_back, Id('8'));
}

// A revert that the controller blocked (pushed without the approval the
// rollback rule needs) rolled nothing back: the failed release is not
// "rolled back by" it. The signed rollback that followed and applied is.
TEST(AuditTest, ABlockedRevertRollsNothingBack) {
  std::map<char, std::vector<std::string>> notes;
  notes['2'] = {Line("2026-11-03T11:00:00Z", "prod", "api", "applying", '2', kPassGates),
                Line("2026-11-03T11:10:00Z", "prod", "api", "failed", '2',
                     R"(,"reason":"verification failed: error ratio 0.07 > 0.01")")};
  notes['b'] = {Line(
      "2026-11-03T11:20:00Z", "prod", "api", "blocked", 'b',
      R"(,"reason":"approval: direct push without approval","gates":[{"name":"approval","result":"block","reason":"direct push without approval"}])")};
  std::vector<AnnotatedCommit> history;
  for (const auto& [c, lines] : notes) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    history.push_back({Id(c), record::ParseNote(text)});
  }
  auto build = [&](const std::vector<AnnotatedCommit>& h) {
    CollectResult collected = CollectChanges(h, {});
    for (Change& c : collected.changes) {
      c.source = Source(c.commit[0] == 'b' ? '2' : c.commit[0]);
      c.source.landing_commit = c.commit;
      if (c.commit == Id('b')) {
        ReadRollbackReferences("Revert \"Promote api\"\n\nThis reverts commit " + Id('2') + ".\n",
                               &c.source);
      }
    }
    return BuildAudit(std::move(collected.changes), AuditOptions{},
                      collected.envs_with_approval_gate);
  };
  AuditReport blocked = build(history);
  ASSERT_NE(Find(blocked, 'b'), nullptr);
  EXPECT_EQ(Find(blocked, 'b')->source.reverts, Id('2'));
  EXPECT_TRUE(Find(blocked, '2')->rolled_back_by.empty()) << Find(blocked, '2')->rolled_back_by;
  EXPECT_TRUE(Find(blocked, 'b')->rolls_back.empty());
}

TEST(AuditTest, AppliedChangeWithoutApproversIsAnException) {
  AuditReport r = Build();
  EXPECT_EQ(r.require_approval, std::set<std::string>{"prod"});
  ASSERT_EQ(r.exceptions.size(), 2u);
  EXPECT_EQ(r.exceptions[0].commit, Id('4'));
  EXPECT_EQ(r.exceptions[0].rule, "no-approvers");
  EXPECT_EQ(r.exceptions[1].rule, "gate-not-pass");
  EXPECT_NE(r.exceptions[1].detail.find("registry = block"), std::string::npos);
  // dev never carried an approval gate: its unapproved deploys are fine,
  // unless the auditor says dev requires approval.
  AuditReport strict = Build({}, {"dev"});
  size_t dev = 0;
  for (const auto& e : strict.exceptions) dev += e.env == "dev" && e.rule == "no-approvers";
  EXPECT_EQ(dev, 3u);  // C5, C6, C7 were started without approvers
}

TEST(AuditTest, NoExceptionsRendersNone) {
  AuditFilter f;
  f.env = "dev";
  std::string md = RenderAuditMarkdown(Build(f));
  EXPECT_NE(md.find("## Exceptions\n\nNone.\n"), std::string::npos) << md;
  EXPECT_LT(md.find("## Exceptions"), md.find("## Changes"));
}

TEST(AuditTest, DoraFiguresMatchHandComputedValues) {
  const Dora d = Build().dora;
  // Window: first change time (C5 applying 11-01 12:10) to last event
  // (C10 blocked 11-06 12:00) = 4d 23h 50m = 345600 + 82800 + 3000 = 431400 s
  // = 4.99305 days.
  EXPECT_NEAR(d.window_days, 431400.0 / 86400.0, 1e-9);
  // Deployment frequency: verified changes C5 C1 C3 C4 C7 C8 C9 = 7;
  // 7 / 4.99305 = 1.40195 per day.
  EXPECT_EQ(d.deploys, 7u);
  EXPECT_NEAR(*d.deploys_per_day, 7.0 / (431400.0 / 86400.0), 1e-9);
  // Lead time, commit time -> first verified, seconds:
  //   C5 12:00->12:12 = 720   C1 09:00->10:05 = 3900  C3 11:20->11:40 = 1200
  //   C4 08:00->09:02 = 3720  C7 11:00->11:12 = 720   C8 09:00->09:15 = 900
  //   C9 09:50->10:00 = 600
  // sorted 600 720 720 900 1200 3720 3900: median (4th of 7) = 900;
  // p90 nearest rank ceil(0.9 * 7) = 7th = 3900.
  EXPECT_EQ(d.lead_time.samples, 7u);
  EXPECT_EQ(*d.lead_time.median_seconds, 900.0);
  EXPECT_EQ(*d.lead_time.p90_seconds, 3900.0);
  // Change failure rate: applied C5 C1 C2 C3 C4 C7 C8 C9 = 8 (C6 failed in
  // the adapter, C10 was blocked); failed verification or rolled back: C2, C8
  // = 2; 2 / 8 = 0.25.
  EXPECT_EQ(d.applied, 8u);
  EXPECT_EQ(d.failed_changes, 2u);
  EXPECT_DOUBLE_EQ(*d.change_failure_rate, 0.25);
  // Time to restore, failure -> next verified deploy of that env/app:
  //   C2 failed 11-03 11:10 -> C3 verified 11:40 = 1800
  //   C6 failed 11-05 10:06 -> C7 verified 11:12 = 3960
  //   C8 rolled back 11-06 09:58 -> C9 verified 10:00 = 120
  // sorted 120 1800 3960: median 1800.
  EXPECT_EQ(d.failures, 3u);
  EXPECT_EQ(d.unrestored, 0u);
  EXPECT_EQ(*d.time_to_restore.median_seconds, 1800.0);
}

TEST(AuditTest, FiltersByEnvAppAndTime) {
  AuditFilter f;
  f.env = "prod";
  f.app = "api";
  f.since = *ParseAuditTime("2026-11-03");
  f.until = *ParseAuditTime("2026-11-06T00:00:00Z");
  AuditReport r = Build(f);
  ASSERT_EQ(r.changes.size(), 2u);  // C2 and C3
  EXPECT_EQ(r.changes[0].commit, Id('2'));
  EXPECT_EQ(r.changes[1].commit, Id('3'));
  EXPECT_EQ(*r.window_start, T("2026-11-03T00:00:00Z"));
  EXPECT_DOUBLE_EQ(r.dora.window_days, 3.0);
  EXPECT_EQ(r.dora.deploys, 1u);
  // The approval gate seen before the window still marks prod.
  EXPECT_EQ(r.require_approval, std::set<std::string>{"prod"});
}

TEST(AuditTest, ReadsOlderSchemaLinesAndSkipsText) {
  AuditReport r = Build();
  const Change* c5 = Find(r, '5');
  ASSERT_NE(c5, nullptr);
  EXPECT_EQ(c5->events.size(), 4u);  // the hand-written line is skipped
  EXPECT_EQ(c5->events[0].schema, 1);
  EXPECT_EQ(c5->outcome, "verified");
}

TEST(AuditTest, EmptyHistoryHasNoFigures) {
  AuditReport r = BuildAudit({}, {}, {});
  EXPECT_FALSE(r.dora.deploys_per_day.has_value());
  EXPECT_FALSE(r.dora.change_failure_rate.has_value());
  std::string md = RenderAuditMarkdown(r);
  EXPECT_NE(md.find("None."), std::string::npos);
  EXPECT_NE(md.find("n/a"), std::string::npos);
}

TEST(AuditTest, StatsUseMeanOfMiddlePairAndNearestRank) {
  DurationStats s = Stats({40, 10, 30, 20});
  EXPECT_EQ(*s.median_seconds, 25.0);
  EXPECT_EQ(*s.p90_seconds, 40.0);  // ceil(3.6) = 4th
  s = Stats(std::vector<double>(10, 0.0));
  EXPECT_EQ(s.samples, 10u);
  std::vector<double> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(*Stats(ten).p90_seconds, 9.0);  // ceil(9.0) = 9th
}

TEST(AuditTest, CsvQuotesAsRfc4180) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
}

TEST(AuditTest, ParsesSinceAndUntil) {
  EXPECT_EQ(*ParseAuditTime("2026-11-03"), T("2026-11-03T00:00:00Z"));
  EXPECT_EQ(*ParseAuditTime("2026-11-03T12:00:00+01:00"), T("2026-11-03T11:00:00Z"));
  EXPECT_FALSE(ParseAuditTime("last week").ok());
}

TEST(AuditTest, RollbackReferencesFromMessage) {
  ChangeSource s;
  ReadRollbackReferences("Revert \"Bump api\"\n\nThis reverts commit abcdef1234567.\n", &s);
  EXPECT_EQ(s.reverts, "abcdef1234567");
  EXPECT_TRUE(s.rollback_to.empty());
}

TEST(AuditTest, ParseNoteForKeepsOnlyTheFilteredEnvAndApp) {
  const std::string note = Line("2026-11-02T10:00:00Z", "prod", "api", "applying", '1') + "\n" +
                           Line("2026-11-02T10:00:01Z", "prod-eu", "api", "applying", '1') + "\n" +
                           Line("2026-11-02T10:00:02Z", "staging", "prod", "applying", '1') + "\n" +
                           "not an event, a line a person wrote\n" +
                           Line("2026-11-02T10:00:03Z", "prod", "web", "applied", '1') + "\n";
  // "prod-eu" contains prod, and an app may be named like an environment:
  // only events whose env is exactly prod are kept.
  auto prod = ParseNoteFor(note, "prod", "");
  ASSERT_EQ(prod.size(), 2u);
  EXPECT_EQ(prod[0].app, "api");
  EXPECT_EQ(prod[1].app, "web");
  auto api = ParseNoteFor(note, "prod", "api");
  ASSERT_EQ(api.size(), 1u);
  EXPECT_EQ(api[0].env, "prod");
  EXPECT_EQ(ParseNoteFor(note, "", "api").size(), 2u);
  EXPECT_EQ(ParseNoteFor(note, "", "").size(), 4u);
  EXPECT_TRUE(ParseNoteFor(note, "dev", "").empty());
  // A name a JSON writer may escape is matched after parsing, not by text.
  const std::string escaped =
      R"({"v":1,"time":"2026-11-02T10:00:00Z","env":"a/b","app":"x","event":"applied","commit":")" +
      Id('1') + "\"}";
  ASSERT_EQ(ParseNoteFor(escaped, "a/b", "").size(), 1u);
}

TEST(ReleaseNotesTest, RendersVersionsSourceRangeApprovalsAndGates) {
  AuditReport r = Build();
  ReleaseNotesData d;
  d.env = "prod";
  d.app = "api";
  d.from = {Id('1'), "2.5.0", "sha256:1", "aaaa111"};
  d.to = {Id('2'), "2.6.0", "sha256:2", "bbbb222"};
  d.change = *Find(r, '2');
  auto text = RenderReleaseNotes(std::string(DefaultReleaseNotesTemplate()), d);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("| version | 2.5.0 | 2.6.0 |"), std::string::npos) << *text;
  EXPECT_NE(text->find("git log aaaa111..bbbb222"), std::string::npos) << *text;
  EXPECT_NE(text->find("- bob"), std::string::npos) << *text;
  EXPECT_NE(text->find("**approval**: pass — merge signed by bob"), std::string::npos) << *text;
  EXPECT_NE(text->find("Promote api 2.6.0 to prod — by Eve <eve@example.com>"), std::string::npos)
      << *text;
  EXPECT_NE(text->find("Last change"), std::string::npos);
}

TEST(ReleaseNotesTest, PendingChangeNotYetEvaluated) {
  ReleaseNotesData d;
  d.env = "prod";
  d.app = "api";
  d.pending = true;
  d.to = {Id('2'), "2.6.0", "sha256:2", ""};
  auto text = RenderReleaseNotes(std::string(DefaultReleaseNotesTemplate()), d);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("**Pending**"), std::string::npos) << *text;
  EXPECT_NE(text->find("Not evaluated yet."), std::string::npos) << *text;
  EXPECT_NE(text->find("None recorded."), std::string::npos) << *text;
  EXPECT_NE(text->find("Source range: unknown"), std::string::npos) << *text;
  EXPECT_FALSE(RenderReleaseNotes("{{#open}}", d).ok());
}

}  // namespace
}  // namespace sluice::reports
