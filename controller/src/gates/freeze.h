#pragma once

#include <string>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "gates/gate.h"

namespace sluice::gates {

// The `freeze` gate over every `freezes:` entry of the policy. Date ranges
// (`from`/`to`, both days inclusive) and the days of calendars are wall time
// in `timezone` (the windows' zone; the caller passes "UTC" when the policy
// has no windows). Calendars come from `calendars`, matched by path: .ics is
// parsed with libical (see ParseIcsCalendar), .yaml/.yml is a list of
// {name, from, to}. Recurrences are expanded from now-1y to now+2y.
//
//   pass  — `now` is in no freeze (evidence `next` names the next one);
//   wait  — `now` is in a freeze: the reason names it and when it ends, in
//           local time ("frozen: black-friday until 2026-12-02 00:00
//           Europe/Berlin (in 3d2h)"); back-to-back freezes count as one;
//   block — the zone is not an IANA zone, or a calendar is missing from the
//           evidence (fail closed), unreadable or malformed: the reason names
//           the file and the problem. A block wins over a wait.
//
// Pure apart from the one-time tz database load; thread-safe.
GateResult EvaluateFreezes(const std::vector<config::Freeze>& freezes,
                           const std::vector<CalendarEvidence>& calendars,
                           const std::string& timezone, TimePoint now);

}  // namespace sluice::gates
