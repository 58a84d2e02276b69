#include "core/time_format.h"

#include <cstdio>
#include <ctime>

namespace sluice {

std::string FormatRfc3339(TimePoint t) {
  // floor, not time_point_cast: before 1970 a cast rounds toward zero, to
  // the *next* second, and FormatRfc3339Millis would then add its fraction
  // to that one (found by fuzz/event_fuzz.cc: an event dated 1946 gained a
  // second each time it was written and read).
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatRfc3339Millis(TimePoint t) {
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  if (ms < 0) ms += 1000;
  std::string out = FormatRfc3339(t);
  if (ms == 0) return out;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms));
  out.insert(out.size() - 1, frac);
  return out;
}

Result<TimePoint> ParseRfc3339(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid time \"" + std::string(text) +
                                   "\": expected RFC 3339, e.g. 2026-11-22T10:00:00Z or "
                                   "2026-11-22T11:00:00+01:00");
  };
  std::string s(text);
  int y, mo, d, h, mi, sec;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) !=
          6 ||
      consumed != 19) {
    if (s.size() > 10 && (s[10] == 't' || s[10] == ' ')) {
      s[10] = 'T';
      if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                      &consumed) != 6 ||
          consumed != 19)
        return bad();
    } else {
      return bad();
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad();
  if (y < kMinYear || y > kMaxYear) {
    return Status::InvalidArgument("invalid time \"" + std::string(text) +
                                   "\": the year is not in " + std::to_string(kMinYear) + " to " +
                                   std::to_string(kMaxYear));
  }
  size_t i = 19;
  long millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    long scale = 100;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      millis += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return bad();
  }
  long offset_secs = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (s.size() - i != 6 || std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return bad();
    offset_secs = (oh * 3600L + om * 60L) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::time_t utc = timegm(&tm);
  return std::chrono::system_clock::from_time_t(utc - offset_secs) +
         std::chrono::milliseconds(millis);
}

}  // namespace sluice
