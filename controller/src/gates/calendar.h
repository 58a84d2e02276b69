#pragma once

#include <date/tz.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/result.h"

namespace sluice::gates {

// A span of time in which no release may start: [start, end).
struct FreezePeriod {
  std::string name;  // shown in reasons: the freeze's name or the event's SUMMARY
  TimePoint start;
  TimePoint end;
};

// The freeze of a `{name, from, to}` entry: from local midnight of `from` to
// local midnight after `to` (both days inclusive) in `zone`. A midnight that a
// DST switch skips starts at the switch. InvalidArgument on a malformed date.
Result<FreezePeriod> DateRangeFreeze(const config::Freeze& freeze, const date::time_zone* zone);

// Parses an iCalendar (RFC 5545) text with libical into the freeze periods
// of its VEVENTs that overlap [from, to). Understood: all-day events
// (DTSTART;VALUE=DATE, DTEND exclusive, one day when absent), date-times in
// UTC, with TZID (an IANA name, else the file's own VTIMEZONE) or floating;
// DTEND or DURATION; RRULE (expanded with icalrecur_iterator), RDATE, EXDATE,
// RECURRENCE-ID overrides, and STATUS:CANCELLED (no freeze). All-day and
// floating times are wall times in `zone`.
//
// Returns InvalidArgument saying what is wrong: not an iCalendar file, a line
// or value libical could not parse (its X-LIC-ERROR), an event without
// DTSTART, an unknown TZID, or a recurrence too dense to expand. Never
// throws; no I/O. Thread-safe once libical is configured (done on first use).
Result<std::vector<FreezePeriod>> ParseIcsCalendar(std::string_view text,
                                                   const date::time_zone* zone, TimePoint from,
                                                   TimePoint to);

// Parses a YAML calendar: a list of {name, from, to} (dates, inclusive, in
// `zone`), at the top level or under `freezes:`. InvalidArgument with
// "line N: ..." on a YAML error, a missing key, a bad date or from > to.
Result<std::vector<FreezePeriod>> ParseYamlCalendar(std::string_view text,
                                                    const date::time_zone* zone);

}  // namespace sluice::gates
