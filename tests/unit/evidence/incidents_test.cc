#include "evidence/incidents.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time_format.h"

namespace sluice::evidence {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kOpenProd[] = R"(id: INC-123
title: Checkout errors after 2.5.3
status: open
severity: sev1
opened: 2026-11-22T10:00:00Z
environments: [prod]
url: https://status.example.com/INC-123
)";

TEST(ParseIncidentTest, ReadsEveryField) {
  Result<Incident> inc = ParseIncident(kOpenProd, "incidents/INC-123.yaml");
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  EXPECT_EQ(inc->id, "INC-123");
  EXPECT_EQ(inc->title, "Checkout errors after 2.5.3");
  EXPECT_EQ(inc->status, IncidentStatus::kOpen);
  EXPECT_EQ(inc->severity, "sev1");
  EXPECT_EQ(inc->opened, *ParseRfc3339("2026-11-22T10:00:00Z"));
  EXPECT_FALSE(inc->resolved.has_value());
  EXPECT_THAT(inc->environments, ElementsAre("prod"));
  EXPECT_EQ(inc->url, "https://status.example.com/INC-123");
}

TEST(ParseIncidentTest, ResolvedWithTimeAndAllEnvironments) {
  Result<Incident> inc = ParseIncident(
      "id: INC-7\ntitle: DNS\nstatus: resolved\nseverity: P2\n"
      "opened: 2026-11-22T06:31:00+01:00\nresolved: 2026-11-22T07:00:00Z\n",
      "incidents/INC-7.yml");
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  EXPECT_EQ(inc->status, IncidentStatus::kResolved);
  EXPECT_EQ(inc->opened, *ParseRfc3339("2026-11-22T05:31:00Z"));
  ASSERT_TRUE(inc->resolved.has_value());
  EXPECT_TRUE(inc->environments.empty());
}

struct BadCase {
  const char* text;
  const char* expected;  // substring of "path:line: message"
};

TEST(ParseIncidentTest, ErrorsSayPathLineAndWhat) {
  const BadCase cases[] = {
      {"id: INC-1\ntitle: t\nstatus: closed\nseverity: s\nopened: 2026-11-22T10:00:00Z\n",
       "incidents/INC-1.yaml:3: status must be open or resolved, got 'closed'"},
      {"id: INC-1\ntitle: t\nstatus: open\nseverity: s\nopened: yesterday\n",
       "incidents/INC-1.yaml:5: opened 'yesterday' is not an RFC 3339 time"},
      {"id: INC-1\ntitle: t\nstatus: open\nseverity: s\n",
       "incidents/INC-1.yaml:1: opened is required"},
      {"id: INC-1\ntitle: t\nstatus: open\nseverity: s\nopened: 2026-11-22T10:00:00Z\n"
       "enviroments: [prod]\n",
       "incidents/INC-1.yaml:6: unknown key 'enviroments'"},
      {"id: INC-2\ntitle: t\nstatus: open\nseverity: s\nopened: 2026-11-22T10:00:00Z\n",
       "incidents/INC-1.yaml:1: id 'INC-2' differs from the file name"},
      {"id: INC-1\ntitle: t\nstatus: open\nseverity: s\nopened: 2026-11-22T10:00:00Z\n"
       "environments: prod\n",
       "incidents/INC-1.yaml:6: environments must be a list"},
      {"id: INC-1\ntitle: [unclosed\n", "incidents/INC-1.yaml:"},
      {"- just\n- a list\n", "incidents/INC-1.yaml:1: an incident file must be a map"},
      {"", "incidents/INC-1.yaml: an incident file must be a map"},
      {", a", "incidents/INC-1.yaml"},
      {"id: INC-1\nid: INC-1\n", "incidents/INC-1.yaml"},
  };
  for (const BadCase& c : cases) {
    Result<Incident> inc = ParseIncident(c.text, "incidents/INC-1.yaml");
    ASSERT_FALSE(inc.ok()) << c.text;
    EXPECT_EQ(inc.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(inc.status().message(), HasSubstr(c.expected)) << c.text;
  }
}

TEST(OpenIncidentsForTest, OpenIncidentsThatApplyToTheEnvironment) {
  std::vector<IncidentFile> files = {
      {"incidents/INC-123.yaml", kOpenProd},
      {"incidents/INC-200.yaml",
       "id: INC-200\ntitle: all envs\nstatus: open\nseverity: sev2\nopened: "
       "2026-11-22T10:00:00Z\n"},
      {"incidents/INC-100.yaml",
       "id: INC-100\ntitle: old\nstatus: resolved\nseverity: sev2\nopened: 2026-11-01T10:00:00Z\n"},
      {"incidents/README.md", "not an incident"},
  };
  gates::IncidentEvidence prod = OpenIncidentsFor("prod", files);
  EXPECT_THAT(prod.open, ElementsAre("INC-123", "INC-200"));
  EXPECT_EQ(prod.error, "");
  gates::IncidentEvidence staging = OpenIncidentsFor("staging", files);
  EXPECT_THAT(staging.open, ElementsAre("INC-200"));
  EXPECT_THAT(OpenIncidentsFor("prod", {}).open, IsEmpty());
}

TEST(OpenIncidentsForTest, BrokenFileIsAnErrorAndOthersStillCount) {
  std::vector<IncidentFile> files = {
      {"incidents/INC-123.yaml", kOpenProd},
      {"incidents/INC-9.yaml", "id: INC-9\nstatus: opne\n"},
      {"incidents/INC-10.yaml", ": :"},
  };
  gates::IncidentEvidence ev = OpenIncidentsFor("prod", files);
  EXPECT_THAT(ev.open, ElementsAre("INC-123"));
  EXPECT_THAT(ev.error, HasSubstr("incidents/INC-9.yaml"));
  EXPECT_THAT(ev.error, HasSubstr("and 1 more incident files"));
}

TEST(IncidentFileNameTest, YamlOnly) {
  EXPECT_TRUE(IsIncidentFileName("INC-1.yaml"));
  EXPECT_TRUE(IsIncidentFileName("INC-1.yml"));
  EXPECT_FALSE(IsIncidentFileName(".INC-1.yaml"));
  EXPECT_FALSE(IsIncidentFileName("README.md"));
  EXPECT_FALSE(IsIncidentFileName(".yaml"));
}

}  // namespace
}  // namespace sluice::evidence
