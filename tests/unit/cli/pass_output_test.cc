// The exit code of `sluice reconcile --once` (SPEC section 7).
#include "cli/pass_output.h"

#include <gtest/gtest.h>

#include "cli/app.h"

namespace sluice::cli {
namespace {

record::PassReport WithStates(std::initializer_list<const char*> states) {
  record::PassReport r;
  for (const char* s : states) {
    r.outcomes.push_back({"dev", "api", "c0ffee", "", record::ParseOutcome(s).value(), ""});
  }
  return r;
}

TEST(PassExitCodeTest, NormalOutcomesExitZero) {
  EXPECT_EQ(PassExitCode(WithStates({})), kExitOk);
  EXPECT_EQ(PassExitCode(WithStates({"in-sync", "applied", "verified", "rolled-back", "blocked",
                                     "waiting", "removed", "drift", "drift-resolved"})),
            kExitOk);
}

TEST(PassExitCodeTest, AnErroredOrFailedChangeExitsOne) {
  EXPECT_EQ(PassExitCode(WithStates({"verified", "error"})), kExitError);
  EXPECT_EQ(PassExitCode(WithStates({"failed", "blocked"})), kExitError);
}

TEST(PassExitCodeTest, APassLevelProblemExitsOne) {
  record::PassReport r = WithStates({"verified"});
  r.problems.push_back("sluice.yaml:1: pipeline: expected a list");
  EXPECT_EQ(PassExitCode(r), kExitError);
}

}  // namespace
}  // namespace sluice::cli
