#include "git/credentials.h"

#include <gtest/gtest.h>

#include "core/secrets.h"

namespace sluice::git {
namespace {

TEST(SplitUrlCredentialsTest, TakesThePasswordOutAndKeepsTheUser) {
  UrlParts p = SplitUrlCredentials("https://bot:s3cr%40t@git.example.com:8443/envs.git");
  EXPECT_EQ(p.url, "https://bot@git.example.com:8443/envs.git");
  EXPECT_EQ(p.username, "bot");
  EXPECT_EQ(p.password, "s3cr@t");
}

TEST(SplitUrlCredentialsTest, LeavesUrlsWithoutPasswordsAlone) {
  for (const std::string url :
       {"https://git.example.com/envs.git", "ssh://git@git.example.com/envs.git",
        "git@git.example.com:shop/envs.git", "/srv/git/envs.git", "git://h/x@y"}) {
    UrlParts p = SplitUrlCredentials(url);
    EXPECT_EQ(p.url, url);
    EXPECT_TRUE(p.password.empty()) << url;
  }
  EXPECT_EQ(SplitUrlCredentials("ssh://git@h/x").username, "git");
}

TEST(SplitUrlCredentialsTest, AnAtSignInThePathIsNotUserInfo) {
  UrlParts p = SplitUrlCredentials("https://h.example.com/a@b/c.git");
  EXPECT_EQ(p.url, "https://h.example.com/a@b/c.git");
  EXPECT_TRUE(p.username.empty());
}

TEST(AdoptUrlCredentialsTest, RemembersThePasswordForTheRedactedUrlAndRegistersIt) {
  std::string shown = AdoptUrlCredentials("http://alice:Adopt-Me-4711@h.example.com:1/x.git");
  EXPECT_EQ(shown, "http://alice@h.example.com:1/x.git");
  // Idempotent: the shown URL adopts nothing and keeps what was remembered.
  EXPECT_EQ(AdoptUrlCredentials(shown), shown);
  ASSERT_TRUE(ProcessCredentials().password.empty()) << "run without SLUICE_GIT_PASSWORD";
  Credentials c = CredentialsForUrl(shown);
  EXPECT_EQ(c.password, "Adopt-Me-4711");
  EXPECT_EQ(c.password_source, "the password of the repository URL");
  EXPECT_EQ(RedactRegisteredSecrets("auth failed with Adopt-Me-4711"), "auth failed with ***");
}

}  // namespace
}  // namespace sluice::git
