#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::record {

// How one (env, app) ended a pass. The names (OutcomeName) are what
// `reconcile --format json`, the logs and sluice_outcomes_total{state} show.
enum class Outcome {
  kInSync,         // "in-sync": deployed = desired
  kApplied,        // "applied": applied, no verification configured
  kVerified,       // "verified": applied and verified
  kRolledBack,     // "rolled-back": a rollback applied (and verified, if checks are set)
  kFailed,         // "failed": the apply or its verification failed
  kBlocked,        // "blocked": a gate blocks; a person must act
  kWaiting,        // "waiting": a gate will pass by itself (soak, window)
  kRemoved,        // "removed": the pin left the repository
  kError,          // "error": the change could not be judged, applied or recorded
  kDrift,          // "drift": a drift check found the deployment changed
  kDriftResolved,  // "drift-resolved": a drift found earlier is gone
};

std::string_view OutcomeName(Outcome outcome);
// The outcome named `name` (OutcomeName's inverse), or nullopt.
std::optional<Outcome> ParseOutcome(std::string_view name);

// Whether `outcome` put a release in place this pass (applied, verified or
// rolled back).
inline bool Deployed(Outcome outcome) {
  return outcome == Outcome::kApplied || outcome == Outcome::kVerified ||
         outcome == Outcome::kRolledBack;
}

// What one pass did for one (env, app): the summary that `reconcile --once`
// prints, the metrics count and the daemon logs. The record itself is the
// events (record/event.h); this is the pass's view of them.
struct AppOutcome {
  std::string env;
  std::string app;
  std::string commit;  // the candidate commit
  std::string digest;
  Outcome state = Outcome::kError;
  std::string reason;
};

// The commit status one environment got on one open pull request (gate
// results on the pull request, engine/pull_request_checks.h).
struct PullRequestStatus {
  std::string change;  // "#7" or "!7"
  std::string head;    // the pull request's head commit
  std::string env;
  std::string state;        // pending | success | failure
  std::string description;  // the gate summary, as posted
  bool posted = false;      // posted by this pass (it changed, or was never posted)
  std::string error;        // the forge refused it ("" when posted or unchanged)
};

struct PassReport {
  std::string head;
  bool unchanged = false;             // nothing moved since the previous pass of this process
  std::vector<AppOutcome> outcomes;   // only (env, app)s that needed attention
  std::vector<std::string> problems;  // pass-level problems (bad sluice.yaml, ...)
  size_t pins_read = 0;               // pin files parsed in this pass
  size_t drift_checks = 0;            // adapter drift checks run after the pass
  std::chrono::milliseconds duration{0};
  // Commit statuses of open pull requests (forge configured), and what kept
  // them from being posted; neither changes the pass's exit code: a forge
  // error never holds a release.
  std::vector<PullRequestStatus> pull_requests;
  std::vector<std::string> pull_request_problems;
};

}  // namespace sluice::record
