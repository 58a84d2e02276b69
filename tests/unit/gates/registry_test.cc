#include "gates/registry.h"

#include <gtest/gtest.h>

namespace sluice::gates {
namespace {

TEST(RegistryGateTest, PassesWhenTheDigestExists) {
  GateResult r =
      EvaluateRegistry(RegistryEvidence{true, "", "application/vnd.oci.image.manifest.v1+json"});
  EXPECT_EQ(r.name, "registry");
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.reason;
}

TEST(RegistryGateTest, BlocksWhenTheDigestIsNotInTheRegistry) {
  GateResult r = EvaluateRegistry(RegistryEvidence{false, "", ""});
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("digest not in registry"), std::string::npos) << r.reason;
}

TEST(RegistryGateTest, RegistryDownBlocksWithAClearReason) {
  GateResult r = EvaluateRegistry(
      RegistryEvidence{false, "GET https://registry.example.com/v2/: connection refused", ""});
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_EQ(r.reason,
            "cannot confirm the digest is in the registry: GET "
            "https://registry.example.com/v2/: connection refused");
  // An error wins even if `exists` were somehow set.
  EXPECT_EQ(EvaluateRegistry(RegistryEvidence{true, "timeout", ""}).verdict, Verdict::kBlock);
}

TEST(RegistryGateTest, BlocksWithoutEvidence) {
  GateResult r = EvaluateRegistry(std::nullopt);
  EXPECT_EQ(r.verdict, Verdict::kBlock);
  EXPECT_NE(r.reason.find("fail closed"), std::string::npos);
}

}  // namespace
}  // namespace sluice::gates
