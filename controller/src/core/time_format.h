#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace sluice {

// Formats `t` as RFC 3339 UTC with second precision: "2026-11-22T05:31:00Z".
std::string FormatRfc3339(TimePoint t);

// Like FormatRfc3339, with milliseconds when they are not zero:
// "2026-11-22T05:31:00.250Z". Used for record events, whose order matters
// within a second.
std::string FormatRfc3339Millis(TimePoint t);

// The years every parser of dates and times accepts. A TimePoint counts
// nanoseconds in 64 bits (the years 1678 to 2262): a date outside these years
// would overflow it; the margin covers zone offsets and event lengths.
inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2199;

// Parses RFC 3339 ("2026-11-22T05:31:00Z", "2026-11-22T06:31:00+01:00",
// fractional seconds kept to the millisecond). InvalidArgument on anything
// else, and on a year outside kMinYear to kMaxYear.
Result<TimePoint> ParseRfc3339(std::string_view text);

}  // namespace sluice
