#include "engine/order.h"

#include <algorithm>

#include "config/app_order.h"
#include "config/pin.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "record/refs.h"

namespace sluice::engine {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The last event of an apply of (env, app) in `events` (drift findings and
// earlier verdicts on the same commit do not count), or nullptr.
const record::Event* LastReleaseEvent(const std::vector<record::Event>& events,
                                      const std::string& env, const std::string& app) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->env != env || it->app != app) continue;
    if (it->kind == record::EventKind::kDrift || it->kind == record::EventKind::kWaiting ||
        it->kind == record::EventKind::kBlocked) {
      continue;
    }
    return &*it;
  }
  return nullptr;
}

// A dependency's reason inside its dependent's: "(no reason)" when empty.
std::string Inner(const std::string& reason) { return reason.empty() ? "no reason given" : reason; }

}  // namespace

EnvOrder OrderChanges(record::Workspace& ws, const std::string& env, const std::string& head,
                      const std::vector<std::string>& changed) {
  EnvOrder out;
  std::set<std::string> known;  // every app with a pin at the head
  {
    std::lock_guard lock(ws.mutex());
    git::Repository& repo = ws.repo();
    if (auto names = repo.ListDir(head, config::AppsDir(env)); names.ok()) {
      for (const auto& n : *names) {
        if (!n.empty() && n[0] != '.' && EndsWith(n, ".yaml"))
          known.insert(n.substr(0, n.size() - 5));
      }
    }
    for (const auto& app : changed) {
      const std::string path = config::PinPath(env, app);
      auto text = repo.ReadFile(head, path);
      if (!text.ok()) continue;
      config::Diagnostics diags;
      auto pin = config::ParsePin(*text, path, diags);
      if (!pin) continue;
      auto& deps = out.depends_on[app];
      for (const auto& d : pin->deploy.depends_on) deps.push_back(d.app);
    }
  }
  std::map<std::string, std::vector<std::string>> graph;
  for (const auto& app : changed) {
    auto it = out.depends_on.find(app);
    graph[app] = it == out.depends_on.end() ? std::vector<std::string>{} : it->second;
  }
  config::AppOrder order = config::OrderApps(graph, changed, known, env);
  out.apps = order.order;
  for (const auto& p : order.problems) {
    std::vector<std::string> blamed = p.cycle.empty() ? std::vector<std::string>{p.app} : p.cycle;
    for (const auto& app : blamed) {
      std::string& reason = out.refused[app];
      if (reason.empty()) reason = config::PinPath(env, p.app) + ": " + p.message;
    }
  }
  // The apps that cannot be ordered: those with a problem of their own
  // first, then their dependents, in the input order.
  for (bool own : {true, false}) {
    for (const auto& app : changed) {
      if (order.unordered.count(app) && (out.refused.count(app) > 0) == own) {
        out.apps.push_back(app);
      }
    }
  }
  for (const auto& app : changed) {
    if (!order.unordered.count(app) || out.refused.count(app)) continue;
    for (const auto& d : graph[app]) {
      if (order.unordered.count(d)) {
        out.refused[app] = "dependency " + d + " cannot be ordered (a deploy.dependsOn " +
                           "problem); fix it first";
        break;
      }
    }
  }
  return out;
}

std::optional<DependencyHold> HoldFor(record::Workspace& ws, record::RecordStore& record,
                                      const std::string& env, const std::string& app,
                                      const std::string& candidate, const EnvOrder& order,
                                      const std::map<std::string, record::AppOutcome>& this_pass) {
  if (auto refused = order.refused.find(app); refused != order.refused.end()) {
    return DependencyHold{gates::Verdict::kBlock, refused->second};
  }
  auto deps = order.depends_on.find(app);
  if (deps == order.depends_on.end()) return std::nullopt;
  if (deps->second.empty()) return std::nullopt;
  std::vector<std::string> in_place;  // "migrate verified 2026-…Z at c0ffee1234ab"
  for (const auto& dep : deps->second) {
    const bool changed = std::find(order.apps.begin(), order.apps.end(), dep) != order.apps.end();
    if (changed) {
      auto it = this_pass.find(dep);
      if (it == this_pass.end()) {
        return DependencyHold{gates::Verdict::kWait,
                              "waiting for dependency " + dep + ": its change is not handled yet"};
      }
      const record::AppOutcome& o = it->second;
      if (o.state == record::Outcome::kFailed) {
        return DependencyHold{gates::Verdict::kBlock,
                              "dependency " + dep + " failed: " + Inner(o.reason)};
      }
      if (!record::Deployed(o.state) && o.state != record::Outcome::kInSync) {
        return DependencyHold{gates::Verdict::kWait, "waiting for dependency " + dep + " (" +
                                                         std::string(record::OutcomeName(o.state)) +
                                                         "): " + Inner(o.reason)};
      }
    }
    // In place (now or earlier): its last release must not have failed, nor
    // have been rolled back after this change was made.
    std::optional<std::string> deployed = record.Ref(record::DeployedRef(env, dep));
    if (!deployed) {  // a changed dependency just verified always has one
      in_place.push_back(dep);
      continue;
    }
    std::vector<record::Event> events = record.EventsFor(*deployed, env, dep);
    const record::Event* last = LastReleaseEvent(events, env, dep);
    if (!last) {
      in_place.push_back(dep + " at " + ShortId(*deployed));
      continue;
    }
    if (last->kind == record::EventKind::kFailed) {
      return DependencyHold{gates::Verdict::kBlock,
                            "dependency " + dep + " failed at " + ShortId(*deployed) + ": " +
                                Inner(last->reason) + "; fix " + dep + " or roll it back"};
    }
    if (!last->rollback_target.empty() && *deployed != candidate) {
      bool before = false;
      {
        std::lock_guard lock(ws.mutex());
        auto a = ws.repo().IsAncestor(candidate, *deployed);
        before = a.ok() && *a;
      }
      if (before) {
        return DependencyHold{
            gates::Verdict::kBlock,
            "dependency " + dep + " was rolled back by " + ShortId(*deployed) + " (to " +
                ShortId(last->rollback_target) + ") after this change was made; release " + dep +
                " forward, or edit " + app + "'s pin to deploy it against the rolled-back " + dep};
      }
    }
    in_place.push_back(dep + " " + std::string(record::EventKindName(last->kind)) + " " +
                       FormatRfc3339(last->time) + " at " + ShortId(*deployed));
  }
  return DependencyHold{gates::Verdict::kPass, "after " + Join(in_place, ", ")};
}

}  // namespace sluice::engine
