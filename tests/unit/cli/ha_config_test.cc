// The HA settings of `sluice controller` (--etcd and its companions), from
// flags and from the --config file.
#include "cli/ha_config.h"

#include <gtest/gtest.h>

#include "cli/controller_config.h"
#include "core/secrets.h"
#include "support/temp_dir.h"

namespace sluice::cli {
namespace {

using std::chrono::seconds;

TEST(HaConfigTest, SplitsTheEndpointList) {
  EXPECT_EQ(SplitEndpoints("http://a:2379, http://b:2379,,"),
            (std::vector<std::string>{"http://a:2379", "http://b:2379"}));
  EXPECT_TRUE(SplitEndpoints("").empty());
}

TEST(HaConfigTest, LeaseTtlIsWholeSecondsFromTwoToFiveMinutes) {
  EXPECT_EQ(*ParseLeaseTtl("15s"), seconds(15));
  EXPECT_EQ(*ParseLeaseTtl("2m"), seconds(120));
  EXPECT_NE(ParseLeaseTtl("1s").status().message().find("from 2s"), std::string::npos);
  EXPECT_FALSE(ParseLeaseTtl("6m").ok());
  EXPECT_NE(ParseLeaseTtl("2500ms").status().message().find("whole number of seconds"),
            std::string::npos);
  EXPECT_FALSE(ParseLeaseTtl("soon").ok());
}

TEST(HaConfigTest, ConfigKeysFillTheSettingsAndFlagsWin) {
  ControllerSettings s;
  ASSERT_TRUE(LoadControllerConfig("c.yaml",
                                   "etcd: [http://a:2379, \"http://b:2379,http://c:2379\"]\n"
                                   "leaseTtl: 10s\ninstanceId: sluice-0\n"
                                   "etcdCacert: /ca.pem\netcdCert: /c.pem\netcdKey: /k.pem\n"
                                   "etcdUser: sluice\netcdPasswordFile: /pw\n",
                                   s, {})
                  .ok());
  EXPECT_EQ(s.ha.etcd,
            (std::vector<std::string>{"http://a:2379", "http://b:2379", "http://c:2379"}));
  EXPECT_EQ(s.ha.lease_ttl, seconds(10));
  EXPECT_EQ(s.ha.instance_id, "sluice-0");
  EXPECT_EQ(s.ha.etcd_cacert, "/ca.pem");
  EXPECT_EQ(s.ha.etcd_cert, "/c.pem");
  EXPECT_EQ(s.ha.etcd_key, "/k.pem");
  EXPECT_EQ(s.ha.etcd_user, "sluice");
  EXPECT_EQ(s.ha.etcd_password_file, "/pw");

  ControllerSettings flags;
  flags.ha.etcd = {"http://flag:2379"};
  flags.ha.instance_id = "from-flag";
  ASSERT_TRUE(LoadControllerConfig("c.yaml", "etcd: http://file:2379\ninstanceId: file\n", flags,
                                   {"--etcd", "--instance-id"})
                  .ok());
  EXPECT_EQ(flags.ha.etcd, (std::vector<std::string>{"http://flag:2379"}));
  EXPECT_EQ(flags.ha.instance_id, "from-flag");
}

TEST(HaConfigTest, BadConfigValuesNameTheLine) {
  ControllerSettings s;
  Status bad = LoadControllerConfig("c.yaml", "repo: x\nleaseTtl: 1s\n", s, {});
  EXPECT_NE(bad.message().find("c.yaml:2: leaseTtl: "), std::string::npos) << bad.ToString();
  bad = LoadControllerConfig("c.yaml", "etcd: {a: b}\n", s, {});
  EXPECT_NE(bad.message().find("c.yaml:1: etcd must be"), std::string::npos) << bad.ToString();
  bad = LoadControllerConfig("c.yaml", "etcdUser: [a]\n", s, {});
  EXPECT_NE(bad.message().find("etcdUser must be a single value"), std::string::npos);
}

TEST(HaConfigTest, EtcdOptionsNeedEtcdAndReadThePasswordFile) {
  HaSettings none;
  auto off = MakeEtcdOptions(none);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());  // no HA

  HaSettings orphan;
  orphan.etcd_user = "sluice";
  EXPECT_NE(MakeEtcdOptions(orphan).status().message().find("--etcd-user given without --etcd"),
            std::string::npos);

  testing::TempDir tmp;
  testing::WriteFile(tmp.Sub("pw"), "etcd-pass-123456\n");
  HaSettings s;
  s.etcd = {"http://a:2379"};
  s.etcd_user = "sluice";
  s.etcd_password_file = tmp.Sub("pw");
  auto o = MakeEtcdOptions(s);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  ASSERT_TRUE(o->has_value());
  EXPECT_EQ((*o)->password, "etcd-pass-123456");                          // without the line feed
  EXPECT_EQ(RedactRegisteredSecrets("x etcd-pass-123456 y"), "x *** y");  // registered as a secret

  s.etcd_password_file = tmp.Sub("missing");
  auto missing = MakeEtcdOptions(s);
  EXPECT_EQ(missing.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("cannot read --etcd-password-file"), std::string::npos);

  HaSettings tls;
  tls.etcd = {"https://a:2379"};
  tls.etcd_cacert = tmp.Sub("nope.pem");
  EXPECT_NE(MakeEtcdOptions(tls).status().message().find("cannot read --etcd-cacert"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
