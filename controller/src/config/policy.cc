#include "config/policy.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <exception>
#include <set>

#include "config/parse_internal.h"
#include "config/pin.h"
#include "config/settings.h"
#include "config/yaml_reader.h"

namespace sluice::config {

using internal::FileDiags;
using internal::Item;
using internal::LineOf;
using internal::MapReader;
using internal::Quote;
using internal::Req;

namespace {

bool IsNullish(const YAML::Node& v) { return !v.IsDefined() || v.IsNull(); }

// Fills `a` as far as possible; false if anything was reported.
bool ParseApproval(FileDiags& d, const YAML::Node& node, const std::string& where, int owner_line,
                   ApprovalPolicy& a) {
  MapReader m(d, node, where, owner_line, {"required", "from", "evidence", "separateAuthor"});
  if (!m.valid()) return false;
  if (m.empty()) return true;
  bool ok = true;
  if (auto v = m.Int("required", 0, INT_MAX, Req::kRequired))
    a.required = *v;
  else
    ok = false;
  bool from_parsed = true;
  if (m.Present("from")) {
    if (auto v = m.StringList("from")) {
      a.from = *v;
    } else {
      ok = false;
      from_parsed = false;
    }
  }
  if (m.Present("evidence")) {
    if (auto v = m.Enum("evidence", {"forge", "signed", "forge+signed"})) {
      a.evidence = *v == "forge"    ? Evidence::kForge
                   : *v == "signed" ? Evidence::kSigned
                                    : Evidence::kForgeAndSigned;
    } else {
      ok = false;
    }
  }
  if (!m.Read("separateAuthor", a.separate_author)) ok = false;
  // Reported even when other keys are wrong, once `from` itself parsed.
  if (a.required > 0 && a.from.empty() && from_parsed) {
    d.Add(m.ValueLine("required"),
          where + ".required is " + std::to_string(a.required) + " but " + where +
              ".from names no group; list the sluice.yaml groups whose members may approve");
    ok = false;
  }
  return ok;
}

// Command lists of custom gates: non-empty; a first element with '/' is a
// repository path.
std::optional<std::vector<std::string>> Command(MapReader& m) {
  auto v = m.StringList("command", Req::kRequired);
  if (!v) return std::nullopt;
  if (v->empty()) {
    m.diags().Add(m.KeyLine("command"), m.Where("command") +
                                            " is empty; give the program and its arguments, "
                                            "e.g. [scripts/gate.sh]");
    return std::nullopt;
  }
  const std::string& prog = (*v)[0];
  if (prog.find('/') != std::string::npos || prog.find('\\') != std::string::npos) {
    std::string problem = internal::PathProblem(Item(m.Where("command"), 0), prog);
    if (!problem.empty()) {
      const YAML::Node items = m.Get("command");
      m.diags().Add(items[0], problem);
      return std::nullopt;
    }
  }
  return v;
}

bool ParseGates(MapReader& m, Gates& g) {
  FileDiags& d = m.diags();
  if (!m.valid()) return false;
  bool ok = true;
  if (!m.Read("upstreamVerified", g.upstream_verified)) ok = false;
  if (!m.Read("soak", g.soak)) ok = false;
  if (m.Present("vulnerabilities")) {
    MapReader v(d, m.Get("vulnerabilities"), m.Where("vulnerabilities"),
                m.KeyLine("vulnerabilities"), {"maxCritical", "maxHigh", "maxMedium"});
    if (!v.valid()) {
      ok = false;
    } else {
      VulnerabilityLimits limits;
      for (auto [key, field] :
           {std::pair<const char*, std::optional<int>*>{"maxCritical", &limits.max_critical},
            {"maxHigh", &limits.max_high},
            {"maxMedium", &limits.max_medium}}) {
        if (!v.Present(key)) continue;
        if (auto x = v.Int(key, 0, INT_MAX))
          *field = *x;
        else
          ok = false;
      }
      g.vulnerabilities = limits;
    }
  }
  if (m.Present("registry")) {
    MapReader r(d, m.Get("registry"), m.Where("registry"), m.KeyLine("registry"), {"verifyDigest"});
    if (!r.valid()) {
      ok = false;
    } else if (r.Present("verifyDigest")) {
      if (auto x = r.Bool("verifyDigest"))
        g.registry_verify_digest = *x;
      else
        ok = false;
    }
  }
  if (m.Present("rollbackTarget")) {
    const YAML::Node rt = m.Get("rollbackTarget");
    const std::string w = m.Where("rollbackTarget");
    if (!IsNullish(rt) && rt.IsScalar()) {
      if (rt.Scalar() == "required") {
        g.rollback_target_required = true;
      } else {
        d.Add(rt, w + " must be 'required' or a map {required: true, allowFirst: true}, got " +
                      internal::Describe(rt));
        ok = false;
      }
    } else if (!IsNullish(rt) && rt.IsMap()) {
      MapReader r(d, rt, w, m.KeyLine("rollbackTarget"), {"required", "allowFirst"});
      if (!r.Read("required", g.rollback_target_required)) ok = false;
      if (!r.Read("allowFirst", g.rollback_allow_first)) ok = false;
      if (!r.valid()) ok = false;
    } else {
      d.Add(IsNullish(rt) ? m.KeyLine("rollbackTarget") : LineOf(rt),
            w + " must be 'required' or a map {required: true, allowFirst: true}, got " +
                internal::Describe(rt));
      ok = false;
    }
  }
  if (!m.Read("noActiveIncident", g.no_active_incident)) ok = false;
  const YAML::Node custom = m.Get("custom");
  const std::string cw = m.Where("custom");
  if (!IsNullish(custom)) {
    if (!custom.IsSequence()) {
      d.Add(custom,
            cw + " must be a list of {name, command, timeout}, got " + internal::Describe(custom));
      ok = false;
    } else {
      std::set<std::string> names;
      size_t i = 0;
      for (const auto& item : custom) {
        std::string iw = Item(cw, i++);
        int line = LineOf(item) > 0 ? LineOf(item) : LineOf(custom);
        MapReader c(d, item, iw, line, {"name", "command", "timeout"});
        if (!c.valid()) {
          ok = false;
          continue;
        }
        CustomGate gate;
        if (auto v = c.String("name", Req::kRequired)) {
          gate.name = *v;
          if (!IsValidName(*v)) {
            d.Add(c.Get("name"), c.Where("name") + " '" + Quote(*v) +
                                     "' is not a valid name; use lowercase letters, digits, "
                                     "'.', '_' and '-' (at most 63), starting with a letter "
                                     "or digit");
            ok = false;
          } else if (!names.insert(*v).second) {
            d.Add(c.Get("name"), c.Where("name") + " '" + *v +
                                     "' is used by another custom gate; give each a "
                                     "distinct name");
            ok = false;
          }
        } else {
          ok = false;
        }
        if (auto v = Command(c))
          gate.command = *v;
        else
          ok = false;
        if (c.Present("timeout")) {
          auto v = c.Duration("timeout");
          if (v && v->count() == 0) {
            d.Add(c.Get("timeout"), c.Where("timeout") + " must be longer than 0 (e.g. 60s)");
            v.reset();
          }
          if (v)
            gate.timeout = *v;
          else
            ok = false;
        }
        g.custom.push_back(std::move(gate));
      }
    }
  }
  return ok;
}

constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr const char* kFullDayNames[] = {"sunday",   "monday", "tuesday", "wednesday",
                                         "thursday", "friday", "saturday"};

std::optional<int> DayIndex(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 7; ++i) {
    if (lower == kDayNames[i] || lower == kFullDayNames[i]) return i;
  }
  return std::nullopt;
}

// Adds the days of "mon" or "mon-fri" (wrapping: "fri-mon") to `days`.
bool ParseDayItem(FileDiags& d, const YAML::Node& node, const std::string& where,
                  const std::string& text, std::set<int>& days) {
  std::vector<std::string> names(std::begin(kDayNames), std::end(kDayNames));
  std::rotate(names.begin(), names.begin() + 1, names.end());  // mon first
  auto bad = [&](const std::string& word) {
    d.Add(node, where + ": unknown weekday '" + Quote(word) + "';" +
                    internal::DidYouMean(word, names) + " use " + internal::JoinNames(names) +
                    ", or a range such as mon-fri");
    return false;
  };
  size_t dash = text.find('-');
  if (dash == std::string::npos) {
    auto i = DayIndex(text);
    if (!i) return bad(text);
    days.insert(*i);
    return true;
  }
  std::string a = text.substr(0, dash);
  std::string b = text.substr(dash + 1);
  auto trim = [](std::string& s) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
  };
  trim(a);
  trim(b);
  auto ia = DayIndex(a);
  if (!ia) return bad(a);
  auto ib = DayIndex(b);
  if (!ib) return bad(b);
  for (int i = *ia;; i = (i + 1) % 7) {
    days.insert(i);
    if (i == *ib) break;
  }
  return true;
}

// "H:MM" or "HH:MM" -> minutes, 0..1440 ("24:00" is 1440).
std::optional<int> ParseClock(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || s.size() != colon + 3) {
    return std::nullopt;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != colon && !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  int h = std::stoi(std::string(s.substr(0, colon)));
  int m = std::stoi(std::string(s.substr(colon + 1)));
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::string FormatClock(int minutes) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

bool ParseHours(FileDiags& d, const YAML::Node& node, const std::string& where,
                const std::string& text, WindowRule& rule) {
  const std::string form =
      " must be \"HH:MM-HH:MM\" (e.g. \"10:00-14:00\"; times from 00:00 to 24:00; an end "
      "before the start crosses midnight)";
  size_t dash = text.find('-');
  if (dash == std::string::npos) {
    d.Add(node, where + " '" + Quote(text) + "'" + form);
    return false;
  }
  std::string a = text.substr(0, dash);
  std::string b = text.substr(dash + 1);
  auto trim = [](std::string& s) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
  };
  trim(a);
  trim(b);
  auto start = ParseClock(a);
  auto end = ParseClock(b);
  if (!start || !end) {
    d.Add(node, where + " '" + Quote(text) + "'" + form);
    return false;
  }
  if (*start == 24 * 60) {
    d.Add(node, where + " '" + Quote(text) + "' starts at 24:00; write 00:00 instead");
    return false;
  }
  if (*start == *end) {
    d.Add(node, where + " '" + Quote(text) + "' starts and ends at " + FormatClock(*start) +
                    ", so the window is empty; for the whole day write \"00:00-24:00\"");
    return false;
  }
  rule.start_minute = *start;
  rule.end_minute = *end;
  return true;
}

bool ParseWindows(MapReader& m, Windows& w) {
  FileDiags& d = m.diags();
  if (!m.valid()) return false;
  bool ok = true;
  if (!m.Read("timezone", w.timezone)) ok = false;
  const YAML::Node allow = m.Get("allow");
  const std::string aw = m.Where("allow");
  if (IsNullish(allow)) return ok;
  if (!allow.IsSequence()) {
    d.Add(allow, aw + " must be a list of {days, hours}, got " + internal::Describe(allow));
    return false;
  }
  size_t i = 0;
  for (const auto& item : allow) {
    std::string iw = Item(aw, i++);
    int line = LineOf(item) > 0 ? LineOf(item) : LineOf(allow);
    MapReader r(d, item, iw, line, {"days", "hours"});
    if (!r.valid()) {
      ok = false;
      continue;
    }
    WindowRule rule;
    bool rule_ok = true;
    const YAML::Node days = r.Get("days");
    const std::string dw = r.Where("days");
    std::set<int> set;
    if (r.Present("days") && IsNullish(days)) {
      d.Add(r.KeyLine("days"), dw + " has no value; list days (e.g. [mon, tue]) or remove the "
                                    "key for every day");
      rule_ok = false;
    } else if (!IsNullish(days) && days.IsScalar()) {
      rule_ok = ParseDayItem(d, days, dw, days.Scalar(), set) && rule_ok;
    } else if (!IsNullish(days) && days.IsSequence()) {
      size_t j = 0;
      for (const auto& day : days) {
        std::string jw = Item(dw, j++);
        if (IsNullish(day) || !day.IsScalar()) {
          d.Add(LineOf(day) > 0 ? LineOf(day) : LineOf(days),
                jw + " must be a weekday such as mon, got " + internal::Describe(day));
          rule_ok = false;
          continue;
        }
        rule_ok = ParseDayItem(d, day, jw, day.Scalar(), set) && rule_ok;
      }
      if (days.size() == 0) {
        d.Add(days, dw + " is empty; list days (e.g. [mon, tue]) or remove the key for every "
                         "day");
        rule_ok = false;
      }
    } else if (!IsNullish(days)) {
      d.Add(days, dw + " must be a list of weekdays (e.g. [mon, tue] or [mon-fri]), got " +
                      internal::Describe(days));
      rule_ok = false;
    }
    // Monday-first order reads naturally in messages and tables.
    for (int day : {1, 2, 3, 4, 5, 6, 0}) {
      if (set.count(day)) rule.days.push_back(static_cast<Weekday>(day));
    }
    if (r.Present("hours")) {
      if (auto h = r.String("hours")) {
        rule_ok = ParseHours(d, r.Get("hours"), r.Where("hours"), *h, rule) && rule_ok;
      } else {
        rule_ok = false;
      }
    }
    if (rule_ok) w.allow.push_back(rule);
    ok = ok && rule_ok;
  }
  return ok;
}

// "YYYY-MM-DD" that names a real day; else a reason.
std::string DateProblem(std::string_view s) {
  const std::string form = " is not a date in the form YYYY-MM-DD (e.g. 2026-11-26)";
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return form;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return form;
  }
  int y = std::stoi(std::string(s.substr(0, 4)));
  int mo = std::stoi(std::string(s.substr(5, 2)));
  int day = std::stoi(std::string(s.substr(8, 2)));
  static const char* kMonths[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
  if (y < 1970) return " is not a plausible date (year before 1970)";
  if (mo < 1 || mo > 12) return " is not a real date: there is no month " + std::to_string(mo);
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int max = kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
  if (day < 1 || day > max) {
    std::string why = " is not a real date: " + std::string(kMonths[mo - 1]) + " " +
                      std::to_string(y) + " has " + std::to_string(max) + " days";
    if (mo == 2 && day == 29) why += " (" + std::to_string(y) + " is not a leap year)";
    return why;
  }
  return "";
}

bool ParseFreezes(FileDiags& d, const YAML::Node& node, int key_line, std::vector<Freeze>& out) {
  const std::string fw = "freezes";
  if (IsNullish(node)) return true;
  if (!node.IsSequence()) {
    d.Add(
        LineOf(node) > 0 ? LineOf(node) : key_line,
        fw + " must be a list of {name, from, to} or {calendar}, got " + internal::Describe(node));
    return false;
  }
  bool ok = true;
  size_t i = 0;
  for (const auto& item : node) {
    std::string iw = Item(fw, i++);
    int line = LineOf(item) > 0 ? LineOf(item) : LineOf(node);
    MapReader m(d, item, iw, line, {"name", "from", "to", "calendar"});
    if (!m.valid()) {
      ok = false;
      continue;
    }
    Freeze f;
    bool f_ok = true;
    if (m.Present("calendar")) {
      if (m.Present("from") || m.Present("to")) {
        d.Add(m.KeyLine(m.Present("from") ? "from" : "to"),
              iw + " has both calendar and from/to; use one freeze entry for each");
        f_ok = false;
      }
      if (!m.Read("name", f.name)) f_ok = false;
      if (auto v = m.String("calendar")) {
        f.calendar = *v;
        std::string problem = internal::PathProblem(m.Where("calendar"), *v);
        if (!problem.empty()) {
          d.Add(m.Get("calendar"), problem);
          f_ok = false;
        } else if (!v->ends_with(".ics") && !v->ends_with(".yaml") && !v->ends_with(".yml")) {
          d.Add(m.Get("calendar"), m.Where("calendar") + " '" + Quote(*v) +
                                       "' must be an iCalendar (.ics) or YAML (.yaml, .yml) "
                                       "file");
          f_ok = false;
        }
      } else {
        f_ok = false;
      }
    } else {
      if (auto v = m.String("name", Req::kRequired))
        f.name = *v;
      else
        f_ok = false;
      for (auto [key, field] :
           {std::pair<const char*, std::string*>{"from", &f.from}, {"to", &f.to}}) {
        auto v = m.String(key, Req::kRequired);
        if (!v) {
          f_ok = false;
          continue;
        }
        std::string problem = DateProblem(*v);
        if (!problem.empty()) {
          d.Add(m.Get(key), m.Where(key) + " '" + Quote(*v) + "'" + problem);
          f_ok = false;
          continue;
        }
        *field = *v;
      }
      if (!f.from.empty() && !f.to.empty() && f.from > f.to) {
        d.Add(m.Get("to"), iw + ": from " + f.from + " is after to " + f.to +
                               "; the freeze would never apply (both days are inclusive); swap "
                               "them");
        f_ok = false;
      }
    }
    if (f_ok) out.push_back(std::move(f));
    ok = ok && f_ok;
  }
  return ok;
}

}  // namespace

namespace internal {

std::string EnvFromPath(std::string_view path) {
  constexpr std::string_view kPrefix = "environments/";
  if (!path.starts_with(kPrefix)) return "";
  std::string_view rest = path.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return "";
  return std::string(rest.substr(0, slash));
}

int RootLine(const YAML::Node& root) {
  int line = LineOf(root);
  return line > 0 ? line : 1;
}

bool ParseEnvironmentPolicyInto(std::string_view yaml_text, const std::string& path,
                                Diagnostics& diags, EnvironmentPolicy& p, LineIndex* lines) {
  FileDiags d(path, diags, lines);
  p.env = EnvFromPath(path);
  try {
    std::optional<YAML::Node> doc = LoadDocument(yaml_text, d);
    if (!doc) return false;
    MapReader top(d, *doc, "", RootLine(*doc),
                  {"upstream", "approval", "gates", "windows", "freezes", "emergency",
                   "verification", "onFailure", "rollback", "drift"});
    if (!top.valid()) return false;
    if (top.Present("upstream")) {
      if (auto v = top.String("upstream")) {
        if (!IsValidName(*v)) {
          d.Add(top.Get("upstream"), "upstream '" + Quote(*v) +
                                         "' is not a valid environment name; use the name of "
                                         "an earlier environment of the pipeline");
        } else if (*v == p.env) {
          d.Add(top.Get("upstream"), "upstream '" + *v +
                                         "' is this environment itself; name the environment "
                                         "promotions come from, or remove upstream");
        } else {
          p.upstream = *v;
        }
      }
    }
    if (top.Has("approval")) {
      p.approval.emplace();
      ParseApproval(d, top.Get("approval"), "approval", top.KeyLine("approval"), *p.approval);
    }
    if (top.Present("gates")) {
      MapReader g(d, top.Get("gates"), "gates", top.KeyLine("gates"),
                  {"upstreamVerified", "soak", "vulnerabilities", "registry", "rollbackTarget",
                   "noActiveIncident", "custom"});
      ParseGates(g, p.gates);
    }
    if (top.Has("windows")) {
      MapReader w(d, top.Get("windows"), "windows", top.KeyLine("windows"), {"timezone", "allow"});
      Windows windows;
      if (ParseWindows(w, windows)) p.windows = windows;
    }
    if (top.Present("freezes")) {
      ParseFreezes(d, top.Get("freezes"), top.KeyLine("freezes"), p.freezes);
    }
    if (top.Has("emergency")) {
      MapReader e(d, top.Get("emergency"), "emergency", top.KeyLine("emergency"),
                  {"approvers", "requireIncident"});
      if (e.valid()) {
        EmergencyPolicy& em = p.emergency.emplace();
        if (auto v = e.StringList("approvers", Req::kRequired)) {
          em.approvers = *v;
          if (v->empty()) {
            d.Add(e.KeyLine("approvers"),
                  "emergency.approvers is empty; list the sluice.yaml groups that may declare "
                  "an emergency, or remove emergency");
          }
        }
        if (e.Present("requireIncident")) {
          if (auto v = e.Bool("requireIncident")) em.require_incident = *v;
        }
      }
    }
    if (top.Present("verification")) {
      p.verification = ParseVerification(d, top.Get("verification"), "verification",
                                         top.KeyLine("verification"));
    }
    if (top.Present("onFailure")) {
      if (auto v = top.Enum("onFailure", {"hold", "rollback"})) {
        p.on_failure = *v == "hold" ? OnFailure::kHold : OnFailure::kRollback;
      }
    }
    if (top.Present("drift")) {
      if (auto v = top.Enum("drift", {"record", "ignore"})) {
        p.drift = *v == "ignore" ? DriftPolicy::kIgnore : DriftPolicy::kRecord;
      }
    }
    if (top.Has("rollback")) {
      MapReader r(d, top.Get("rollback"), "rollback", top.KeyLine("rollback"), {"approval"});
      if (r.valid() && r.Has("approval")) {
        p.rollback.approval.emplace();
        ParseApproval(d, r.Get("approval"), "rollback.approval", r.KeyLine("approval"),
                      *p.rollback.approval);
      }
    }
  } catch (const std::exception& e) {
    d.Add(0, std::string("internal error while reading the policy: ") + Quote(e.what()));
  }
  d.SortByLine();
  return d.ok();
}

}  // namespace internal

std::optional<EnvironmentPolicy> ParseEnvironmentPolicy(std::string_view yaml_text,
                                                        const std::string& path,
                                                        Diagnostics& diags) {
  EnvironmentPolicy p;
  if (!internal::ParseEnvironmentPolicyInto(yaml_text, path, diags, p, nullptr)) {
    return std::nullopt;
  }
  return p;
}

}  // namespace sluice::config
