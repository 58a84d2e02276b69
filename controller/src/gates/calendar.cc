#include "gates/calendar.h"

#include <libical/ical.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "core/time_format.h"
#include "gates/time_zone.h"

namespace sluice::gates {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A recurrence that needs more steps than this to cross the horizon (an
// every-minute rule started years ago) is refused rather than expanded.
constexpr int kMaxRecurrenceSteps = 200000;

// The wall times a calendar may name (kMinYear to kMaxYear): outside them
// (a typo such as 10130101) a TimePoint would overflow.
const date::local_seconds kMinWall{date::local_days{date::year{kMinYear} / 1 / 1}};
const date::local_seconds kMaxWall{date::local_days{date::year{kMaxYear + 1} / 1 / 1}};
const std::string kYearRange = std::to_string(kMinYear) + " to " + std::to_string(kMaxYear);

bool InRange(date::local_seconds w) { return w >= kMinWall && w < kMaxWall; }

struct ComponentFree {
  void operator()(icalcomponent* c) const noexcept { icalcomponent_free(c); }
};
using ComponentPtr = std::unique_ptr<icalcomponent, ComponentFree>;

struct RecurFree {
  void operator()(icalrecur_iterator* it) const noexcept { icalrecur_iterator_free(it); }
};
using RecurPtr = std::unique_ptr<icalrecur_iterator, RecurFree>;

void ConfigureLibical() {
  // libical may be built to abort() on a parse error; a bad calendar in a
  // repository must become a blocked gate, never a crashed controller.
  static std::once_flag once;
  std::call_once(once, [] { icalerror_set_errors_are_fatal(0); });
}

std::optional<date::local_days> ParseDay(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  date::year_month_day ymd{date::year{std::stoi(s.substr(0, 4))},
                           date::month{static_cast<unsigned>(std::stoi(s.substr(5, 2)))},
                           date::day{static_cast<unsigned>(std::stoi(s.substr(8, 2)))}};
  if (!ymd.ok() || !InRange(date::local_days{ymd})) return std::nullopt;
  return date::local_days{ymd};
}

date::local_seconds WallTime(const icaltimetype& t) {
  date::year_month_day ymd{date::year{t.year}, date::month{static_cast<unsigned>(t.month)},
                           date::day{static_cast<unsigned>(t.day)}};
  date::local_seconds s{date::local_days{ymd}};
  if (!t.is_date) s += hours(t.hour) + minutes(t.minute) + seconds(t.second);
  return s;
}

icaltimetype IcalTime(date::local_seconds w) {
  icaltimetype t = icaltime_null_time();
  date::local_days day = date::floor<date::days>(w);
  date::year_month_day ymd{day};
  date::hh_mm_ss<seconds> hms{w - day};
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(hms.hours().count());
  t.minute = static_cast<int>(hms.minutes().count());
  t.second = static_cast<int>(hms.seconds().count());
  return t;
}

// How the wall times of one property become instants.
struct Frame {
  enum class Kind { kDate, kUtc, kZone, kFileZone, kFloating };
  Kind kind = Kind::kFloating;
  const date::time_zone* zone = nullptr;  // kZone; the calendar's zone for kDate, kFloating
  icaltimezone* file_zone = nullptr;      // kFileZone: a VTIMEZONE of the file
  std::string tzid;
  bool SameAs(const Frame& o) const { return kind == o.kind && tzid == o.tzid; }
};

// Libical names its own zones "/freeassociation.sourceforge.net/Europe/Berlin";
// others use similar prefixes. Try the name, then each suffix after a '/'.
const date::time_zone* IanaZone(const std::string& tzid) {
  for (size_t pos = 0; pos != std::string::npos; pos = tzid.find('/', pos + 1)) {
    std::string name = tzid.substr(pos == 0 && tzid[0] != '/' ? 0 : pos + 1);
    if (name.empty()) continue;
    Result<const date::time_zone*> z = LocateTimeZone(name);
    if (z.ok()) return *z;
  }
  return nullptr;
}

Result<Frame> FrameOf(icalproperty* p, const icaltimetype& t, icalcomponent* event,
                      const date::time_zone* calendar_zone) {
  Frame f;
  if (t.is_date) {
    f.kind = Frame::Kind::kDate;
    f.zone = calendar_zone;
    return f;
  }
  if (icaltime_is_utc(t)) {
    f.kind = Frame::Kind::kUtc;
    return f;
  }
  icalparameter* param = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
  const char* tzid = param ? icalparameter_get_tzid(param) : nullptr;
  if (tzid == nullptr || *tzid == '\0') {
    f.kind = Frame::Kind::kFloating;
    f.zone = calendar_zone;
    return f;
  }
  f.tzid = tzid;
  if (const date::time_zone* z = IanaZone(f.tzid)) {
    f.kind = Frame::Kind::kZone;
    f.zone = z;
    return f;
  }
  for (icalcomponent* c = event; c != nullptr; c = icalcomponent_get_parent(c)) {
    if (icalcomponent_isa(c) != ICAL_VCALENDAR_COMPONENT) continue;
    if (icaltimezone* z = icalcomponent_get_timezone(c, tzid)) {
      f.kind = Frame::Kind::kFileZone;
      f.file_zone = z;
      return f;
    }
  }
  return Status::InvalidArgument("unknown TZID '" + f.tzid +
                                 "' (neither an IANA zone nor a VTIMEZONE in the file)");
}

TimePoint ToSys(const Frame& f, date::local_seconds w) {
  switch (f.kind) {
    case Frame::Kind::kUtc:
      return TimePoint{date::sys_seconds{w.time_since_epoch()}};
    case Frame::Kind::kFileZone:
      return std::chrono::system_clock::from_time_t(
          icaltime_as_timet_with_zone(IcalTime(w), f.file_zone));
    case Frame::Kind::kDate:
    case Frame::Kind::kZone:
    case Frame::Kind::kFloating:
      break;
  }
  return LocalToSys(f.zone, w);
}

std::string FirstLibicalError(icalcomponent* c) {
  for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p != nullptr;
       p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
    const char* msg = icalproperty_get_xlicerror(p);
    return msg ? msg : "unparseable content";
  }
  for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k != nullptr;
       k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
    std::string e = FirstLibicalError(k);
    if (!e.empty()) return e;
  }
  return "";
}

void CollectEvents(icalcomponent* c, std::vector<icalcomponent*>& out) {
  if (icalcomponent_isa(c) == ICAL_VEVENT_COMPONENT) {
    out.push_back(c);
    return;
  }
  for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k != nullptr;
       k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
    CollectEvents(k, out);
  }
}

bool HasVcalendar(icalcomponent* c) {
  if (icalcomponent_isa(c) == ICAL_VCALENDAR_COMPONENT) return true;
  if (icalcomponent_isa(c) != ICAL_XROOT_COMPONENT) return false;
  return icalcomponent_get_first_component(c, ICAL_VCALENDAR_COMPONENT) != nullptr;
}

std::string Text(const char* s) { return s ? s : ""; }

std::string EventName(icalcomponent* ev) {
  std::string s = Text(icalcomponent_get_summary(ev));
  if (s.empty()) s = Text(icalcomponent_get_uid(ev));
  return s.empty() ? "unnamed event" : s;
}

bool Cancelled(icalcomponent* ev) {
  icalproperty* p = icalcomponent_get_first_property(ev, ICAL_STATUS_PROPERTY);
  return p != nullptr && icalproperty_get_status(p) == ICAL_STATUS_CANCELLED;
}

// Occurrence keys compare wall times; a DATE key (EXDATE;VALUE=DATE) matches
// every occurrence on that day.
struct Exclusions {
  std::set<date::local_seconds> times;
  std::set<date::local_days> days;
  bool Contains(date::local_seconds w) const {
    return times.count(w) > 0 || days.count(date::floor<date::days>(w)) > 0;
  }
  void Add(const icaltimetype& t) {
    if (t.is_date) {
      days.insert(date::floor<date::days>(WallTime(t)));
    } else {
      times.insert(WallTime(t));
    }
  }
};

Status ExpandEvent(icalcomponent* ev, const Exclusions& overridden, const date::time_zone* zone,
                   TimePoint from, TimePoint to, std::vector<FreezePeriod>& out) {
  const std::string name = EventName(ev);
  const std::string where = "event '" + name + "'";
  icalproperty* start_prop = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
  if (start_prop == nullptr) return Status::InvalidArgument(where + " has no DTSTART");
  const icaltimetype start = icalproperty_get_dtstart(start_prop);
  if (icaltime_is_null_time(start) || !icaltime_is_valid_time(start)) {
    return Status::InvalidArgument(where + " has an invalid DTSTART");
  }
  if (!InRange(WallTime(start))) {
    return Status::InvalidArgument(where + " has a DTSTART outside the years " + kYearRange);
  }
  Result<Frame> sf = FrameOf(start_prop, start, ev, zone);
  if (!sf.ok()) return sf.status().WithContext(where);

  // The length of each occurrence: nominal (in wall time, so an all-day
  // event stays a whole local day across DST) unless DTEND is in another
  // frame than DTSTART, where only the exact difference makes sense.
  seconds length{0};
  bool exact = false;
  if (icalproperty* end_prop = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY)) {
    const icaltimetype end = icalproperty_get_dtend(end_prop);
    if (icaltime_is_null_time(end) || !icaltime_is_valid_time(end)) {
      return Status::InvalidArgument(where + " has an invalid DTEND");
    }
    if (!InRange(WallTime(end))) {
      return Status::InvalidArgument(where + " has a DTEND outside the years " + kYearRange);
    }
    Result<Frame> ef = FrameOf(end_prop, end, ev, zone);
    if (!ef.ok()) return ef.status().WithContext(where);
    if (ef->SameAs(*sf)) {
      length = WallTime(end) - WallTime(start);
    } else {
      exact = true;
      length = date::floor<seconds>(ToSys(*ef, WallTime(end)) - ToSys(*sf, WallTime(start)));
    }
  } else if (icalproperty* dur = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY)) {
    length = seconds(icaldurationtype_as_int(icalproperty_get_duration(dur)));
  } else if (start.is_date) {
    length = date::days{1};
  }
  if (length < seconds(0)) return Status::InvalidArgument(where + " ends before it starts");
  if (length == seconds(0)) return Status::Ok();  // an instant freezes nothing

  Exclusions excluded = overridden;
  for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); p != nullptr;
       p = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY)) {
    excluded.Add(icalproperty_get_exdate(p));
  }

  std::set<date::local_seconds> seen;
  const Status out_of_range = Status::InvalidArgument(
      where + " has an occurrence that starts or ends outside the years " + kYearRange);
  // False for an occurrence outside the years a TimePoint can hold.
  auto add = [&](date::local_seconds w) {
    if (!InRange(w) || !InRange(w + length)) return false;
    if (excluded.Contains(w) || !seen.insert(w).second) return true;
    TimePoint s = ToSys(*sf, w);
    TimePoint e = exact ? s + length : ToSys(*sf, w + length);
    if (e > from && s < to) out.push_back(FreezePeriod{name, s, e});
    return true;
  };
  // DTSTART is always the first occurrence (RFC 5545).
  if (!add(WallTime(start))) return out_of_range;
  for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY); p != nullptr;
       p = icalcomponent_get_next_property(ev, ICAL_RRULE_PROPERTY)) {
    RecurPtr it(icalrecur_iterator_new(icalproperty_get_rrule(p), start));
    if (!it) return Status::InvalidArgument(where + " has an RRULE libical cannot expand");
    for (int steps = 0;; ++steps) {
      icaltimetype t = icalrecur_iterator_next(it.get());
      if (icaltime_is_null_time(t)) break;
      date::local_seconds w = WallTime(t);
      // Past the last year a TimePoint holds is past any horizon.
      if (!InRange(w) || ToSys(*sf, w) >= to) break;
      if (steps >= kMaxRecurrenceSteps) {
        return Status::InvalidArgument(where + " recurs too often to expand (more than " +
                                       std::to_string(kMaxRecurrenceSteps) + " occurrences)");
      }
      if (!add(w)) return out_of_range;
    }
  }
  for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY); p != nullptr;
       p = icalcomponent_get_next_property(ev, ICAL_RDATE_PROPERTY)) {
    icaldatetimeperiodtype dp = icalproperty_get_rdate(p);
    icaltimetype t = icaltime_is_null_time(dp.time) ? dp.period.start : dp.time;
    if (icaltime_is_null_time(t)) continue;
    if (!add(WallTime(t))) return out_of_range;
  }
  return Status::Ok();
}

}  // namespace

Result<FreezePeriod> DateRangeFreeze(const config::Freeze& freeze, const date::time_zone* zone) {
  std::optional<date::local_days> from = ParseDay(freeze.from);
  std::optional<date::local_days> to = ParseDay(freeze.to);
  if (!from || !to) {
    return Status::InvalidArgument("freeze '" + freeze.name + "' has a bad date ('" + freeze.from +
                                   "' to '" + freeze.to + "'); use YYYY-MM-DD, years " +
                                   kYearRange);
  }
  if (*from > *to) {
    return Status::InvalidArgument("freeze '" + freeze.name + "' starts " + freeze.from +
                                   " after it ends " + freeze.to);
  }
  return FreezePeriod{freeze.name, LocalToSys(zone, date::local_seconds{*from}),
                      LocalToSys(zone, date::local_seconds{*to + date::days{1}})};
}

Result<std::vector<FreezePeriod>> ParseIcsCalendar(std::string_view text,
                                                   const date::time_zone* zone, TimePoint from,
                                                   TimePoint to) {
  ConfigureLibical();
  std::string copy(text);  // libical wants a NUL-terminated, mutable-safe buffer
  ComponentPtr root(icalparser_parse_string(copy.c_str()));
  if (!root || !HasVcalendar(root.get())) {
    return Status::InvalidArgument(
        "not an iCalendar file (expected BEGIN:VCALENDAR ... END:VCALENDAR)");
  }
  std::string error = FirstLibicalError(root.get());
  if (!error.empty()) return Status::InvalidArgument(error);

  std::vector<icalcomponent*> events;
  CollectEvents(root.get(), events);
  // RECURRENCE-ID events replace one occurrence of the series with their UID.
  std::map<std::string, Exclusions> overridden;
  for (icalcomponent* ev : events) {
    if (icalproperty* rid = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY)) {
      overridden[Text(icalcomponent_get_uid(ev))].Add(icalproperty_get_recurrenceid(rid));
    }
  }
  std::vector<FreezePeriod> out;
  for (icalcomponent* ev : events) {
    if (Cancelled(ev)) continue;
    const bool is_override =
        icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) != nullptr;
    static const Exclusions kNone;
    const auto it = overridden.find(Text(icalcomponent_get_uid(ev)));
    const Exclusions& skip = is_override || it == overridden.end() ? kNone : it->second;
    Status s = ExpandEvent(ev, skip, zone, from, to, out);
    if (!s.ok()) return s;
  }
  std::sort(out.begin(), out.end(),
            [](const FreezePeriod& a, const FreezePeriod& b) { return a.start < b.start; });
  return out;
}

Result<std::vector<FreezePeriod>> ParseYamlCalendar(std::string_view text,
                                                    const date::time_zone* zone) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  std::vector<FreezePeriod> out;
  try {
    YAML::Node list = root;
    if (root.IsMap() && root["freezes"]) list = root["freezes"];
    if (!list || list.IsNull()) return out;
    if (!list.IsSequence()) {
      return Status::InvalidArgument(
          "a YAML calendar must be a list of {name, from, to} (optionally under freezes:)");
    }
    for (const YAML::Node& item : list) {
      const std::string at = "line " + std::to_string(item.Mark().line + 1) + ": ";
      if (!item.IsMap()) return Status::InvalidArgument(at + "each entry must be {name, from, to}");
      for (const auto& kv : item) {
        const std::string key = kv.first.as<std::string>();
        if (key != "name" && key != "from" && key != "to") {
          return Status::InvalidArgument(at + "unknown key '" + key +
                                         "' (expected name, from, to)");
        }
      }
      config::Freeze f;
      for (auto [key, field] : {std::pair<const char*, std::string*>{"name", &f.name},
                                {"from", &f.from},
                                {"to", &f.to}}) {
        if (!item[key] || !item[key].IsScalar()) {
          return Status::InvalidArgument(at + "missing '" + key + "'");
        }
        *field = item[key].as<std::string>();
      }
      Result<FreezePeriod> p = DateRangeFreeze(f, zone);
      if (!p.ok()) return Status::InvalidArgument(at + p.status().message());
      out.push_back(*p);
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return out;
}

}  // namespace sluice::gates
