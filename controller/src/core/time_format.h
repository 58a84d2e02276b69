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

// Parses RFC 3339 ("2026-11-22T05:31:00Z", "2026-11-22T06:31:00+01:00",
// fractional seconds kept to the millisecond). InvalidArgument on anything else.
Result<TimePoint> ParseRfc3339(std::string_view text);

}  // namespace sluice
