#include "support/env_repo_test.h"

#include <filesystem>

#include "support/git_servers.h"

namespace sluice::testing {

EnvRepoTest::EnvRepoTest() {
  std::filesystem::create_directories(tmp_.Sub("srv"));
  bare_ = MakeBareRepo(tmp_.Sub("srv"), "envs.git");
  CloneRepo(bare_, work());
  Git(work(), {"checkout", "-B", "main"});
}

std::string EnvRepoTest::Push(const std::map<std::string, std::optional<std::string>>& files,
                              const std::string& message) {
  std::string commit = CommitFiles(work(), files, message);
  Git(work(), {"push", "-q", "origin", "HEAD:refs/heads/main"});
  return commit;
}

std::string EnvRepoTest::RemoteRef(const std::string& ref) {
  CommandOutput r = Git(bare_, {"rev-parse", "-q", "--verify", ref}, /*allow_failure=*/true);
  return r.exit_code == 0 ? r.out.substr(0, 40) : "";
}

}  // namespace sluice::testing
