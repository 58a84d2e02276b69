// The record-signing keys in the controller's --config file (SPEC 1.3
// rule 4): trust.signingKey, trust.controllerKeys.
#include "cli/trust_config.h"

#include <gtest/gtest.h>

#include "cli/controller_config.h"

namespace sluice::cli {
namespace {

TEST(TrustConfigTest, KeysAreReadUnlessGivenAsFlags) {
  ControllerSettings s;
  ASSERT_TRUE(LoadControllerConfig("c.yaml",
                                   "repo: x\ntrust:\n  signingKey: /etc/sluice/key\n"
                                   "  controllerKeys: /etc/sluice/replicas.pub\n"
                                   "  bootstrap: c0ffee0000000000000000000000000000000000\n",
                                   s, {})
                  .ok());
  EXPECT_EQ(s.common.trust.signing_key_file, "/etc/sluice/key");
  EXPECT_EQ(s.common.trust.controller_keys_file, "/etc/sluice/replicas.pub");
  EXPECT_EQ(s.trust_bootstrap, "c0ffee0000000000000000000000000000000000");

  ControllerSettings flags;
  flags.common.trust.signing_key_file = "flag-key";
  ASSERT_TRUE(
      LoadControllerConfig("c.yaml", "trust: {signingKey: file-key}\n", flags, {"--signing-key"})
          .ok());
  EXPECT_EQ(flags.common.trust.signing_key_file, "flag-key");
}

TEST(TrustConfigTest, BadTrustValuesNameTheLine) {
  ControllerSettings s;
  Status unknown = LoadControllerConfig("c.yaml", "repo: x\ntrust:\n  signingkey: k\n", s, {});
  EXPECT_EQ(unknown.message(),
            "c.yaml:3: unknown key 'trust.signingkey' (known: bootstrap, signingKey, "
            "controllerKeys)");
  Status list = LoadControllerConfig("c.yaml", "trust:\n  controllerKeys: [a, b]\n", s, {});
  EXPECT_EQ(list.message(), "c.yaml:2: trust.controllerKeys must be a file path");
  Status scalar = LoadControllerConfig("c.yaml", "trust: yes\n", s, {});
  EXPECT_NE(scalar.message().find("c.yaml:1: trust must be a mapping"), std::string::npos)
      << scalar.message();
}

}  // namespace
}  // namespace sluice::cli
