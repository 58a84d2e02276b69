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

TEST(ControllerConfigTest, RegistryCacheTtlIsReadUnlessGivenAsAFlag) {
  ControllerSettings s;
  EXPECT_EQ(s.registry_cache_ttl, minutes(10));
  ASSERT_TRUE(LoadControllerConfig("c.yaml", "registryCacheTtl: 1h\n", s, {}).ok());
  EXPECT_EQ(s.registry_cache_ttl, minutes(60));

  ControllerSettings flags;
  flags.registry_cache_ttl = minutes(2);
  ASSERT_TRUE(
      LoadControllerConfig("c.yaml", "registryCacheTtl: 1h\n", flags, {"--registry-cache-ttl"})
          .ok());
  EXPECT_EQ(flags.registry_cache_ttl, minutes(2));

  ControllerSettings off;
  ASSERT_TRUE(LoadControllerConfig("c.yaml", "registryCacheTtl: 0\n", off, {}).ok());
  EXPECT_EQ(off.registry_cache_ttl.count(), 0);
}

TEST(ControllerConfigTest, BadRegistryCacheTtlNamesTheLineAndTheFix) {
  ControllerSettings s;
  Status words = LoadControllerConfig("c.yaml", "repo: x\nregistryCacheTtl: ten minutes\n", s, {});
  EXPECT_EQ(words.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(words.message().rfind("c.yaml:2: registryCacheTtl: ", 0), 0u) << words.message();
  EXPECT_NE(words.message().find("1h30m"), std::string::npos) << words.message();

  Status long_ttl = LoadControllerConfig("c.yaml", "registryCacheTtl: 2d\n", s, {});
  EXPECT_EQ(long_ttl.message(),
            "c.yaml:1: registryCacheTtl: '2d' is longer than 24h: a manifest deleted from the "
            "registry would pass the registry gate for that long; use 24h or less, or 0 to ask "
            "the registry on every pass");
  EXPECT_EQ(s.registry_cache_ttl, minutes(10));  // unchanged by the bad files

  EXPECT_TRUE(ParseRegistryCacheTtl("24h").ok());
  EXPECT_FALSE(ParseRegistryCacheTtl("-5m").ok());
  EXPECT_FALSE(ParseRegistryCacheTtl("").ok());
}

}  // namespace
}  // namespace sluice::cli
