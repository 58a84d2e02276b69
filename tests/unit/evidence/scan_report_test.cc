// Scan report parsers against small real-shaped reports (tests/data/scans/).
//
// Shapes, from the tools' own documentation and sources:
//  - Trivy JSON: https://trivy.dev/latest/docs/configuration/reporting/ ("JSON"):
//    {"SchemaVersion": 2, "Results": [{"Target", "Class", "Type",
//    "Vulnerabilities": [{"VulnerabilityID", "PkgName", "Severity": "HIGH"}]}]};
//    before v0.20 the document was the bare array of results
//    (https://aquasecurity.github.io/trivy/v0.15.0/examples/report).
//    Severities: UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL.
//  - Grype JSON (`grype -o json`): {"matches": [{"vulnerability": {"id",
//    "severity"}, "relatedVulnerabilities", "matchDetails", "artifact"}],
//    "ignoredMatches", "source", "distro", "descriptor"}; severities from
//    anchore/grype grype/vulnerability/severity.go: Unknown, Negligible, Low,
//    Medium, High, Critical
//    (https://oss.anchore.com/docs/guides/vulnerability/interpreting-results/).
//  - SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html):
//    runs[].tool.driver.rules[] (reportingDescriptor), runs[].results[] with
//    ruleId/ruleIndex, level (3.27.10: error|warning|note|none, default
//    "warning"), kind (3.27.9, default "fail"). GitHub code scanning's
//    "SARIF support" page: rules[].properties["security-severity"] is a CVSS
//    score string; over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
//    0.1-3.9 low
//    (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).
#include "evidence/scan_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/temp_dir.h"

namespace sluice::evidence {
namespace {

using ::testing::HasSubstr;

std::string Sample(const std::string& name) {
  return testing::ReadFile(std::string(SLUICE_TEST_DATA_DIR) + "/scans/" + name);
}

std::map<std::string, int> Counts(int critical, int high, int medium, int low, int unknown) {
  return {{"critical", critical},
          {"high", high},
          {"medium", medium},
          {"low", low},
          {"unknown", unknown}};
}

// --------------------------------------------------------------- trivy

TEST(TrivyJsonTest, CountsVulnerabilitiesOfEveryResultButNotMisconfigurations) {
  Result<ScanSummary> s = ParseTrivyJson(Sample("trivy.json"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->format, "trivy");
  EXPECT_EQ(s->counts, Counts(1, 2, 1, 1, 1));
  EXPECT_EQ(s->total, 6);
}

TEST(TrivyJsonTest, CleanReportHasZeroCounts) {
  // Trivy omits Results (or writes null Vulnerabilities) when nothing is found.
  for (const char* text :
       {R"({"SchemaVersion": 2, "ArtifactName": "x"})",
        R"({"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": null}]})",
        R"({"SchemaVersion": 2, "Results": null})"}) {
    Result<ScanSummary> s = ParseTrivyJson(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status().ToString();
    EXPECT_EQ(s->counts, Counts(0, 0, 0, 0, 0)) << text;
    EXPECT_EQ(s->total, 0);
  }
}

TEST(TrivyJsonTest, AcceptsLegacyTopLevelArray) {
  Result<ScanSummary> s = ParseTrivyJson(
      R"([{"Target": "php-app/composer.lock", "Vulnerabilities": null},
          {"Target": "node-app/package-lock.json",
           "Vulnerabilities": [{"VulnerabilityID": "CVE-2018-16487", "Severity": "HIGH"},
                               {"VulnerabilityID": "CVE-2019-3822", "Severity": "CRITICAL"}]}])");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->counts, Counts(1, 1, 0, 0, 0));
}

TEST(TrivyJsonTest, UnknownSeverityIsNamed) {
  Result<ScanSummary> s = ParseTrivyJson(
      R"({"Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": "SEVERE"}]}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("'SEVERE'"));
  EXPECT_THAT(s.status().message(), HasSubstr("Results[0].Vulnerabilities[0]"));
}

TEST(TrivyJsonTest, MissingSeverityIsAnError) {
  Result<ScanSummary> s =
      ParseTrivyJson(R"({"Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("has no Severity"));
}

TEST(TrivyJsonTest, WrongShapeIsAnError) {
  Result<ScanSummary> s = ParseTrivyJson(R"({"Results": {"Target": "x"}})");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("Results must be an array, got object"));
}

// Truncating a real report at many points never crashes and always names
// the problem.
TEST(TrivyJsonTest, TruncatedReportIsAClearError) {
  const std::string full = Sample("trivy.json");
  ASSERT_FALSE(full.empty());
  for (size_t cut :
       {size_t{0}, size_t{1}, size_t{17}, full.size() / 3, full.size() / 2, full.size() - 3}) {
    Result<ScanSummary> s = ParseTrivyJson(full.substr(0, cut));
    ASSERT_FALSE(s.ok()) << "cut at " << cut;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr("Trivy report is not valid JSON"));
    EXPECT_THAT(s.status().message(), HasSubstr("truncated"));
  }
}

// --------------------------------------------------------------- grype

TEST(GrypeJsonTest, CountsMatchesNegligibleAsLowIgnoredMatchesNot) {
  Result<ScanSummary> s = ParseGrypeJson(Sample("grype.json"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->format, "grype");
  // relatedVulnerabilities' severities do not count; ignoredMatches neither.
  EXPECT_EQ(s->counts, Counts(1, 1, 1, 1, 1));
  EXPECT_EQ(s->total, 5);
}

TEST(GrypeJsonTest, NoMatchesIsClean) {
  Result<ScanSummary> s = ParseGrypeJson(R"({"matches": [], "descriptor": {"name": "grype"}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->total, 0);
}

TEST(GrypeJsonTest, UnknownSeverityIsNamed) {
  Result<ScanSummary> s = ParseGrypeJson(
      R"({"matches": [{"vulnerability": {"id": "CVE-1", "severity": "Moderate"}}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("unknown severity 'Moderate'"));
  EXPECT_THAT(s.status().message(), HasSubstr("matches[0]"));
}

TEST(GrypeJsonTest, TruncatedReportIsAClearError) {
  const std::string full = Sample("grype.json");
  Result<ScanSummary> s = ParseGrypeJson(full.substr(0, full.size() / 2));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("Grype report is not valid JSON"));
  EXPECT_THAT(s.status().message(), HasSubstr("line"));
}

// --------------------------------------------------------------- sarif

TEST(SarifTest, SecuritySeverityOfTheRuleWinsOverLevel) {
  Result<ScanSummary> s = ParseSarif(Sample("report.sarif"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->format, "sarif");
  // 9.8 -> critical; 7.5 x2 -> high; 5.3 (level error) -> medium; DS002 no
  // score, no level -> rule default "note" -> low; an undescribed rule with
  // level warning -> medium; kind "pass" -> not a finding.
  EXPECT_EQ(s->counts, Counts(1, 2, 2, 1, 0));
  EXPECT_EQ(s->total, 6);
}

TEST(SarifTest, ScoreBoundaries) {
  auto one = [](const std::string& score) {
    std::string text = R"({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t",
        "rules": [{"id": "R", "properties": {"security-severity": ")" +
                       score +
                       R"("}}]}}, "results": [{"ruleId": "R", "message": {"text": "x"}}]}]})";
    Result<ScanSummary> s = ParseSarif(text);
    EXPECT_TRUE(s.ok()) << score << ": " << s.status().ToString();
    for (const auto& [bucket, n] : s->counts) {
      if (n == 1) return bucket;
    }
    return std::string("none");
  };
  EXPECT_EQ(one("10.0"), "critical");
  EXPECT_EQ(one("9.0"), "critical");
  EXPECT_EQ(one("8.9"), "high");
  EXPECT_EQ(one("7.0"), "high");
  EXPECT_EQ(one("6.9"), "medium");
  EXPECT_EQ(one("4.0"), "medium");
  EXPECT_EQ(one("3.9"), "low");
  EXPECT_EQ(one("0.1"), "low");
  EXPECT_EQ(one("0.0"), "unknown");
}

TEST(SarifTest, LevelFallbackWithoutRules) {
  Result<ScanSummary> s =
      ParseSarif(R"({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
      "results": [{"level": "error", "message": {"text": "a"}},
                  {"message": {"text": "default level is warning"}},
                  {"level": "note", "message": {"text": "c"}},
                  {"level": "none", "message": {"text": "not a problem"}}]}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->counts, Counts(0, 1, 1, 1, 0));
}

TEST(SarifTest, ResultPropertyOverridesRuleAndRuleFoundThroughExtensions) {
  Result<ScanSummary> s = ParseSarif(R"({"version": "2.1.0", "runs": [{"tool": {
      "driver": {"name": "codeql"},
      "extensions": [{"name": "pack", "rules": [{"id": "js/xss", "properties": {"security-severity": "6.1"}}]}]},
      "results": [{"ruleId": "js/xss", "message": {"text": "a"}},
                  {"ruleId": "js/xss", "properties": {"security-severity": "9.3"}, "message": {"text": "b"}}]}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->counts, Counts(1, 0, 1, 0, 0));
}

TEST(SarifTest, AcceptedSuppressionsAreNotFindings) {
  Result<ScanSummary> s = ParseSarif(R"({"version": "2.1.0", "runs": [{"results": [
      {"level": "error", "message": {"text": "a"}, "suppressions": [{"kind": "inSource"}]},
      {"level": "error", "message": {"text": "b"}, "suppressions": [{"kind": "external", "status": "accepted"}]},
      {"level": "error", "message": {"text": "c"}, "suppressions": [{"kind": "external", "status": "underReview"}]},
      {"level": "error", "message": {"text": "d"}, "suppressions": [{"kind": "external", "status": "rejected"}]},
      {"level": "error", "message": {"text": "e"}, "suppressions": []}]}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->counts, Counts(0, 3, 0, 0, 0));
}

TEST(SarifTest, BadSecuritySeverityIsNamed) {
  Result<ScanSummary> s =
      ParseSarif(R"({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t",
      "rules": [{"id": "R", "properties": {"security-severity": "high"}}]}},
      "results": [{"ruleId": "R", "message": {"text": "x"}}]}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("'high' is not a CVSS score"));
  Result<ScanSummary> out_of_range =
      ParseSarif(R"({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
      "results": [{"properties": {"security-severity": "11"}, "message": {"text": "x"}}]}]})");
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_THAT(out_of_range.status().message(), HasSubstr("outside the CVSS range"));
}

TEST(SarifTest, UnknownLevelIsNamed) {
  Result<ScanSummary> s = ParseSarif(R"({"version": "2.1.0", "runs": [{"results": [
      {"level": "critical", "message": {"text": "x"}}]}]})");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("unknown level 'critical'"));
  EXPECT_THAT(s.status().message(), HasSubstr("runs[0].results[0]"));
}

TEST(SarifTest, OtherVersionsAndMissingRunsAreErrors) {
  Result<ScanSummary> v1 = ParseSarif(R"({"version": "1.0.0", "runs": []})");
  ASSERT_FALSE(v1.ok());
  EXPECT_THAT(v1.status().message(), HasSubstr("expected 2.1.0"));
  Result<ScanSummary> no_runs = ParseSarif(R"({"version": "2.1.0"})");
  ASSERT_FALSE(no_runs.ok());
  EXPECT_THAT(no_runs.status().message(), HasSubstr("no runs"));
}

TEST(SarifTest, TruncatedLogIsAClearError) {
  const std::string full = Sample("report.sarif");
  for (size_t cut : {size_t{5}, full.size() / 4, full.size() - 2}) {
    Result<ScanSummary> s = ParseSarif(full.substr(0, cut));
    ASSERT_FALSE(s.ok()) << cut;
    EXPECT_THAT(s.status().message(), HasSubstr("SARIF log is not valid JSON"));
  }
}

// --------------------------------------------------------------- detection

TEST(DetectScanReportTest, FormatFromFileName) {
  EXPECT_EQ(ScanFormatForFileName("trivy.json"), "trivy");
  EXPECT_EQ(ScanFormatForFileName("trivy-image.json"), "trivy");
  EXPECT_EQ(ScanFormatForFileName("artifacts/api/sha256-ab/Grype.JSON"), "grype");
  EXPECT_EQ(ScanFormatForFileName("report.sarif"), "sarif");
  EXPECT_EQ(ScanFormatForFileName("codeql.sarif.json"), "sarif");
  EXPECT_EQ(ScanFormatForFileName("build.yaml"), "");
  EXPECT_EQ(ScanFormatForFileName("scan.json"), "");
  EXPECT_EQ(ScanFormatForFileName("trivy.txt"), "");
}

TEST(DetectScanReportTest, ParsesByNameOrContent) {
  Result<ScanSummary> by_name = DetectAndParseScanReport("grype.json", Sample("grype.json"));
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(by_name->format, "grype");
  struct Case {
    const char* sample;
    const char* format;
  };
  for (Case c :
       {Case{"trivy.json", "trivy"}, Case{"grype.json", "grype"}, Case{"report.sarif", "sarif"}}) {
    Result<ScanSummary> s = DetectAndParseScanReport("scan.json", Sample(c.sample));
    ASSERT_TRUE(s.ok()) << c.sample << ": " << s.status().ToString();
    EXPECT_EQ(s->format, c.format);
  }
}

TEST(DetectScanReportTest, ErrorsNameTheFile) {
  Result<ScanSummary> unknown = DetectAndParseScanReport("scan.json", R"({"hello": 1})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("scan.json: not a scan report"));
  Result<ScanSummary> truncated = DetectAndParseScanReport("trivy.json", R"({"Results": [)");
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.status().message(),
              HasSubstr("trivy.json: Trivy report is not valid JSON"));
}

}  // namespace
}  // namespace sluice::evidence
