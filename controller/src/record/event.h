#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace sluice::record {

// The schema version written into every event line. Readers accept this and
// every older version, and ignore fields they do not know.
inline constexpr int kEventSchema = 1;

enum class EventKind {
  kWaiting,
  kBlocked,
  kApplying,
  kApplied,
  kVerified,
  kFailed,
  kRolledBack,
  kDrift,
  // One step of a release with deploy.strategy (SPEC 1.4): a canary weight
  // or pause, a blue-green deploy or switch; see Event::step.
  kStep,
};

// "waiting", "blocked", ... as in SPEC section 6.
std::string_view EventKindName(EventKind kind);
std::optional<EventKind> ParseEventKind(std::string_view name);

// One gate's verdict as recorded ("pass" | "wait" | "block").
struct GateRecord {
  std::string name;
  std::string result;
  std::string reason;
  // A wait's end when known (a window's opening, a soak's end): readers
  // say how far off it is when they read, not when it was written.
  std::optional<TimePoint> until;
  bool operator==(const GateRecord&) const = default;
};

struct AdapterRecord {
  std::string name;  // helm | terraform | exec
  int exit_code = -1;
  std::int64_t duration_ms = 0;
  bool operator==(const AdapterRecord&) const = default;
};

// One line of a note under refs/notes/sluice: what the controller decided or
// did for one (env, app) at one commit. Serialised as compact JSON with a
// stable key order so `git log --notes=sluice` stays readable.
struct Event {
  int schema = kEventSchema;
  TimePoint time{};
  std::string env;
  std::string app;
  EventKind kind = EventKind::kWaiting;
  std::string digest;
  std::string version;  // the pin's artifact.version, informative
  std::string commit;   // environments-repo commit acted on
  // The commit that brought this pin onto the branch (the merge, squash or
  // direct push; often `commit` itself): who proposed the change. Written
  // where the controller knows it; "" in records written before it existed.
  std::string landing;
  std::vector<GateRecord> gates;
  std::vector<std::string> approvers;
  std::optional<AdapterRecord> adapter;
  std::string reason;           // one line: why (blocked, failed, rolled back...)
  std::string output;           // failing adapter's output tail, redacted, bounded
  bool interrupted = false;     // the apply was cut short (shutdown/crash): retry it
  std::string rollback_target;  // a rollback: the verified commit whose pin it restores
  std::string previous;         // applied/rolled-back/verified: the commit deployed before
  // A `drift` event saying that an earlier drift is gone: what runs is the
  // deployed pin again ("resolved": true in JSON).
  bool resolved = false;
  // A `step` event (deploy.strategy, SPEC 1.4). `step` is 1-based (0: not a
  // step event) of `steps`; `weight` the canary weight the step set (0: the
  // traffic went back to the old release); `slot` the blue-green slot;
  // `action` deploy | switch | pause | abort; `phase` applying (the adapter
  // runs) | verifying (it ran; verification runs) | verified | paused (until
  // `until`) | failed.
  int step = 0;
  int steps = 0;
  std::optional<int> weight;
  std::string slot;
  std::string action;
  std::string phase;
  std::optional<TimePoint> until;
  std::string controller_id;  // instance id
  std::string controller_version;

  bool operator==(const Event&) const = default;
};

// One JSON object, no trailing newline.
std::string EventToJsonLine(const Event& e);

// Parses one line. InvalidArgument for a line that is not an event object.
Result<Event> ParseEventLine(std::string_view line);

// All events of a note, in order; lines that are not events (hand-written
// text, a future format) are skipped.
std::vector<Event> ParseNote(std::string_view note_text);

// The last event for (env, app) in `events`, if any: the newest by its
// time, and of events with the same time the later one in `events`. By time
// rather than by position because a note is a union of what several writers
// pushed: a replica killed before its journal reached the remote pushes it
// when it restarts, and those lines land after the events the environment's
// new owner wrote meanwhile (high availability, docs/record.md).
const Event* LastEventFor(const std::vector<Event>& events, const std::string& env,
                          const std::string& app);

}  // namespace sluice::record
