#include "gates/gate.h"

#include <gtest/gtest.h>

#include "test_time.h"

namespace sluice::gates {
namespace {

struct GateFixture : ::testing::Test {
  config::Pin pin;
  config::EnvironmentPolicy policy;
  config::RepoSettings settings;
  Evidence evidence;
  GateFixture() {
    pin.env = "prod";
    pin.app = "api";
    pin.artifact.digest = "sha256:" + std::string(64, 'a');
    policy.env = "prod";
    settings.pipeline = {"dev", "prod"};
  }
  std::vector<GateResult> Run(TimePoint now = TimePoint{}) {
    Candidate c{"prod", "api", std::string(40, 'c'), &pin, &policy, &settings};
    return EvaluateGates(c, evidence, now);
  }
  const GateResult* Find(const std::vector<GateResult>& r, const std::string& name) {
    for (const auto& g : r) {
      if (g.name == name) return &g;
    }
    return nullptr;
  }
};

TEST_F(GateFixture, EmptyPolicyPassesWithTheDigestRecorded) {
  auto r = Run();
  EXPECT_EQ(Overall(r), Verdict::kPass);
  ASSERT_NE(Find(r, "digest"), nullptr);
  EXPECT_EQ(Find(r, "digest")->evidence.at("digest"), pin.artifact.digest);
}

TEST_F(GateFixture, ApprovalThePolicyAsksForWithoutEvidenceBlocks) {
  // The approval module's decision was not handed in: it must fail closed.
  policy.approval = config::ApprovalPolicy{2, {"release-managers"}, config::Evidence::kForge, true};
  auto r = Run();
  EXPECT_EQ(Overall(r), Verdict::kBlock);
  const GateResult* g = Find(r, "approval");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->verdict, Verdict::kBlock);
  EXPECT_NE(g->reason.find("fail closed"), std::string::npos) << g->reason;
}

TEST_F(GateFixture, ApprovalAndCoverageAreJudgedOutsideAndPlacedAfterTheDigest) {
  policy.approval =
      config::ApprovalPolicy{1, {"release-managers"}, config::Evidence::kSigned, true};
  evidence.approval = GateResult{"approval", Verdict::kPass, "signed by alice", {}};
  evidence.coverage = GateResult{"coverage", Verdict::kBlock, "c0ffee edited deploy.sh", {}};
  auto r = Run();
  ASSERT_GE(r.size(), 3u);
  EXPECT_EQ(r[0].name, "digest");
  EXPECT_EQ(r[1].name, "approval");
  EXPECT_EQ(r[1].verdict, Verdict::kPass);
  EXPECT_EQ(r[2].name, "coverage");
  EXPECT_EQ(Overall(r), Verdict::kBlock);
  // A rollback rule may ask for approval where releases need none.
  policy.approval.reset();
  evidence.coverage.reset();
  r = Run();
  EXPECT_NE(Find(r, "approval"), nullptr);
  EXPECT_EQ(Overall(r), Verdict::kPass);
}

// Configures every gate; `Good()` then fills evidence that passes them all
// at kInWindow (Tue 2026-06-09 11:00 Berlin, no freeze).
struct AllGatesFixture : GateFixture {
  const TimePoint kInWindow = testing::Utc("2026-06-09T09:00:00Z");
  AllGatesFixture() {
    policy.upstream = "staging";
    policy.gates.upstream_verified = true;
    policy.gates.soak = std::chrono::hours(1);
    policy.gates.vulnerabilities = config::VulnerabilityLimits{0, 0, std::nullopt};
    policy.gates.registry_verify_digest = true;
    policy.gates.rollback_target_required = true;
    policy.gates.no_active_incident = true;
    policy.gates.custom = {{"load-test", {"scripts/gate.sh"}, std::chrono::seconds(60)},
                           {"smoke", {"scripts/smoke.sh"}, std::chrono::seconds(60)}};
    policy.windows = config::Windows{"Europe/Berlin", {{{config::Weekday::kTue}, 600, 840}}};
    policy.freezes = {{"black-friday", "2026-11-26", "2026-12-01", ""},
                      {"", "", "", "calendars/holidays.ics"}};
    policy.emergency = config::EmergencyPolicy{{"vp-engineering"}, true};
  }
  void Good() {
    evidence.lkg_commit = std::string(40, 'b');
    evidence.ever_deployed = true;
    UpstreamEvidence u;
    u.env = "staging";
    u.digest_deployed = true;
    u.digest_verified = true;
    u.verified_at = kInWindow - std::chrono::hours(2);
    evidence.upstream = u;
    evidence.scan =
        ScanEvidence{"artifacts/api/x/trivy.json", true, "trivy", "", {{"critical", 0}}};
    evidence.registry = RegistryEvidence{true, "", ""};
    evidence.incidents = IncidentEvidence{};
    evidence.custom = {{"load-test", 0, false, "ok", ""}, {"smoke", 0, false, "", ""}};
    evidence.calendars = {{"calendars/holidays.ics",
                           "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\n"
                           "UID:x\nDTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY\n"
                           "SUMMARY:Christmas Day\nEND:VEVENT\nEND:VCALENDAR\n",
                           ""}};
  }
  std::vector<std::string> Names(const std::vector<GateResult>& r) {
    std::vector<std::string> out;
    for (const auto& g : r) out.push_back(g.name);
    return out;
  }
};

TEST_F(AllGatesFixture, RunsEveryConfiguredGateInAFixedOrder) {
  Good();
  auto r = Run(kInWindow);
  EXPECT_EQ(Names(r),
            (std::vector<std::string>{"digest", "upstreamVerified", "soak", "vulnerabilities",
                                      "registry", "rollbackTarget", "noActiveIncident",
                                      "custom:load-test", "custom:smoke", "window", "freeze"}));
  for (const auto& g : r) EXPECT_EQ(g.verdict, Verdict::kPass) << g.name << ": " << g.reason;
  EXPECT_EQ(Overall(r), Verdict::kPass);
}

TEST_F(AllGatesFixture, EachGateBlocksWhenItsEvidenceIsAbsent) {
  // The engine gathered nothing: every gate that needs evidence fails closed.
  auto r = Run(kInWindow);
  for (const char* name :
       {"upstreamVerified", "soak", "vulnerabilities", "registry", "rollbackTarget",
        "noActiveIncident", "custom:load-test", "custom:smoke", "freeze"}) {
    const GateResult* g = Find(r, name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_EQ(g->verdict, Verdict::kBlock) << name << ": " << g->reason;
  }
  // The window needs no evidence: Tuesday 11:00 in Berlin is inside.
  EXPECT_EQ(Find(r, "window")->verdict, Verdict::kPass);
}

TEST_F(AllGatesFixture, NoGateShortCircuitsTheOthers) {
  Good();
  evidence.upstream->digest_verified = false;  // first gates block...
  evidence.scan->counts["critical"] = 2;
  auto r = Run(testing::Utc("2026-06-09T13:00:00Z"));  // ...and it is 15:00, outside
  EXPECT_EQ(r.size(), 11u);
  EXPECT_EQ(Find(r, "upstreamVerified")->verdict, Verdict::kBlock);
  EXPECT_EQ(Find(r, "vulnerabilities")->verdict, Verdict::kBlock);
  EXPECT_EQ(Find(r, "window")->verdict, Verdict::kWait);
  EXPECT_EQ(Find(r, "custom:smoke")->verdict, Verdict::kPass);
  EXPECT_EQ(Overall(r), Verdict::kBlock);
}

TEST_F(AllGatesFixture, OutsideTheWindowTheCandidateWaits) {
  Good();
  auto r = Run(testing::Utc("2026-06-09T13:00:00Z"));  // Tue 15:00 CEST
  EXPECT_EQ(Overall(r), Verdict::kWait);
  EXPECT_NE(Find(r, "window")->reason.find("opens Tue 10:00 Europe/Berlin (in 6d19h)"),
            std::string::npos)
      << Find(r, "window")->reason;
}

TEST_F(AllGatesFixture, InAFreezeTheCandidateWaits) {
  Good();
  policy.windows->allow = {{{}, 0, 24 * 60}};
  auto r = Run(testing::Utc("2026-12-25T10:00:00Z"));
  EXPECT_EQ(Overall(r), Verdict::kWait);
  EXPECT_NE(Find(r, "freeze")->reason.find("frozen: Christmas Day until 2026-12-26 00:00"),
            std::string::npos)
      << Find(r, "freeze")->reason;
}

TEST_F(AllGatesFixture, EmergencySkipsWindowFreezeAndSoakButNotVulnerabilities) {
  Good();
  policy.windows->allow = {{{config::Weekday::kTue}, 600, 840}};
  evidence.upstream->verified_at = testing::Utc("2026-11-27T11:50:00Z");  // 10m soaked
  evidence.scan->counts["critical"] = 1;
  evidence.emergency = EmergencyEvidence{"INC-123", {"dana"}};
  auto r = Run(testing::Utc("2026-11-27T12:00:00Z"));  // Fri, in black-friday, outside window
  for (const char* name : {"soak", "window", "freeze"}) {
    const GateResult* g = Find(r, name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_EQ(g->verdict, Verdict::kPass) << name;
    EXPECT_EQ(g->reason, "skipped: emergency INC-123 approved by dana") << name;
    EXPECT_EQ(g->evidence.at("emergency"), "true") << name;
    EXPECT_EQ(g->evidence.at("incident"), "INC-123") << name;
  }
  EXPECT_NE(Find(r, "window")->evidence.at("overridden").find("wait: outside"), std::string::npos);
  EXPECT_NE(Find(r, "freeze")->evidence.at("overridden").find("wait: frozen: black-friday"),
            std::string::npos);
  EXPECT_EQ(Find(r, "vulnerabilities")->verdict, Verdict::kBlock);
  EXPECT_EQ(Overall(r), Verdict::kBlock);
  evidence.scan->counts["critical"] = 0;
  EXPECT_EQ(Overall(Run(testing::Utc("2026-11-27T12:00:00Z"))), Verdict::kPass);
}

TEST_F(AllGatesFixture, EmergencyNeverSkipsApprovalRegistryIncidentsOrCustomGates) {
  Good();
  policy.approval = config::ApprovalPolicy{1, {"release-managers"}, config::Evidence::kForge, true};
  evidence.registry = RegistryEvidence{false, "connection refused", ""};
  evidence.incidents = IncidentEvidence{{"INC-9"}, ""};
  evidence.custom[0].exit_code = 1;
  evidence.emergency = EmergencyEvidence{"INC-123", {"dana"}};
  auto r = Run(kInWindow);
  for (const char* name : {"approval", "registry", "noActiveIncident", "custom:load-test"}) {
    EXPECT_EQ(Find(r, name)->verdict, Verdict::kBlock) << name;
    EXPECT_EQ(Find(r, name)->evidence.count("emergency"), 0u) << name;
  }
}

TEST_F(AllGatesFixture, EmergencyIsRefusedWithoutAnEmergencyPathInThePolicy) {
  Good();
  policy.emergency.reset();
  evidence.emergency = EmergencyEvidence{"INC-123", {"dana"}};
  auto r = Run(testing::Utc("2026-06-09T13:00:00Z"));  // outside the window
  const GateResult* w = Find(r, "window");
  EXPECT_EQ(w->verdict, Verdict::kWait);
  EXPECT_NE(w->evidence.at("emergency").find("no emergency section"), std::string::npos);
}

TEST_F(AllGatesFixture, EmergencyWithoutTheRequiredIncidentIsRefused) {
  Good();
  evidence.emergency = EmergencyEvidence{"", {"dana"}};
  auto r = Run(testing::Utc("2026-06-09T13:00:00Z"));
  EXPECT_EQ(Find(r, "window")->verdict, Verdict::kWait);
  policy.emergency->require_incident = false;
  r = Run(testing::Utc("2026-06-09T13:00:00Z"));
  EXPECT_EQ(Find(r, "window")->verdict, Verdict::kPass);
  EXPECT_EQ(Find(r, "window")->reason, "skipped: emergency approved by dana");
}

TEST_F(AllGatesFixture, AFreezeWithoutWindowsIsJudgedInUtc) {
  Good();
  policy.windows.reset();
  policy.freezes = {{"day", "2026-06-09", "2026-06-09", ""}};
  // 23:30 UTC on the 9th is the 10th in Berlin, but without windows the zone is UTC.
  auto r = Run(testing::Utc("2026-06-09T23:30:00Z"));
  EXPECT_EQ(Find(r, "freeze")->verdict, Verdict::kWait);
  EXPECT_EQ(Find(r, "window"), nullptr);
}

TEST_F(GateFixture, RollbackTargetPassesWithAnLkg) {
  policy.gates.rollback_target_required = true;
  evidence.lkg_commit = std::string(40, 'b');
  evidence.ever_deployed = true;
  auto r = Run();
  EXPECT_EQ(Find(r, "rollbackTarget")->verdict, Verdict::kPass);
}

TEST_F(GateFixture, RollbackTargetBlocksWithoutLkg) {
  policy.gates.rollback_target_required = true;
  evidence.ever_deployed = true;
  auto r = Run();
  EXPECT_EQ(Find(r, "rollbackTarget")->verdict, Verdict::kBlock);
  EXPECT_EQ(Overall(r), Verdict::kBlock);
}

TEST_F(GateFixture, RollbackTargetAllowsTheFirstReleaseOnlyWhenAsked) {
  policy.gates.rollback_target_required = true;
  EXPECT_EQ(Find(Run(), "rollbackTarget")->verdict, Verdict::kBlock);
  policy.gates.rollback_allow_first = true;
  EXPECT_EQ(Find(Run(), "rollbackTarget")->verdict, Verdict::kPass);
  evidence.ever_deployed = true;  // deployed before, never verified: not a first release
  EXPECT_EQ(Find(Run(), "rollbackTarget")->verdict, Verdict::kBlock);
}

TEST(OverallTest, BlockBeatsWaitBeatsPass) {
  GateResult pass{"a", Verdict::kPass, "", {}};
  GateResult wait{"b", Verdict::kWait, "", {}};
  GateResult block{"c", Verdict::kBlock, "", {}};
  EXPECT_EQ(Overall({}), Verdict::kPass);
  EXPECT_EQ(Overall({pass, wait}), Verdict::kWait);
  EXPECT_EQ(Overall({wait, block, pass}), Verdict::kBlock);
}

}  // namespace
}  // namespace sluice::gates

namespace sluice::gates {
namespace {

TEST_F(GateFixture, RollbackSkipsWindowFreezeSoakAndUpstreamButNotApprovalOrScans) {
  policy.approval = config::ApprovalPolicy{1, {"release-managers"}, config::Evidence::kForge, true};
  policy.gates.upstream_verified = true;
  policy.gates.soak = std::chrono::hours(1);
  policy.gates.vulnerabilities = config::VulnerabilityLimits{0, 0, std::nullopt};
  policy.windows = config::Windows{"UTC", {{{config::Weekday::kTue}, 600, 660}}};
  policy.freezes = {{"all-time", "1970-01-01", "2099-12-31", ""}};
  evidence.rollback = RollbackEvidence{std::string(40, 'b'), pin.artifact.digest};
  auto r = Run();
  for (const char* skipped : {"upstreamVerified", "soak", "window", "freeze"}) {
    const GateResult* g = Find(r, skipped);
    ASSERT_NE(g, nullptr) << skipped;
    EXPECT_EQ(g->verdict, Verdict::kPass) << skipped;
    EXPECT_NE(g->reason.find("rollback to verified bbbbbbbbbbbb"), std::string::npos) << g->reason;
    EXPECT_FALSE(g->evidence.at("overridden").empty()) << skipped;
  }
  // Never skipped: the scan (no report gathered) and approval still block.
  EXPECT_EQ(Find(r, "vulnerabilities")->verdict, Verdict::kBlock);
  EXPECT_EQ(Find(r, "approval")->verdict, Verdict::kBlock);
  EXPECT_EQ(Overall(r), Verdict::kBlock);
}

}  // namespace
}  // namespace sluice::gates
