#include "gates/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>

namespace sluice::gates {
namespace {

constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string TwoDigits(long v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02ld", v);
  return buf;
}

std::string Date(date::local_days d) {
  date::year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string Clock(date::local_seconds t, bool seconds) {
  auto day = date::floor<date::days>(t);
  date::hh_mm_ss<std::chrono::seconds> hms{t - day};
  std::string s = TwoDigits(hms.hours().count()) + ":" + TwoDigits(hms.minutes().count());
  if (seconds) s += ":" + TwoDigits(hms.seconds().count());
  return s;
}

}  // namespace

Result<const date::time_zone*> LocateTimeZone(const std::string& name) {
  const std::string hint =
      "use an IANA time zone name such as Europe/Berlin, America/New_York or UTC";
  if (name.empty()) return Status::InvalidArgument("windows.timezone is empty; " + hint);
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // Not found (date throws std::runtime_error), or no tz database at all.
  }
  try {
    const date::tzdb& db = date::get_tzdb();
    const std::string want = Lower(name);
    for (const date::time_zone& z : db.zones) {
      if (Lower(std::string(z.name())) == want) {
        return Status::InvalidArgument("unknown time zone '" + name + "'; did you mean " +
                                       std::string(z.name()) + "? (names are case-sensitive)");
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot look up time zone '" + name +
                                   "': the system time zone database is unavailable (" + e.what() +
                                   "); install tzdata");
  }
  return Status::InvalidArgument("unknown time zone '" + name + "'; " + hint);
}

TimePoint LocalToSys(const date::time_zone* zone, date::local_seconds t) {
  return zone->to_sys(t, date::choose::earliest);
}

date::local_seconds SysToLocal(const date::time_zone* zone, TimePoint t) {
  return zone->to_local(date::floor<std::chrono::seconds>(t));
}

std::string FormatLocalShort(const date::time_zone* zone, TimePoint t) {
  date::local_seconds l = SysToLocal(zone, t);
  date::weekday wd{date::floor<date::days>(l)};
  return std::string(kWeekdays[wd.c_encoding()]) + " " + Clock(l, false);
}

std::string FormatLocalDateTime(const date::time_zone* zone, TimePoint t) {
  date::local_seconds l = SysToLocal(zone, t);
  return Date(date::floor<date::days>(l)) + " " + Clock(l, false);
}

std::string FormatLocalIso(const date::time_zone* zone, TimePoint t) {
  auto s = date::floor<std::chrono::seconds>(t);
  date::sys_info info = zone->get_info(s);
  date::local_seconds l = zone->to_local(s);
  long off = static_cast<long>(info.offset.count());
  char sign = off < 0 ? '-' : '+';
  off = off < 0 ? -off : off;
  return Date(date::floor<date::days>(l)) + "T" + Clock(l, true) + sign + TwoDigits(off / 3600) +
         ":" + TwoDigits((off % 3600) / 60) + " " + info.abbrev;
}

std::string FormatUtcIso(TimePoint t) {
  date::local_seconds l{date::floor<std::chrono::seconds>(t).time_since_epoch()};
  return Date(date::floor<date::days>(l)) + "T" + Clock(l, true) + "Z";
}

std::string FormatDuration(std::chrono::seconds d) {
  using std::chrono::seconds;
  if (d <= seconds(0)) return "0s";
  if (d < seconds(60)) return std::to_string(d.count()) + "s";
  long minutes = static_cast<long>((d.count() + 59) / 60);
  std::string out;
  if (minutes >= 24 * 60) {
    // Beyond a day, minutes are noise: round up to the hour.
    long hours_total = (minutes + 59) / 60;
    out = std::to_string(hours_total / 24) + "d";
    if (hours_total % 24 > 0) out += std::to_string(hours_total % 24) + "h";
    return out;
  }
  long hours = minutes / 60;
  long mins = minutes % 60;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (mins > 0 || out.empty()) out += std::to_string(mins) + "m";
  return out;
}

}  // namespace sluice::gates
