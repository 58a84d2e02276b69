#include "config/policy.h"

#include <gtest/gtest.h>

#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;

const char kPath[] = "environments/prod/environment.yaml";

const char kFullPolicy[] = R"(# prod
upstream: staging
approval:
  required: 2
  from: [release-managers, platform-leads]
  evidence: forge+signed
  separateAuthor: false
gates:
  upstreamVerified: true
  soak: 1h30m
  vulnerabilities: { maxCritical: 0, maxHigh: 3 }
  registry: { verifyDigest: true }
  rollbackTarget: { required: true, allowFirst: true }
  noActiveIncident: true
  custom:
    - { name: load-test, command: [scripts/gate-load.sh, --quick], timeout: 90s }
    - { name: ping, command: [curl, -f, http://x] }
windows:
  timezone: Europe/Berlin
  allow:
    - { days: [tue, wed, thu], hours: "10:00-14:00" }
    - { days: [mon-fri], hours: "22:00-02:00" }
    - { days: fri-mon }
freezes:
  - { name: black-friday, from: 2026-11-26, to: 2026-12-01 }
  - { calendar: calendars/holidays.ics }
  - { name: leap, from: 2028-02-29, to: 2028-02-29 }
emergency:
  approvers: [vp-engineering]
  requireIncident: false
verification:
  duration: 30m
  checks:
    - http: { url: https://api.internal/health/ready }
    - prometheus: { url: http://prom:9090, query: 'sum(errors)', min: 0, max: 0.01 }
onFailure: rollback
rollback:
  approval: { required: 1, from: [on-call], evidence: signed }
)";

TEST(PolicyParseTest, ParsesEveryKeyOfTheSpec) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(kFullPolicy, kPath, diags);
  ASSERT_TRUE(p.has_value()) << FormatDiagnostics(diags);
  EXPECT_TRUE(diags.empty());
  EXPECT_EQ(p->env, "prod");
  EXPECT_EQ(p->upstream, "staging");
  ASSERT_TRUE(p->approval.has_value());
  EXPECT_EQ(p->approval->required, 2);
  EXPECT_EQ(p->approval->from, (std::vector<std::string>{"release-managers", "platform-leads"}));
  EXPECT_EQ(p->approval->evidence, Evidence::kForgeAndSigned);
  EXPECT_FALSE(p->approval->separate_author);

  const Gates& g = p->gates;
  EXPECT_TRUE(g.upstream_verified);
  EXPECT_EQ(g.soak, std::chrono::minutes(90));
  ASSERT_TRUE(g.vulnerabilities.has_value());
  EXPECT_EQ(g.vulnerabilities->max_critical, 0);
  EXPECT_EQ(g.vulnerabilities->max_high, 3);
  EXPECT_FALSE(g.vulnerabilities->max_medium.has_value());
  EXPECT_TRUE(g.registry_verify_digest);
  EXPECT_TRUE(g.rollback_target_required);
  EXPECT_TRUE(g.rollback_allow_first);
  EXPECT_TRUE(g.no_active_incident);
  ASSERT_EQ(g.custom.size(), 2u);
  EXPECT_EQ(g.custom[0].name, "load-test");
  EXPECT_EQ(g.custom[0].command, (std::vector<std::string>{"scripts/gate-load.sh", "--quick"}));
  EXPECT_EQ(g.custom[0].timeout, std::chrono::seconds(90));
  EXPECT_EQ(g.custom[1].timeout, std::chrono::seconds(60));

  ASSERT_TRUE(p->windows.has_value());
  EXPECT_EQ(p->windows->timezone, "Europe/Berlin");
  ASSERT_EQ(p->windows->allow.size(), 3u);
  EXPECT_EQ(p->windows->allow[0].days,
            (std::vector<Weekday>{Weekday::kTue, Weekday::kWed, Weekday::kThu}));
  EXPECT_EQ(p->windows->allow[0].start_minute, 600);
  EXPECT_EQ(p->windows->allow[0].end_minute, 840);
  EXPECT_EQ(p->windows->allow[1].days,
            (std::vector<Weekday>{Weekday::kMon, Weekday::kTue, Weekday::kWed, Weekday::kThu,
                                  Weekday::kFri}));
  EXPECT_EQ(p->windows->allow[1].start_minute, 22 * 60);
  EXPECT_EQ(p->windows->allow[1].end_minute, 2 * 60);
  EXPECT_EQ(p->windows->allow[2].days,
            (std::vector<Weekday>{Weekday::kMon, Weekday::kFri, Weekday::kSat, Weekday::kSun}));
  EXPECT_EQ(p->windows->allow[2].start_minute, 0);
  EXPECT_EQ(p->windows->allow[2].end_minute, 24 * 60);

  ASSERT_EQ(p->freezes.size(), 3u);
  EXPECT_EQ(p->freezes[0].name, "black-friday");
  EXPECT_EQ(p->freezes[0].from, "2026-11-26");
  EXPECT_EQ(p->freezes[0].to, "2026-12-01");
  EXPECT_EQ(p->freezes[1].calendar, "calendars/holidays.ics");
  EXPECT_EQ(p->freezes[2].from, "2028-02-29");

  ASSERT_TRUE(p->emergency.has_value());
  EXPECT_EQ(p->emergency->approvers, (std::vector<std::string>{"vp-engineering"}));
  EXPECT_FALSE(p->emergency->require_incident);

  ASSERT_TRUE(p->verification.has_value());
  EXPECT_EQ(p->verification->duration, std::chrono::minutes(30));
  EXPECT_EQ(p->verification->interval, std::chrono::seconds(30));
  ASSERT_EQ(p->verification->checks.size(), 2u);
  EXPECT_EQ(p->verification->checks[0].http->expect, 200);
  EXPECT_EQ(p->verification->checks[0].http->retries, 3);
  EXPECT_EQ(p->verification->checks[0].http->timeout, std::chrono::seconds(10));
  EXPECT_EQ(p->verification->checks[1].prometheus->min, 0.0);

  EXPECT_EQ(p->on_failure, OnFailure::kRollback);
  ASSERT_TRUE(p->rollback.approval.has_value());
  EXPECT_EQ(p->rollback.approval->required, 1);
  EXPECT_EQ(p->rollback.approval->from, (std::vector<std::string>{"on-call"}));
  EXPECT_EQ(p->rollback.approval->evidence, Evidence::kSigned);
  EXPECT_TRUE(p->rollback.approval->separate_author);
}

void ExpectNoGates(const EnvironmentPolicy& p) {
  EXPECT_FALSE(p.upstream.has_value());
  EXPECT_FALSE(p.approval.has_value());
  EXPECT_FALSE(p.gates.upstream_verified);
  EXPECT_FALSE(p.gates.soak.has_value());
  EXPECT_FALSE(p.gates.vulnerabilities.has_value());
  EXPECT_FALSE(p.gates.registry_verify_digest);
  EXPECT_FALSE(p.gates.rollback_target_required);
  EXPECT_FALSE(p.gates.no_active_incident);
  EXPECT_TRUE(p.gates.custom.empty());
  EXPECT_FALSE(p.windows.has_value());
  EXPECT_TRUE(p.freezes.empty());
  EXPECT_FALSE(p.emergency.has_value());
  EXPECT_FALSE(p.verification.has_value());
  EXPECT_EQ(p.on_failure, OnFailure::kHold);
  EXPECT_FALSE(p.rollback.approval.has_value());
}

TEST(PolicyParseTest, EmptyMapMeansNoGates) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("{}\n", kPath, diags);
  ASSERT_TRUE(p.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(p->env, "prod");
  ExpectNoGates(*p);
}

TEST(PolicyParseTest, EmptyFileMeansNoGates) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("", kPath, diags);
  ASSERT_TRUE(p.has_value()) << FormatDiagnostics(diags);
  ExpectNoGates(*p);
}

TEST(PolicyParseTest, CommentOnlyFileMeansNoGates) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("# nothing here yet\n\n# really\n", kPath, diags);
  ASSERT_TRUE(p.has_value()) << FormatDiagnostics(diags);
  ExpectNoGates(*p);
}

TEST(PolicyParseTest, RollbackTargetRequiredAsString) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("gates:\n  rollbackTarget: required\n", kPath, diags);
  ASSERT_TRUE(p.has_value()) << FormatDiagnostics(diags);
  EXPECT_TRUE(p->gates.rollback_target_required);
  EXPECT_FALSE(p->gates.rollback_allow_first);
}

TEST(PolicyParseTest, TypoInGateIsAnErrorNotASilentlyMissingGate) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("gates:\n  upstreamVerifed: true\n  soak: 1h\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  ASSERT_EQ(diags.size(), 1u) << FormatDiagnostics(diags);
  EXPECT_EQ(diags[0].ToString(),
            "environments/prod/environment.yaml:2: unknown key 'upstreamVerifed' in gates; did "
            "you mean 'upstreamVerified'? known keys: upstreamVerified, soak, vulnerabilities, "
            "registry, rollbackTarget, noActiveIncident, custom");
}

TEST(PolicyParseTest, SnakeCaseKeySuggestsCamelCase) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "verification:\n  checks:\n    - prometheus: {url: http://p, query: q, "
      "max_ratio_to_baseline: 2}\n",
      kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(
      HasDiagnostic(diags, std::string(kPath) + ":3: ", "did you mean 'maxRatioToBaseline'?"));
}

TEST(PolicyParseTest, ApprovalWithoutRequiredIsAnError) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("approval:\n  from: [release-managers]\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "approval.required is required"));
}

TEST(PolicyParseTest, RequiredApproversNeedGroups) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("approval:\n  required: 1\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ", "approval.from names no group"));
}

TEST(PolicyParseTest, CollectsProblemsFromEverySection) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "approval: {required: -1, from: [a]}\n"
      "gates: {soak: 1 hour, noActiveIncident: yes}\n"
      "windows: {allow: [{days: [mon], hours: '9-17'}]}\n"
      "onFailure: retry\n",
      kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_EQ(diags.size(), 5u) << FormatDiagnostics(diags);
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "whole number"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ", "gates.soak"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ",
                            "gates.noActiveIncident must be true or false, got 'yes'"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":3: ", "HH:MM-HH:MM"));
  EXPECT_TRUE(HasDiagnostic(
      diags, std::string(kPath) + ":4: ", "onFailure must be one of hold, rollback, got 'retry'"));
}

TEST(PolicyParseTest, HoursAcceptFullDayAndMidnightCrossing) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "windows:\n  allow:\n    - hours: \"00:00-24:00\"\n    - hours: \"23:30-00:00\"\n"
      "    - hours: 9:00 - 17:00\n",
      kPath, diags);
  ASSERT_TRUE(p.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(p->windows->timezone, "UTC");
  ASSERT_EQ(p->windows->allow.size(), 3u);
  EXPECT_TRUE(p->windows->allow[0].days.empty());
  EXPECT_EQ(p->windows->allow[0].start_minute, 0);
  EXPECT_EQ(p->windows->allow[0].end_minute, 1440);
  EXPECT_EQ(p->windows->allow[1].start_minute, 23 * 60 + 30);
  EXPECT_EQ(p->windows->allow[1].end_minute, 0);
  EXPECT_EQ(p->windows->allow[2].start_minute, 9 * 60);
  EXPECT_EQ(p->windows->allow[2].end_minute, 17 * 60);
}

TEST(PolicyParseTest, RejectsEmptyWindow) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("windows: {allow: [{hours: \"10:00-10:00\"}]}\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "the window is empty"));
}

TEST(PolicyParseTest, FreezeCalendarMustBeContainedAndKnownFormat) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "freezes:\n  - calendar: ../calendars/x.ics\n  - calendar: calendars/x.txt\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ",
                            "paths must be relative to the repository root and stay inside it"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":3: ", "iCalendar (.ics)"));
}

TEST(PolicyParseTest, CustomGateCommandMustStayInRepository) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "gates:\n  custom:\n    - name: x\n      command: [/usr/bin/gate]\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":4: ", "gates.custom[0].command[0]"));
}

TEST(PolicyParseTest, PrometheusCheckNeedsAThreshold) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "verification:\n  checks:\n    - prometheus:\n        url: http://p\n        query: q\n",
      kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":3: ", "needs a threshold"));
}

TEST(PolicyParseTest, CheckMustHaveExactlyOneKind) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy(
      "verification:\n  checks:\n    - {http: {url: http://a}, prometheus: {url: http://p, "
      "query: q, max: 1}}\n",
      kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(
      HasDiagnostic(diags, std::string(kPath) + ":3: ", "exactly one of: http, prometheus"));
}

TEST(PolicyParseTest, UpstreamCannotBeItself) {
  Diagnostics diags;
  auto p = ParseEnvironmentPolicy("upstream: prod\n", kPath, diags);
  EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "this environment itself"));
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(PolicyParseTest, DriftIsRecordedUnlessIgnored) {
  Diagnostics diags;
  auto absent = ParseEnvironmentPolicy("{}\n", kPath, diags);
  ASSERT_TRUE(absent.has_value());
  EXPECT_EQ(absent->drift, DriftPolicy::kRecord);
  auto ignored = ParseEnvironmentPolicy("drift: ignore\n", kPath, diags);
  ASSERT_TRUE(ignored.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(ignored->drift, DriftPolicy::kIgnore);
  auto bad = ParseEnvironmentPolicy("upstream: dev\ndrift: heal\n", kPath, diags);
  EXPECT_FALSE(bad.has_value());
  EXPECT_TRUE(HasDiagnostic(
      diags, std::string(kPath) + ":2: ", "drift must be one of record, ignore, got 'heal'"))
      << FormatDiagnostics(diags);
}

}  // namespace
}  // namespace sluice::config
