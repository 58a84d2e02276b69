#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/pin.h"

namespace sluice::config {

// The order of the apps of one environment (`deploy.dependsOn`, SPEC 1.4):
// dependencies before their dependents. Pure; no I/O.

// One problem of an environment's dependency graph, blamed on the
// `dependsOn` entry of `app` naming `dependency`.
struct OrderProblem {
  std::string app;
  std::string dependency;
  std::string message;             // "deploy.dependsOn names 'x', which is not an app of ..."
  std::vector<std::string> cycle;  // a cycle: its apps, starting at `app`; else empty
};

struct AppOrder {
  // Every app of the graph, each after the apps it depends on; among apps
  // free to go, the one earliest in the input order first. Apps on a cycle
  // (and the apps that depend on them) are left out.
  std::vector<std::string> order;
  std::vector<OrderProblem> problems;  // missing apps, cycles (one per cycle)
  // The apps `problems` leaves without an order: on a cycle, naming a
  // missing app, or depending on one of those, directly or not.
  std::set<std::string> unordered;
};

// Orders `apps` (name → the apps it depends on, in `input_order`; apps not
// in `input_order` follow it by name). A dependency that is not a key of
// `apps` is fine when `known` contains it (an app of the environment
// outside this graph, e.g. one without a pending change) and a problem
// otherwise. A cycle is reported once, at its first app by name:
// "deploy.dependsOn makes a cycle: a → b → a".
AppOrder OrderApps(const std::map<std::string, std::vector<std::string>>& apps,
                   const std::vector<std::string>& input_order, const std::set<std::string>& known,
                   const std::string& env);

// The order problems of one environment's parsed pins as `path:line`
// diagnostics (the line of the `dependsOn` entry at fault). `present` is
// every app with a pin file in the environment, parsed or not, so that a
// dependency on a pin with errors of its own is not called missing.
Diagnostics CheckAppOrder(const std::string& env, const std::vector<const Pin*>& pins,
                          const std::set<std::string>& present);

}  // namespace sluice::config
