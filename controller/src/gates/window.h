#pragma once

#include <string>

#include "config/policy.h"
#include "core/clock.h"
#include "core/status.h"
#include "gates/gate.h"

namespace sluice::gates {

// Returns OK when `name` is an IANA time zone of the system tz database, else
// InvalidArgument naming the zone and suggesting a real one (e.g.
// Europe/Berlin, or the correctly capitalised name). Never throws.
// `sluice validate` may call it; the window and freeze gates do.
Status ValidateTimeZone(const std::string& name);

// The `window` gate. Pure apart from the one-time tz database load; `now` is
// an argument. Thread-safe.
//
// Wall time in `windows.timezone` decides (DST-correct: "10:00-14:00" means
// 10:00-14:00 local on both sides of a switch). A rule's `days` name the day a
// window starts on, so {days: [fri], hours: "22:00-02:00"} covers Friday 22:00
// to Saturday 02:00. Start inclusive, end exclusive; "24:00" is midnight.
//
//   pass  — inside an allowed window (or no window is configured);
//   wait  — outside: the reason names when the next window opens, in local
//           time, and how long until then;
//   block — the time zone is not a real IANA zone (a config error).
//
// Evidence: zone, local (wall time now), matched (the rule, on pass),
// opens (the next opening, on wait).
GateResult EvaluateWindow(const config::Windows& windows, TimePoint now);

// "tue,wed,thu 10:00-14:00" / "every day 22:00-02:00": how a rule is shown.
std::string DescribeWindowRule(const config::WindowRule& rule);

}  // namespace sluice::gates
