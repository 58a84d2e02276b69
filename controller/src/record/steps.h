#pragma once

// Releases with deploy.strategy (SPEC 1.4) in the record: where a canary or
// blue-green release stands, read back from its `step` events, so that a
// restarted controller (or an HA failover) resumes at the recorded step and
// never repeats a finished one.

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "record/event.h"

namespace sluice::record {

// Where an unfinished stepped release stands.
struct StepProgress {
  int next = 0;               // 0-based index of the next step to run
  bool verify_first = false;  // step `next - 1` ran its adapter; its verification has no result
  int weight = 0;             // canary: the weight in force (the last step that set one)
  std::optional<TimePoint> paused_until;  // step `next - 1` is a pause ending then
  std::string slot;                       // blue-green: the slot the release deploys to
  std::string by;                         // controller id that wrote the last step event
  TimePoint at{};                         // when
  std::string line;                       // StepLine of the last step event
  int current = 0;                        // its step (1-based)
  int of = 0;                             // of how many
};

// The progress of the newest release of (env, app) in `events` (the events
// of one commit): nullopt unless its latest `applying` is followed by at
// least one `step` event and by no outcome (applied, verified, failed,
// rolled-back). Events are taken in time order.
std::optional<StepProgress> ReleaseInProgress(std::vector<Event> events, const std::string& env,
                                              const std::string& app);

// One line for people: "canary 50%, verifying", "canary 10%, paused until
// 2026-12-07T10:05:00Z", "canary 0%: traffic back on the old release",
// "blue-green: green deployed, verifying", "blue-green: switched to green".
// "" for an event that is not a step.
std::string StepLine(const Event& e);

}  // namespace sluice::record
