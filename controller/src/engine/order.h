#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gates/gate.h"
#include "record/pass_report.h"
#include "record/store.h"
#include "record/workspace.h"

namespace sluice::engine {

// The order of an environment's changes in one pass (`deploy.dependsOn`,
// SPEC 1.4, docs/configuration.md "Order inside an environment").
struct EnvOrder {
  // The changed apps, each after the changed apps it depends on; the apps
  // that cannot be ordered (a cycle, a missing app) come last.
  std::vector<std::string> apps;
  // `deploy.dependsOn` of each changed app, read from its pin at the head
  // (absent: the pin does not parse; the app blocks on that by itself).
  std::map<std::string, std::vector<std::string>> depends_on;
  // Apps refused for an order problem, with the reason ("environments/…:
  // deploy.dependsOn makes a cycle: a -> b -> a; …").
  std::map<std::string, std::string> refused;
};

// Reads the changed pins' `dependsOn` at `head` and orders `changed` (whose
// order — rollbacks first, then by name — is kept where dependencies allow).
// Dependencies on apps without a change are not ordered: they are checked
// by HoldFor when their dependent's turn comes.
EnvOrder OrderChanges(record::Workspace& ws, const std::string& env, const std::string& head,
                      const std::vector<std::string>& changed);

// Whether `app` (its candidate commit `candidate`) may go: nullopt when it
// depends on nothing; kPass with "after migrate verified <time> at <commit>"
// when every dependency is in place; otherwise why it may not go yet.
// A dependency handled earlier in this pass holds it by its outcome
// (waiting, blocked, error → wait; failed → block); one without a change
// holds it when its last release failed (block), or when it was rolled
// back by a commit made after `candidate` (block: the change was made
// against the release that was rolled back).
struct DependencyHold {
  gates::Verdict verdict = gates::Verdict::kWait;
  std::string reason;
};
std::optional<DependencyHold> HoldFor(record::Workspace& ws, record::RecordStore& record,
                                      const std::string& env, const std::string& app,
                                      const std::string& candidate, const EnvOrder& order,
                                      const std::map<std::string, record::AppOutcome>& this_pass);

// The gate name of a dependency hold in events and `plan` ("dependsOn").
inline constexpr char kDependsOnGate[] = "dependsOn";

}  // namespace sluice::engine
