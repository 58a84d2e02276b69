#include "gates/vulnerabilities.h"

#include <gtest/gtest.h>

namespace sluice::gates {
namespace {

ScanEvidence Report(std::map<std::string, int> counts) {
  ScanEvidence s;
  s.path = "artifacts/api/sha256-aaaa/trivy.json";
  s.found = true;
  s.format = "trivy";
  s.counts = std::move(counts);
  return s;
}

struct VulnCase {
  const char* what;
  config::VulnerabilityLimits limits;
  std::optional<ScanEvidence> scan;
  Verdict verdict;
  const char* reason;
};

class VulnerabilityTableTest : public ::testing::TestWithParam<VulnCase> {};

TEST_P(VulnerabilityTableTest, ComparesCountsWithLimits) {
  const VulnCase& c = GetParam();
  GateResult r = EvaluateVulnerabilities(c.limits, c.scan);
  EXPECT_EQ(r.name, "vulnerabilities");
  EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict)) << c.what << ": " << r.reason;
  EXPECT_NE(r.reason.find(c.reason), std::string::npos)
      << c.what << ": reason '" << r.reason << "' lacks '" << c.reason << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Vulnerabilities, VulnerabilityTableTest,
    ::testing::Values(
        VulnCase{"clean",
                 {0, 0, std::nullopt},
                 Report({{"critical", 0}, {"high", 0}}),
                 Verdict::kPass,
                 "0 critical <= maxCritical 0, 0 high <= maxHigh 0"},
        VulnCase{"at the limit",
                 {0, 2, std::nullopt},
                 Report({{"high", 2}, {"medium", 40}}),
                 Verdict::kPass,
                 "2 high <= maxHigh 2"},
        VulnCase{"unlimited severities are not judged",
                 {0, std::nullopt, std::nullopt},
                 Report({{"critical", 0}, {"high", 99}}),
                 Verdict::kPass,
                 "0 critical"},
        VulnCase{"over critical",
                 {0, 0, std::nullopt},
                 Report({{"critical", 3}, {"high", 0}}),
                 Verdict::kBlock,
                 "3 critical > maxCritical 0"},
        VulnCase{"over several",
                 {0, 1, 5},
                 Report({{"critical", 1}, {"high", 2}, {"medium", 5}}),
                 Verdict::kBlock,
                 "1 critical > maxCritical 0, 2 high > maxHigh 1 (trivy report)"},
        VulnCase{"no limits at all",
                 {},
                 Report({{"critical", 7}}),
                 Verdict::kPass,
                 "no limit configured"},
        VulnCase{"missing report",
                 {0, 0, std::nullopt},
                 ScanEvidence{"artifacts/api/sha256-aaaa/", false, "", "", {}},
                 Verdict::kBlock,
                 "no scan report found in artifacts/api/sha256-aaaa/"},
        VulnCase{"unparseable report",
                 {0, 0, std::nullopt},
                 ScanEvidence{"artifacts/api/sha256-aaaa/grype.json",
                              true,
                              "grype",
                              "unexpected end of JSON at byte 10",
                              {}},
                 Verdict::kBlock,
                 "scan report artifacts/api/sha256-aaaa/grype.json cannot be read: unexpected end"},
        VulnCase{
            "no evidence", {0, 0, std::nullopt}, std::nullopt, Verdict::kBlock, "fail closed"}),
    [](const ::testing::TestParamInfo<VulnCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(VulnerabilityGateTest, RecordsReportAndCounts) {
  GateResult r =
      EvaluateVulnerabilities({0, 0, std::nullopt}, Report({{"critical", 0}, {"high", 1}}));
  EXPECT_EQ(r.evidence.at("report"), "artifacts/api/sha256-aaaa/trivy.json");
  EXPECT_EQ(r.evidence.at("format"), "trivy");
  EXPECT_EQ(r.evidence.at("high"), "1");
}

}  // namespace
}  // namespace sluice::gates
