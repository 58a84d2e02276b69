#include "config/app_order.h"

#include <algorithm>
#include <functional>

#include "config/repository_config.h"
#include "config/yaml_reader.h"

namespace sluice::config {
namespace {

std::string Names(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

AppOrder OrderApps(const std::map<std::string, std::vector<std::string>>& apps,
                   const std::vector<std::string>& input_order, const std::set<std::string>& known,
                   const std::string& env) {
  AppOrder out;
  // Position of each app: input order first, the rest by name.
  std::map<std::string, size_t> rank;
  for (const auto& a : input_order) {
    if (apps.count(a) && !rank.count(a)) rank.emplace(a, rank.size());
  }
  for (const auto& [a, deps] : apps) {
    if (!rank.count(a)) rank.emplace(a, rank.size());
  }

  std::set<std::string> all_apps = known;
  for (const auto& [a, deps] : apps) all_apps.insert(a);
  std::set<std::string> bad;  // apps that cannot be ordered themselves
  for (const auto& [a, deps] : apps) {
    for (const auto& d : deps) {
      if (apps.count(d) || known.count(d)) continue;
      std::set<std::string> others = all_apps;
      others.erase(a);
      out.problems.push_back(
          {a,
           d,
           "deploy.dependsOn names '" + internal::Quote(d) + "', which is not an app of " + env +
               " (no environments/" + env + "/apps/" + internal::Quote(d) + ".yaml)" +
               (others.empty() ? "" : "; apps of " + env + ": " + Names(others)) +
               "; fix the name or remove it",
           {}});
      bad.insert(a);
    }
  }

  // Cycles: a depth-first search over the graph's own apps, in name order so
  // the message is stable; each cycle reported once, from its first app.
  enum class Mark { kNew, kOpen, kDone };
  std::map<std::string, Mark> mark;
  std::vector<std::string> stack;
  std::function<void(const std::string&)> visit = [&](const std::string& a) {
    mark[a] = Mark::kOpen;
    stack.push_back(a);
    for (const auto& d : apps.at(a)) {
      if (!apps.count(d)) continue;
      Mark m = mark.count(d) ? mark[d] : Mark::kNew;
      if (m == Mark::kNew) {
        visit(d);
      } else if (m == Mark::kOpen) {
        auto from = std::find(stack.begin(), stack.end(), d);
        std::vector<std::string> cycle(from, stack.end());
        // Start the cycle at its first app by name.
        auto first = std::min_element(cycle.begin(), cycle.end());
        std::rotate(cycle.begin(), first, cycle.end());
        std::string path;
        for (const auto& c : cycle) path += c + " -> ";
        path += cycle.front();
        const std::string& next = cycle.size() > 1 ? cycle[1] : cycle[0];
        out.problems.push_back({cycle.front(), next,
                                "deploy.dependsOn makes a cycle: " + path +
                                    "; an order needs one of these dependencies removed",
                                cycle});
        for (const auto& c : cycle) bad.insert(c);
      }
    }
    stack.pop_back();
    mark[a] = Mark::kDone;
  };
  for (const auto& [a, deps] : apps) {
    if (!mark.count(a)) visit(a);
  }

  // Dependents of unorderable apps are unordered too.
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [a, deps] : apps) {
      if (bad.count(a)) continue;
      if (std::any_of(deps.begin(), deps.end(),
                      [&](const std::string& d) { return bad.count(d) > 0; })) {
        bad.insert(a);
        grew = true;
      }
    }
  }
  out.unordered = bad;

  // Kahn's algorithm; among the apps free to go, the lowest rank first.
  std::map<std::string, size_t> pending;  // unmet dependencies inside the graph
  for (const auto& [a, deps] : apps) {
    if (bad.count(a)) continue;
    size_t n = 0;
    for (const auto& d : deps) n += apps.count(d) ? 1 : 0;
    pending[a] = n;
  }
  std::set<std::pair<size_t, std::string>> ready;
  for (const auto& [a, n] : pending) {
    if (n == 0) ready.insert({rank[a], a});
  }
  while (!ready.empty()) {
    std::string a = ready.begin()->second;
    ready.erase(ready.begin());
    out.order.push_back(a);
    for (auto& [b, n] : pending) {
      const auto& deps = apps.at(b);
      if (std::find(deps.begin(), deps.end(), a) != deps.end() && --n == 0) {
        ready.insert({rank[b], b});
      }
    }
  }
  return out;
}

Diagnostics CheckAppOrder(const std::string& env, const std::vector<const Pin*>& pins,
                          const std::set<std::string>& present) {
  std::map<std::string, std::vector<std::string>> graph;
  std::map<std::pair<std::string, std::string>, int> lines;
  for (const Pin* p : pins) {
    auto& deps = graph[p->app];
    for (const auto& d : p->deploy.depends_on) {
      deps.push_back(d.app);
      lines[{p->app, d.app}] = d.line;
    }
  }
  AppOrder order = OrderApps(graph, {}, present, env);
  Diagnostics out;
  for (const auto& problem : order.problems) {
    auto it = lines.find({problem.app, problem.dependency});
    out.push_back({PinPath(env, problem.app), it == lines.end() ? 0 : it->second, problem.message});
  }
  return out;
}

}  // namespace sluice::config
