#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

#include "core/clock.h"

namespace sluice::gates::testing {

// "2026-03-29T00:30:00Z" -> the instant. Tests state instants in UTC so that
// every DST case says exactly which moment it means.
inline TimePoint Utc(const std::string& s) {
  int y, mo, d, h, mi, sec;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &sec) != 6) {
    throw std::invalid_argument("bad test instant " + s);
  }
  // days_from_civil (Howard Hinnant), to stay independent of the code under test.
  y -= mo <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long days = era * 146097L + static_cast<long>(doe) - 719468;
  return TimePoint{} + std::chrono::seconds(days * 86400L + h * 3600L + mi * 60L + sec);
}

}  // namespace sluice::gates::testing
