// The forge links of `sluice status` and the dashboard: each pin's commit
// on the forge's web pages, derived from the controller's forge settings.
#include <gtest/gtest.h>

#include "reports/status_view.h"

namespace sluice::reports {
namespace {

config::ForgeSettings Forge(const std::string& type, const std::string& api,
                            const std::string& repo) {
  config::ForgeSettings f;
  f.type = type;
  f.api = api;
  f.repo = repo;
  return f;
}

TEST(CommitUrlPrefixTest, GitHubGitHubEnterpriseAndGitLab) {
  EXPECT_EQ(CommitUrlPrefix(Forge("github", "https://api.github.com", "shop/environments")),
            "https://github.com/shop/environments/commit/");
  EXPECT_EQ(CommitUrlPrefix(Forge("github", "https://git.example.com/api/v3/", "shop/envs")),
            "https://git.example.com/shop/envs/commit/");
  EXPECT_EQ(CommitUrlPrefix(Forge("gitlab", "https://gitlab.example.com/api/v4", "ops/shop/envs")),
            "https://gitlab.example.com/ops/shop/envs/-/commit/");
}

TEST(CommitUrlPrefixTest, NoLinkWhenTheWebAddressCannotBeKnown) {
  // A forge stand-in on another path, no repository, no scheme: no link
  // rather than a wrong one.
  EXPECT_EQ(CommitUrlPrefix(Forge("github", "http://127.0.0.1:8080", "shop/envs")), "");
  EXPECT_EQ(CommitUrlPrefix(Forge("gitlab", "https://gitlab.example.com", "shop/envs")), "");
  EXPECT_EQ(CommitUrlPrefix(Forge("github", "https://api.github.com", "")), "");
  EXPECT_EQ(CommitUrlPrefix(Forge("github", "api.github.com", "shop/envs")), "");
}

TEST(CommitUrlPrefixTest, StatusJsonGivesEachPinItsUrl) {
  StatusRow row;
  row.env = "prod";
  row.app = "api";
  row.state = "in-sync";
  row.desired.digest = "sha256:" + std::string(64, 'a');
  row.desired.version = "1.0.0";
  row.desired.commit = std::string(40, 'c');
  row.deployed = row.desired;
  std::vector<StatusRow> rows = {row};
  SetCommitLinks(rows, Forge("github", "https://api.github.com", "shop/envs"));
  const std::string json = RenderStatusJson(rows, -1);
  EXPECT_NE(
      json.find("\"url\":\"https://github.com/shop/envs/commit/" + std::string(40, 'c') + "\""),
      std::string::npos)
      << json;
  EXPECT_NE(json.find("\"lkg\":null"), std::string::npos) << json;
}

}  // namespace
}  // namespace sluice::reports
