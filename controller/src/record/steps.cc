#include "record/steps.h"

#include <algorithm>

#include "core/time_format.h"

namespace sluice::record {

std::optional<StepProgress> ReleaseInProgress(std::vector<Event> events, const std::string& env,
                                              const std::string& app) {
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });
  const Event* last_step = nullptr;
  int weight = 0;
  bool started = false;
  for (const Event& e : events) {
    if (e.env != env || e.app != app) continue;
    switch (e.kind) {
      case EventKind::kApplying:
        started = true;
        last_step = nullptr;
        weight = 0;
        break;
      case EventKind::kApplied:
      case EventKind::kVerified:
      case EventKind::kRolledBack:
      case EventKind::kFailed:
        started = false;
        last_step = nullptr;
        break;
      case EventKind::kStep:
        if (!started || e.step <= 0) break;
        last_step = &e;
        if (e.weight && e.action != "pause") weight = *e.weight;
        break;
      default:
        break;
    }
  }
  if (!started || last_step == nullptr) return std::nullopt;
  const Event& s = *last_step;
  StepProgress p;
  p.weight = weight;
  p.slot = s.slot;
  p.by = s.controller_id;
  p.at = s.time;
  p.line = StepLine(s);
  p.current = s.step;
  p.of = s.steps;
  if (s.phase == "applying") {
    p.next = s.step - 1;  // cut short: the step never finished, run it again
  } else if (s.phase == "verifying") {
    p.next = s.step;
    p.verify_first = true;
  } else if (s.phase == "paused") {
    p.next = s.step;
    p.paused_until = s.until;
  } else {
    p.next = s.step;
  }
  return p;
}

std::string StepLine(const Event& e) {
  if (e.kind != EventKind::kStep || e.step <= 0) return "";
  std::string phase = e.phase;
  if (!e.slot.empty()) {
    if (e.action == "switch") {
      if (phase == "applying") return "blue-green: switching to " + e.slot;
      if (phase == "failed") return "blue-green: switch to " + e.slot + " failed";
      return "blue-green: switched to " + e.slot;
    }
    if (e.action == "abort") return "blue-green: traffic back on " + e.slot;
    if (phase == "applying") return "blue-green: deploying to " + e.slot;
    return "blue-green: " + e.slot + " " + (phase == "verifying" ? "deployed, verifying" : phase);
  }
  const std::string weight = e.weight ? std::to_string(*e.weight) + "%" : "?%";
  if (e.action == "abort") {
    return "canary 0%: " + std::string(phase == "failed" ? "returning traffic to the old release "
                                                           "failed"
                                                         : "traffic back on the old release");
  }
  if (phase == "paused") {
    return "canary " + weight + ", paused" + (e.until ? " until " + FormatRfc3339(*e.until) : "");
  }
  return "canary " + weight + ", " + phase;
}

}  // namespace sluice::record
