#include "gates/custom.h"

#include <gtest/gtest.h>

namespace sluice::gates {
namespace {

const config::CustomGate kLoadTest{
    "load-test", {"scripts/gate-load.sh", "--quick"}, std::chrono::seconds(60)};

CustomGateEvidence Outcome(int exit_code, std::string first_line = "", bool timed_out = false,
                           std::string error = "") {
  return CustomGateEvidence{"load-test", exit_code, timed_out, std::move(first_line),
                            std::move(error)};
}

struct CustomCase {
  const char* what;
  CustomGateEvidence outcome;
  Verdict verdict;
  const char* reason;  // exact
};

class CustomGateTableTest : public ::testing::TestWithParam<CustomCase> {};

TEST_P(CustomGateTableTest, ExitCodeDecidesAndFirstLineExplains) {
  const CustomCase& c = GetParam();
  GateResult r = EvaluateCustomGate(kLoadTest, c.outcome);
  EXPECT_EQ(r.name, "custom:load-test");
  EXPECT_EQ(VerdictName(r.verdict), VerdictName(c.verdict)) << c.what << ": " << r.reason;
  EXPECT_EQ(r.reason, c.reason) << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Custom, CustomGateTableTest,
    ::testing::Values(
        CustomCase{"exit 0", Outcome(0, "p99 180ms under 250ms\r"), Verdict::kPass,
                   "p99 180ms under 250ms"},
        CustomCase{"exit 0 silent", Outcome(0), Verdict::kPass,
                   "custom gate 'load-test' passed (exit 0)"},
        CustomCase{"exit 75", Outcome(75, "  load test still running  "), Verdict::kWait,
                   "load test still running"},
        CustomCase{"exit 75 silent", Outcome(75), Verdict::kWait,
                   "custom gate 'load-test' asked to wait (exit 75)"},
        CustomCase{"exit 1", Outcome(1, "p99 840ms over 250ms"), Verdict::kBlock,
                   "p99 840ms over 250ms"},
        CustomCase{"exit 1 silent", Outcome(1), Verdict::kBlock,
                   "custom gate 'load-test' failed (exit 1)"},
        CustomCase{"exit 0 but timed out", Outcome(0, "", true), Verdict::kBlock,
                   "custom gate 'load-test' timed out after 1m"},
        CustomCase{"timed out", Outcome(-1, "warming up", true), Verdict::kBlock,
                   "custom gate 'load-test' timed out after 1m (last said: warming up)"},
        CustomCase{"could not run", Outcome(-1, "", false, "scripts/gate-load.sh: not found"),
                   Verdict::kBlock,
                   "custom gate 'load-test' could not run: scripts/gate-load.sh: not found"},
        CustomCase{"no exit status", Outcome(-1), Verdict::kBlock,
                   "custom gate 'load-test' did not report an exit status; refusing to deploy "
                   "(fail closed)"}),
    [](const ::testing::TestParamInfo<CustomCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(CustomGateTest, RecordsCommandAndExitCode) {
  GateResult r = EvaluateCustomGate(kLoadTest, Outcome(75));
  EXPECT_EQ(r.evidence.at("command"), "scripts/gate-load.sh --quick");
  EXPECT_EQ(r.evidence.at("exitCode"), "75");
}

TEST(CustomGateTest, KeepsTheReasonOnOneShortLine) {
  GateResult r =
      EvaluateCustomGate(kLoadTest, Outcome(1, "bad\tthing\x1b[31m" + std::string(300, 'x')));
  EXPECT_EQ(r.reason.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.reason.find('\t'), std::string::npos);
  EXPECT_LE(r.reason.size(), 210u);
}

}  // namespace
}  // namespace sluice::gates
