// The local environments repository of the unit tests that read and write a
// real repository without a server: a bare repository and a working clone,
// made with the git CLI. The engine's tests add a reconciler on top
// (support/engine_fixture.h); the integration tests serve theirs through a
// git daemon (tests/integration/env_repo_fixture.h).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "support/temp_dir.h"

namespace sluice::testing {

// A test fixture owning a temp dir with the bare repository srv/envs.git
// (branch main, one initial commit) and a working clone at work/ on branch
// main. Nothing is pushed beyond the initial commit until the test does.
class EnvRepoTest : public ::testing::Test {
 protected:
  EnvRepoTest();

  // Commits `files` (nullopt deletes one) in the working clone with
  // `message` and pushes it to main; returns the commit id (40 hex).
  std::string Push(const std::map<std::string, std::optional<std::string>>& files,
                   const std::string& message = "change");

  // The commit `ref` points at in the bare repository, or "" when it does
  // not exist.
  std::string RemoteRef(const std::string& ref);

  // The working clone's path (tmp_/work).
  std::string work() const { return tmp_.Sub("work"); }

  TempDir tmp_;
  std::string bare_;  // tmp_/srv/envs.git
};

}  // namespace sluice::testing
