#include "gates/freeze.h"

#include <algorithm>

#include "gates/calendar.h"
#include "gates/time_zone.h"

namespace sluice::gates {
namespace {

const CalendarEvidence* FindCalendar(const std::vector<CalendarEvidence>& calendars,
                                     const std::string& path) {
  for (const auto& c : calendars) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

bool IsYaml(const std::string& path) { return path.ends_with(".yaml") || path.ends_with(".yml"); }

}  // namespace

GateResult EvaluateFreezes(const std::vector<config::Freeze>& freezes,
                           const std::vector<CalendarEvidence>& calendars,
                           const std::string& timezone, TimePoint now) {
  GateResult r{"freeze", Verdict::kBlock, "", {}};
  r.evidence["zone"] = timezone;
  Result<const date::time_zone*> zone = LocateTimeZone(timezone);
  if (!zone.ok()) {
    r.reason = "windows.timezone (the zone of freeze dates): " + zone.status().message();
    return r;
  }
  const date::time_zone* z = *zone;
  r.evidence["local"] = FormatLocalIso(z, now);
  const TimePoint horizon_from = now - date::days{366};
  const TimePoint horizon_to = now + date::days{731};

  std::vector<FreezePeriod> periods;
  std::vector<std::string> problems;
  for (const config::Freeze& f : freezes) {
    if (f.calendar.empty()) {
      Result<FreezePeriod> p = DateRangeFreeze(f, z);
      if (p.ok()) {
        periods.push_back(*p);
      } else {
        problems.push_back(p.status().message());
      }
      continue;
    }
    const CalendarEvidence* cal = FindCalendar(calendars, f.calendar);
    if (cal == nullptr) {
      problems.push_back("calendar " + f.calendar +
                         " was not read; refusing to deploy (fail closed)");
      continue;
    }
    if (!cal->error.empty()) {
      problems.push_back("calendar " + f.calendar + " cannot be read: " + cal->error);
      continue;
    }
    Result<std::vector<FreezePeriod>> parsed =
        IsYaml(f.calendar) ? ParseYamlCalendar(cal->text, z)
                           : ParseIcsCalendar(cal->text, z, horizon_from, horizon_to);
    if (!parsed.ok()) {
      problems.push_back("calendar " + f.calendar + " is malformed: " + parsed.status().message());
      continue;
    }
    r.evidence["calendar:" + f.calendar] = std::to_string(parsed->size()) + " period(s)";
    for (FreezePeriod p : *parsed) {
      if (!f.name.empty()) p.name = f.name + ": " + p.name;
      periods.push_back(std::move(p));
    }
  }
  if (!problems.empty()) {
    for (const auto& p : problems) r.reason += (r.reason.empty() ? "" : "; ") + p;
    return r;
  }

  std::sort(periods.begin(), periods.end(),
            [](const FreezePeriod& a, const FreezePeriod& b) { return a.start < b.start; });
  std::string active;
  TimePoint until = now;
  for (const auto& p : periods) {
    if (p.start <= now && now < p.end) {
      active += (active.empty() ? "" : ", ") + p.name;
      until = std::max(until, p.end);
    }
  }
  if (active.empty()) {
    r.verdict = Verdict::kPass;
    r.reason = "no freeze in force";
    for (const auto& p : periods) {
      if (p.start > now) {
        r.evidence["next"] = p.name + " from " + FormatLocalIso(z, p.start);
        r.reason +=
            " (next: " + p.name + " from " + FormatLocalDateTime(z, p.start) + " " + timezone + ")";
        break;
      }
    }
    return r;
  }
  // A freeze that starts before (or when) this one ends extends it: the wait
  // is over only when no freeze is in force.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& p : periods) {
      if (p.start <= until && p.end > until) {
        until = p.end;
        grew = true;
      }
    }
  }
  r.verdict = Verdict::kWait;
  r.evidence["active"] = active;
  r.evidence["until"] = FormatLocalIso(z, until);
  r.until = until;
  r.reason = "frozen: " + active + " until " + FormatLocalDateTime(z, until) + " " + timezone +
             " (in " + FormatDuration(date::ceil<std::chrono::seconds>(until - now)) + ")";
  return r;
}

}  // namespace sluice::gates
