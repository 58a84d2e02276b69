#include "core/secrets.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice {
namespace {

TEST(RegisteredSecretsTest, RedactsLongestFirstAndIgnoresShortValues) {
  RegisterSecret("abc");  // too short: redacting it would shred ordinary text
  RegisterSecret("Secret-One-1\n");
  RegisterSecret("Secret-One-1-and-more");
  RegisterSecret("Secret-One-1");  // twice: kept once
  EXPECT_EQ(RedactRegisteredSecrets("abc Secret-One-1-and-more Secret-One-1"), "abc *** ***");
  std::vector<std::string> all = RegisteredSecrets();
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all[0], "Secret-One-1-and-more");
  EXPECT_EQ(std::count(all.begin(), all.end(), "Secret-One-1"), 1);
}

}  // namespace
}  // namespace sluice
