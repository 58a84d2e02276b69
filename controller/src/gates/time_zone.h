#pragma once

#include <date/tz.h>

#include <chrono>
#include <string>

#include "core/clock.h"
#include "core/result.h"

namespace sluice::gates {

// Time-zone helpers shared by the window and freeze gates. They read the
// system tz database (/usr/share/zoneinfo) through howardhinnant date; the
// database is loaded once per process and is immutable afterwards, so every
// function here is thread-safe and, apart from that one-time load, pure.

// Returns the IANA zone `name` ("Europe/Berlin"), or InvalidArgument naming
// it and suggesting a real name (a case-insensitive match when there is one).
// Never throws: date::locate_zone does, and is caught here. The pointer is
// owned by the tz database and lives as long as the process.
Result<const date::time_zone*> LocateTimeZone(const std::string& name);

// The instant at which local wall time `t` happens in `zone`. A wall time
// skipped by a DST switch (02:30 on the spring-forward night) maps to the
// switch instant (the first existing moment after it); a wall time that
// happens twice (the fall-back night) maps to its first occurrence.
TimePoint LocalToSys(const date::time_zone* zone, date::local_seconds t);

// The wall time in `zone` at instant `t`, to the second.
date::local_seconds SysToLocal(const date::time_zone* zone, TimePoint t);

// "Tue 10:00" — short, for reasons.
std::string FormatLocalShort(const date::time_zone* zone, TimePoint t);

// "2026-12-02 00:00" — for reasons that name a day.
std::string FormatLocalDateTime(const date::time_zone* zone, TimePoint t);

// "2026-03-29T03:00:00+02:00 CEST" — for evidence.
std::string FormatLocalIso(const date::time_zone* zone, TimePoint t);

// "2026-03-29T01:00:00Z" — for evidence.
std::string FormatUtcIso(TimePoint t);

// A compact human duration: "45s", "20m", "3h20m", "2d3h". Durations of a
// minute or more are rounded up to the minute, so "in 1m" never lies about a
// wait of 61 seconds; negative durations print as "0s".
std::string FormatDuration(std::chrono::seconds d);

}  // namespace sluice::gates
