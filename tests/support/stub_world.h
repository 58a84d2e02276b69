// The world of the stand-in executables under tests/stubs (helm, terraform,
// tofu): each checks its arguments, reproduces the documented output and
// exit codes, keeps its state in STUB_STATE_DIR and appends every call to
// SLUICE_STUB_LOG. This is the test side: the state dir, the base
// environment that puts tests/stubs first on PATH, and the log read back.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace sluice::testing {

// One invocation of a stand-in, as it appended itself to SLUICE_STUB_LOG:
//   == <program>
//   cwd:<dir>
//   env:<NAME>=<value>      (the variables named in STUB_LOG_ENV)
//   arg:<argument>          (one line each, in order)
//   ==
struct Invocation {
  std::string program;
  std::string cwd;
  std::map<std::string, std::string> env;
  std::vector<std::string> args;
};

// The invocations in the stub log `log`, in order; empty when it does not
// exist. A line it cannot read fails the test (ADD_FAILURE).
std::vector<Invocation> ReadInvocations(const std::string& log);

// A fresh state dir (removed with the object) and the environment to run
// the stand-ins with: PATH (tests/stubs, /usr/bin, /bin), HOME and
// STUB_STATE_DIR (the state dir), SLUICE_STUB_LOG, plus `extra_env` (what an
// adapter's test adds: STUB_LOG_ENV, variables an operator might set).
// Not copyable; not thread-safe.
class StubWorld {
 public:
  explicit StubWorld(const std::map<std::string, std::string>& extra_env = {});
  StubWorld(const StubWorld&) = delete;
  StubWorld& operator=(const StubWorld&) = delete;

  // The stub log's path.
  std::string log() const { return state_.Sub("stub.log"); }
  // A path in the state dir.
  std::string Sub(const std::string& rel) const { return state_.Sub(rel); }
  // The environment to run the stand-ins with; the test may change it.
  std::map<std::string, std::string>& env() { return env_; }
  // ReadInvocations(log()).
  std::vector<Invocation> Invocations() const { return ReadInvocations(log()); }
  // Removes the log: Invocations() then starts afresh.
  void ClearLog() const;

 private:
  TempDir state_;
  std::map<std::string, std::string> env_;
};

}  // namespace sluice::testing
