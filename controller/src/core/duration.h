#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice {

// Parses a Go-style duration as used in every Sluice file and flag:
// a sequence of <number><unit> with units ms, s, m, h, d ("90s", "1h30m",
// "2d"). A bare "0" is zero. Returns InvalidArgument naming the text and the
// accepted form otherwise. Negative durations are rejected.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Formats a duration compactly ("1h30m", "45s", "250ms") so that
// ParseDuration(FormatDuration(d)) == d.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace sluice
