#include "gates/incident.h"

#include <gtest/gtest.h>

namespace sluice::gates {
namespace {

TEST(NoActiveIncidentGateTest, PassesWithNoOpenIncident) {
  GateResult r = EvaluateNoActiveIncident(IncidentEvidence{});
  EXPECT_EQ(r.name, "noActiveIncident");
  EXPECT_EQ(r.verdict, Verdict::kPass);
}

TEST(NoActiveIncidentGateTest, BlocksNamingOpenIncidents) {
  GateResult r = EvaluateNoActiveIncident(IncidentEvidence{{"INC-7", "INC-9"}, ""});
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("open incidents: INC-7, INC-9"), std::string::npos) << r.reason;
  EXPECT_EQ(r.evidence.at("open"), "INC-7, INC-9");
}

TEST(NoActiveIncidentGateTest, BlocksWhenAnIncidentFileDoesNotParse) {
  GateResult r =
      EvaluateNoActiveIncident(IncidentEvidence{{}, "incidents/inc-7.yaml:2: bad state"});
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("incidents/inc-7.yaml:2: bad state"), std::string::npos);
}

TEST(NoActiveIncidentGateTest, BlocksWithoutEvidence) {
  EXPECT_EQ(EvaluateNoActiveIncident(std::nullopt).verdict, Verdict::kBlock);
}

}  // namespace
}  // namespace sluice::gates
