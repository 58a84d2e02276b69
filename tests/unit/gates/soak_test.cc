#include "gates/soak.h"

#include <gtest/gtest.h>

#include "test_time.h"

namespace sluice::gates {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::Utc;

const std::string kDigest = "sha256:" + std::string(64, 'd');

UpstreamEvidence Staging(bool deployed, bool verified, const char* at) {
  UpstreamEvidence u;
  u.env = "staging";
  u.digest_deployed = deployed;
  u.digest_verified = verified;
  if (at) u.verified_at = Utc(at);
  return u;
}

TEST(UpstreamVerifiedGateTest, PassesWhenUpstreamLastKnownGoodIsThisDigest) {
  GateResult r = EvaluateUpstreamVerified(Staging(true, true, "2026-05-01T10:00:00Z"), kDigest);
  EXPECT_EQ(r.name, "upstreamVerified");
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
  EXPECT_NE(r.reason.find("last known good of staging"), std::string::npos) << r.reason;
  EXPECT_EQ(r.evidence.at("verifiedAt"), "2026-05-01T10:00:00Z");
}

TEST(UpstreamVerifiedGateTest, BlocksADigestStagingNeverVerified) {
  GateResult r = EvaluateUpstreamVerified(Staging(true, false, nullptr), kDigest);
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_EQ(r.reason,
            "sha256:dddddddddddd… was never verified in staging; promote what staging "
            "verified");
}

TEST(UpstreamVerifiedGateTest, BlocksWithoutEvidence) {
  GateResult r = EvaluateUpstreamVerified(std::nullopt, kDigest);
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("fail closed"), std::string::npos);
}

struct SoakCase {
  const char* what;
  std::optional<UpstreamEvidence> upstream;
  const char* now;
  Verdict verdict;
  const char* reason;
};

class SoakTableTest : public ::testing::TestWithParam<SoakCase> {};

TEST_P(SoakTableTest, NeedsTheDigestVerifiedAndStillRunningUpstreamForTheSoakTime) {
  const SoakCase& c = GetParam();
  GateResult r = EvaluateSoak(c.upstream, hours(1), Utc(c.now));
  EXPECT_EQ(r.name, "soak");
  EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict)) << c.what << ": " << r.reason;
  EXPECT_NE(r.reason.find(c.reason), std::string::npos)
      << c.what << ": reason '" << r.reason << "' lacks '" << c.reason << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Soak, SoakTableTest,
    ::testing::Values(
        SoakCase{"40 minutes in", Staging(true, true, "2026-05-01T10:00:00Z"),
                 "2026-05-01T10:40:00Z", Verdict::kWait,
                 "soaking in staging: 40m of 1h, 20m to go"},
        SoakCase{"a second short", Staging(true, true, "2026-05-01T10:00:00Z"),
                 "2026-05-01T10:59:59Z", Verdict::kWait, "1s to go"},
        SoakCase{"exactly soaked", Staging(true, true, "2026-05-01T10:00:00Z"),
                 "2026-05-01T11:00:00Z", Verdict::kPass, "soaked 1h in staging (needs 1h)"},
        SoakCase{"long soaked", Staging(true, true, "2026-05-01T10:00:00Z"), "2026-05-03T10:00:00Z",
                 Verdict::kPass, "soaked 2d in staging"},
        SoakCase{"replaced upstream", Staging(false, true, "2026-05-01T10:00:00Z"),
                 "2026-05-01T12:00:00Z", Verdict::kBlock, "no longer deployed in staging"},
        SoakCase{"never verified", Staging(true, false, nullptr), "2026-05-01T12:00:00Z",
                 Verdict::kBlock, "never verified in staging"},
        SoakCase{"verified without a time", Staging(true, true, nullptr), "2026-05-01T12:00:00Z",
                 Verdict::kBlock, "never verified in staging"},
        SoakCase{"no evidence", std::nullopt, "2026-05-01T12:00:00Z", Verdict::kBlock,
                 "fail closed"}),
    [](const ::testing::TestParamInfo<SoakCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(SoakGateTest, ReportsTheSoakInEvidence) {
  GateResult r = EvaluateSoak(Staging(true, true, "2026-05-01T10:00:00Z"), minutes(90),
                              Utc("2026-05-01T10:30:00Z"));
  EXPECT_EQ(r.verdict, Verdict::kWait);
  EXPECT_EQ(r.evidence.at("soak"), "1h30m");
  EXPECT_EQ(r.evidence.at("soakedFor"), "30m");
  EXPECT_EQ(r.evidence.at("upstream"), "staging");
  ASSERT_TRUE(r.until.has_value());
  EXPECT_EQ(*r.until, Utc("2026-05-01T11:30:00Z"));
}

}  // namespace
}  // namespace sluice::gates
