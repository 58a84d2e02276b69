#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace sluice::record {

// What one pass did for one (env, app): the summary that `reconcile --once`
// prints, the metrics count and the daemon logs. The record itself is the
// events (record/event.h); this is the pass's view of them.
struct AppOutcome {
  std::string env;
  std::string app;
  std::string commit;  // the candidate commit
  std::string digest;
  // in-sync | verified | applied | failed | blocked | waiting | removed | error,
  // and from drift checks: drift | drift-resolved | error
  std::string state;
  std::string reason;
};

struct PassReport {
  std::string head;
  bool unchanged = false;             // nothing moved since the previous pass of this process
  std::vector<AppOutcome> outcomes;   // only (env, app)s that needed attention
  std::vector<std::string> problems;  // pass-level problems (bad sluice.yaml, ...)
  size_t pins_read = 0;               // pin files parsed in this pass
  size_t drift_checks = 0;            // adapter drift checks run after the pass
  std::chrono::milliseconds duration{0};
};

}  // namespace sluice::record
