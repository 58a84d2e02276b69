// Delivery charts over weeks (dashboard /delivery and `sluice audit
// --format html`): the weeks come from the same computation as the audit's
// DORA figures, so they must add up to them; the page reads with 0, 1 and
// 10,000 releases and never lets a pin's text into its markup.
#include "reports/delivery.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "record/event.h"

namespace sluice::reports {
namespace {

TimePoint T(const std::string& text) { return *ParseRfc3339(text); }

// The note line of one event (schema 1), as the controller writes it.
std::string Event(TimePoint t, const std::string& env, const std::string& app,
                  const std::string& kind, const std::string& commit, const std::string& version) {
  return R"({"v":1,"time":")" + FormatRfc3339(t) + R"(","env":")" + env + R"(","app":")" + app +
         R"(","event":")" + kind + R"(","digest":"sha256:)" + std::string(64, 'a') +
         R"(","commit":")" + commit + R"(","version":")" + version +
         R"(","controller":{"id":"ctl-1","version":"0.1.0"}})";
}

std::string Commit(size_t i) {
  std::string hex = std::to_string(i);
  return std::string(40 - hex.size(), 'c') + hex;
}

// `n` releases of dev/api, one every `every`, from 2026-11-02 (a Monday)
// 10:00 UTC; each `fail_every`-th fails verification and the next one
// restores it.
AuditReport History(size_t n, std::chrono::seconds every, size_t fail_every = 0,
                    const std::string& version = "1.0") {
  std::vector<AnnotatedCommit> notes;
  const TimePoint start = T("2026-11-02T10:00:00Z");
  for (size_t i = 0; i < n; ++i) {
    const TimePoint t = start + every * static_cast<long long>(i);
    const bool fails = fail_every > 0 && (i + 1) % fail_every == 0;
    std::string note =
        Event(t, "dev", "api", "applying", Commit(i), version) + "\n" +
        Event(t + std::chrono::minutes(1), "dev", "api", "applied", Commit(i), version) + "\n" +
        Event(t + std::chrono::minutes(5), "dev", "api", fails ? "failed" : "verified", Commit(i),
              version) +
        "\n";
    if (fails) {
      note.insert(note.rfind(R"("controller")"), R"("reason":"verification failed",)");
    }
    notes.push_back({Commit(i), record::ParseNote(note)});
  }
  CollectResult collected = CollectChanges(notes, {});
  return BuildAudit(std::move(collected.changes), {}, collected.envs_with_approval_gate);
}

TEST(DeliveryTest, WeeksStartOnMondayMidnightUtc) {
  EXPECT_EQ(FormatRfc3339(WeekStart(T("2026-11-02T00:00:00Z"))), "2026-11-02T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(WeekStart(T("2026-11-08T23:59:59Z"))), "2026-11-02T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(WeekStart(T("2026-11-09T00:00:00Z"))), "2026-11-09T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(WeekStart(T("1970-01-01T12:00:00Z"))), "1969-12-29T00:00:00Z");
}

TEST(DeliveryTest, TheWeeksAddUpToTheAuditsFigures) {
  // 60 releases, one a day, every 7th fails and is restored the next day
  // (sometimes in the following week).
  AuditReport report = History(60, std::chrono::hours(24), 7);
  auto weekly = WeeklyDelivery(report);
  ASSERT_EQ(weekly.size(), 1u);
  const auto& weeks = weekly.at("dev");
  ASSERT_EQ(weeks.size(), 9u);  // 2026-11-02 .. 2026-12-31 spans nine Mondays
  size_t deploys = 0, applied = 0, failed = 0, failures = 0, unrestored = 0, marks = 0;
  for (const DeliveryWeek& w : weeks) {
    deploys += w.dora.deploys;
    applied += w.dora.applied;
    failed += w.dora.failed_changes;
    failures += w.dora.failures;
    unrestored += w.dora.unrestored;
    marks += w.marks.size();
  }
  EXPECT_EQ(deploys, report.dora.deploys);
  EXPECT_EQ(applied, report.dora.applied);
  EXPECT_EQ(failed, report.dora.failed_changes);
  EXPECT_EQ(failures, report.dora.failures);
  EXPECT_EQ(unrestored, report.dora.unrestored);
  EXPECT_EQ(marks, 8u);  // releases 7, 14, ..., 56
  // The failure of Sunday 2026-11-08 (release 7) is restored on Monday, in
  // the next week: its week still counts it restored, in 24 hours.
  EXPECT_EQ(weeks[0].dora.failures, 1u);
  EXPECT_EQ(weeks[0].dora.unrestored, 0u);
  ASSERT_TRUE(weeks[0].dora.time_to_restore.median_seconds);
  EXPECT_DOUBLE_EQ(*weeks[0].dora.time_to_restore.median_seconds, 24 * 3600.0);
  EXPECT_EQ(weeks[0].marks[0].outcome, "failed");
}

TEST(DeliveryTest, OneWeekEqualsTheAudit) {
  AuditReport report = History(5, std::chrono::hours(24), 3);
  auto weekly = WeeklyDelivery(report);
  const auto& weeks = weekly.at("dev");
  ASSERT_EQ(weeks.size(), 1u);
  EXPECT_EQ(weeks[0].dora.deploys, report.dora.deploys);
  EXPECT_EQ(weeks[0].dora.change_failure_rate, report.dora.change_failure_rate);
  EXPECT_EQ(weeks[0].dora.time_to_restore.median_seconds,
            report.dora.time_to_restore.median_seconds);
}

TEST(DeliveryTest, PageReadsWithNoReleases) {
  AuditReport empty = History(0, std::chrono::hours(1));
  std::string page = RenderDeliveryHtml(empty, "Delivery: dev");
  EXPECT_NE(page.find("No releases recorded in this window."), std::string::npos) << page;
  EXPECT_EQ(page.find("<svg"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST(DeliveryTest, PageReadsWithOneRelease) {
  std::string page = RenderDeliveryHtml(History(1, std::chrono::hours(1)), "Delivery: dev");
  EXPECT_NE(page.find("<section id=\"env-dev\"><h2>dev</h2>"), std::string::npos);
  size_t charts = 0;
  for (size_t p = page.find("<svg"); p != std::string::npos; p = page.find("<svg", p + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 4u);
  EXPECT_NE(page.find("week of 2026-11-02: verified deploys 1"), std::string::npos);
  EXPECT_NE(page.find("0 failed or rolled-back release(s)"), std::string::npos);
}

TEST(DeliveryTest, PageStaysBoundedWithTenThousandReleases) {
  // 10,000 releases, one an hour (60 weeks), one in 10 failing.
  AuditReport report = History(10000, std::chrono::hours(1), 10);
  std::string page = RenderDeliveryHtml(report, "Delivery: dev");
  auto weekly = WeeklyDelivery(report);
  EXPECT_EQ(weekly.at("dev").size(), 60u);
  EXPECT_NE(page.find("1000 failed or rolled-back release(s)"), std::string::npos);
  // A week's mark lists ten releases and counts the rest.
  EXPECT_NE(page.find("&#10;and 6 more</title>"), std::string::npos);
  EXPECT_LT(page.size(), 600u * 1024) << "the page grows with weeks, not with releases";
}

TEST(DeliveryTest, APinsTextNeverBecomesMarkup) {
  AuditReport report = History(3, std::chrono::hours(1), 3, "<script>alert(1)</script>&'");
  std::string page = RenderDeliveryHtml(report, "Delivery <b>");
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;"), std::string::npos);
}

}  // namespace
}  // namespace sluice::reports
