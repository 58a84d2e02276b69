// The fixture of the tests that run real reconciler passes over a real
// repository (engine, notify): the local environments repository
// (support/env_repo_test.h) plus the reconciler's dependencies, with an
// injected clock. Lives in sluice_test_engine, so tests that do not need
// the engine do not link it.
#pragma once

#include <memory>

#include "core/cancel.h"
#include "core/clock.h"
#include "engine/reconciler.h"
#include "git/repo.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "record/workspace.h"
#include "support/env_repo_test.h"
#include "verify/verifier.h"

namespace sluice::testing {

// EnvRepoTest plus a FakeClock at `start`, a real HttpClient, verifier and
// command runner, and a cancel token, all borrowed by the reconcilers and
// workspaces it makes (which the test owns and destroys first).
class EngineFixture : public EnvRepoTest {
 protected:
  // 2026-11-24T09:00:00Z, a Tuesday.
  static TimePoint DefaultStart();
  explicit EngineFixture(TimePoint start = DefaultStart());

  // The controller's workspace on tmp_/workdir over the bare repository;
  // fails the test and returns null when it cannot be opened.
  std::unique_ptr<record::Workspace> OpenWorkspace();

  // A reconciler over `ws` with this fixture's dependencies.
  std::unique_ptr<engine::Reconciler> MakeReconciler(record::Workspace& ws,
                                                     engine::ReconcileOptions options = {});

  git::LibGit2 libgit2_;
  FakeClock clock_;
  net::CurlHttpClient http_;
  verify::CheckVerifier verifier_;
  process::BoostCommandRunner runner_;
  CancelToken cancel_;
};

}  // namespace sluice::testing
