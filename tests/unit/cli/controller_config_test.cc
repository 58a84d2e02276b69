// The controller's --config file: the drift keys (issue #5).
#include "cli/controller_config.h"

#include <gtest/gtest.h>

namespace sluice::cli {
namespace {

using std::chrono::minutes;

TEST(ControllerConfigTest, DriftKeysAreReadUnlessGivenAsFlags) {
  ControllerSettings s;
  EXPECT_EQ(s.drift_interval, minutes(10));
  EXPECT_EQ(s.drift_checks_per_pass, 4u);
  ASSERT_TRUE(
      LoadControllerConfig("c.yaml", "driftInterval: 1h\ndriftChecksPerPass: 20\n", s, {}).ok());
  EXPECT_EQ(s.drift_interval, minutes(60));
  EXPECT_EQ(s.drift_checks_per_pass, 20u);

  ControllerSettings flags;
  flags.drift_interval = minutes(5);
  ASSERT_TRUE(
      LoadControllerConfig("c.yaml", "driftInterval: 1h\n", flags, {"--drift-interval"}).ok());
  EXPECT_EQ(flags.drift_interval, minutes(5));

  ControllerSettings off;
  ASSERT_TRUE(LoadControllerConfig("c.yaml", "driftInterval: 0\n", off, {}).ok());
  EXPECT_EQ(off.drift_interval.count(), 0);
}

TEST(ControllerConfigTest, BadDriftValuesNameTheLineAndTheFix) {
  ControllerSettings s;
  Status short_interval = LoadControllerConfig("c.yaml", "repo: x\ndriftInterval: 30s\n", s, {});
  EXPECT_EQ(short_interval.message(),
            "c.yaml:2: driftInterval: '30s' is shorter than 1m: each check runs helm or terraform "
            "against the cluster or state; use 1m or more, or 0 to turn drift checks off");
  Status zero = LoadControllerConfig("c.yaml", "driftChecksPerPass: 0\n", s, {});
  EXPECT_EQ(zero.message(), "c.yaml:1: driftChecksPerPass must be a whole number from 1 to 1000");
  Status unknown = LoadControllerConfig("c.yaml", "driftIntervall: 1h\n", s, {});
  EXPECT_NE(unknown.message().find("driftInterval, driftChecksPerPass"), std::string::npos)
      << unknown.message();
}

}  // namespace
}  // namespace sluice::cli
