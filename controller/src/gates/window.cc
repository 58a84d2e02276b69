#include "gates/window.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "gates/time_zone.h"

namespace sluice::gates {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

bool HasDay(const config::WindowRule& r, date::weekday wd) {
  if (r.days.empty()) return true;
  return std::any_of(r.days.begin(), r.days.end(), [&](config::Weekday d) {
    return static_cast<unsigned>(d) == wd.c_encoding();
  });
}

// Whether wall time `t` lies inside `r`. A window that crosses midnight
// belongs to the day it starts on, so after midnight we ask about yesterday.
bool Inside(const config::WindowRule& r, date::local_seconds t) {
  date::local_days day = date::floor<date::days>(t);
  seconds since_midnight = t - day;
  seconds start = minutes(r.start_minute);
  seconds end = minutes(r.end_minute);
  if (end > start) {
    return HasDay(r, date::weekday{day}) && since_midnight >= start && since_midnight < end;
  }
  return (HasDay(r, date::weekday{day}) && since_midnight >= start) ||
         (HasDay(r, date::weekday{day - date::days{1}}) && since_midnight < end);
}

const config::WindowRule* Matching(const std::vector<config::WindowRule>& rules,
                                   date::local_seconds t) {
  for (const auto& r : rules) {
    if (Inside(r, t)) return &r;
  }
  return nullptr;
}

// The first instant after `now` at which some window is open. Openings are
// the rules' start times; a start skipped by a DST switch opens at the switch
// (if the window still exists after it), and a start in the repeated hour of
// the fall-back night opens twice.
std::optional<TimePoint> NextOpening(const std::vector<config::WindowRule>& rules,
                                     const date::time_zone* zone, TimePoint now) {
  date::local_days today = date::floor<date::days>(SysToLocal(zone, now));
  std::optional<TimePoint> best;
  // Rules repeat weekly; yesterday..today+8 covers every start that matters.
  for (int i = -1; i <= 8; ++i) {
    date::local_days day = today + date::days{i};
    for (const auto& r : rules) {
      if (!HasDay(r, date::weekday{day})) continue;
      date::local_seconds start = day + minutes(r.start_minute);
      for (date::choose c : {date::choose::earliest, date::choose::latest}) {
        TimePoint t = zone->to_sys(start, c);
        if (t <= now || (best && t >= *best)) continue;
        if (Matching(rules, SysToLocal(zone, t)) == nullptr) continue;
        best = t;
      }
    }
  }
  return best;
}

std::string Hhmm(int minute) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

}  // namespace

Status ValidateTimeZone(const std::string& name) {
  Result<const date::time_zone*> z = LocateTimeZone(name);
  return z.ok() ? Status::Ok() : z.status();
}

std::string DescribeWindowRule(const config::WindowRule& rule) {
  std::string days;
  for (config::Weekday d : rule.days) {
    if (!days.empty()) days += ",";
    days += kDayNames[static_cast<int>(d)];
  }
  if (days.empty()) days = "every day";
  return days + " " + Hhmm(rule.start_minute) + "-" + Hhmm(rule.end_minute);
}

GateResult EvaluateWindow(const config::Windows& windows, TimePoint now) {
  GateResult r{"window", Verdict::kBlock, "", {}};
  r.evidence["zone"] = windows.timezone;
  Result<const date::time_zone*> zone = LocateTimeZone(windows.timezone);
  if (!zone.ok()) {
    r.reason = "windows.timezone: " + zone.status().message();
    return r;
  }
  const date::time_zone* z = *zone;
  r.evidence["local"] = FormatLocalIso(z, now);
  std::string rules;
  for (const auto& rule : windows.allow) {
    rules += (rules.empty() ? "" : "; ") + DescribeWindowRule(rule);
  }
  r.evidence["rules"] = rules;
  if (windows.allow.empty()) {
    r.verdict = Verdict::kPass;
    r.reason = "no deployment window configured; any time is allowed";
    return r;
  }
  if (const config::WindowRule* m = Matching(windows.allow, SysToLocal(z, now))) {
    r.verdict = Verdict::kPass;
    r.evidence["matched"] = DescribeWindowRule(*m);
    r.reason = "inside the deployment window " + DescribeWindowRule(*m) + " (now " +
               FormatLocalShort(z, now) + " " + windows.timezone + ")";
    return r;
  }
  r.verdict = Verdict::kWait;
  std::optional<TimePoint> next = NextOpening(windows.allow, z, now);
  if (!next) {
    // Only possible when every window falls into DST gaps; it will still open
    // by itself on some later week, so this waits rather than blocks.
    r.reason = "outside the deployment window (" + rules + " " + windows.timezone +
               "); no window opens in the next 7 days";
    return r;
  }
  r.evidence["opens"] = FormatLocalIso(z, *next);
  r.until = *next;
  r.reason = "outside the deployment window; opens " + FormatLocalShort(z, *next) + " " +
             windows.timezone + " (in " +
             FormatDuration(date::floor<seconds>(*next) - date::floor<seconds>(now)) + ")";
  return r;
}

}  // namespace sluice::gates
