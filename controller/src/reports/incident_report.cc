#include "reports/incident_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "git/repo.h"
#include "record/steps.h"
#include "reports/markdown_template.h"

namespace sluice::reports {
namespace {

namespace mst = kainjow::mustache;

// At most this many lines of a failing adapter's output go into the report.
constexpr size_t kMaxValueLines = 12;

double Seconds(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
    pos = nl + 1;
  }
  if (out.size() > kMaxValueLines) out.erase(out.begin(), out.end() - kMaxValueLines);
  return out;
}

void AddUnique(std::vector<std::string>& to, const std::vector<std::string>& items) {
  for (const auto& i : items) {
    if (std::find(to.begin(), to.end(), i) == to.end()) to.push_back(i);
  }
}

// `Sluice-Incident:` trailers of a change's landing commit.
std::vector<std::string> IncidentsOf(const ChangeSource& s) {
  if (!s.known) return {};
  git::CommitInfo info;
  info.message = s.subject + "\n\n" + s.body;
  return info.Trailer("Sluice-Incident");
}

bool IsRollbackChange(const Change& c) {
  if (!c.rolls_back.empty() || !c.source.rollback_to.empty() || !c.source.reverts.empty()) {
    return true;
  }
  return std::any_of(c.events.begin(), c.events.end(),
                     [](const record::Event& e) { return !e.rollback_target.empty(); });
}

std::string RollbackTargetOf(const Change& c) {
  if (!c.source.rollback_to.empty()) return c.source.rollback_to;
  for (const record::Event& e : c.events) {
    if (!e.rollback_target.empty()) return e.rollback_target;
  }
  return c.source.reverts;
}

// How each recorded approver was established, from the approval gate's reason
// (approval/approval_gate.cc: "approved by a, b (...)" for forge reviews,
// "merge signed by c (...)" for a signed merge).
// How each recorded approver of `c` approved. `rollback`: `c` is a rollback
// commit, whose signature (not a merge's) is the approval (`sluice rollback
// --sign`).
std::vector<IncidentApprover> ApproversOf(const Change& c, bool rollback = false) {
  std::vector<IncidentApprover> out;
  const std::string& r = c.approval_reason;
  size_t signed_at = r.find("merge signed by ");
  std::string signer;
  if (signed_at != std::string::npos) {
    size_t b = signed_at + std::string_view("merge signed by ").size();
    size_t e = r.find_first_of(" (;", b);
    signer = r.substr(b, e == std::string::npos ? std::string::npos : e - b);
  }
  for (const auto& name : c.approvers) {
    std::string how = "recorded approver";
    if (name == signer) {
      how = "signed merge";
    } else if (c.approval_method == "forge" || c.approval_method == "forge+signed") {
      how = "forge review";
    } else if (c.approval_method == "signed") {
      how = "signed merge";
    }
    if (rollback && how == "signed merge") how = "signed rollback commit";
    out.push_back({name, how});
  }
  return out;
}

const Change* FindChange(const std::vector<Change>& changes, const std::string& commit) {
  if (commit.empty()) return nullptr;
  for (const Change& c : changes) {
    if (c.commit == commit) return &c;
  }
  return nullptr;
}

ReleaseSide SideOf(const Change& c, const std::map<std::string, ReleaseSide>& sides) {
  ReleaseSide s;
  if (auto it = sides.find(c.commit); it != sides.end()) s = it->second;
  s.commit = c.commit;
  if (s.version.empty()) s.version = c.version;
  if (s.digest.empty()) s.digest = c.digest;
  return s;
}

// When a change's story starts: its landing commit (the merge), else its
// first event.
std::optional<TimePoint> StoryStart(const Change& c) {
  if (c.source.known && c.source.committed != TimePoint{}) {
    if (!c.first_event || c.source.committed < *c.first_event) return c.source.committed;
  }
  return c.first_event;
}

std::optional<IncidentFailure> FailureOf(const Change& c, const std::vector<Change>& changes,
                                         const std::map<std::string, ReleaseSide>& sides) {
  const Change* rollback = FindChange(changes, c.rolled_back_by);
  if (!c.failed && !rollback) return std::nullopt;
  IncidentFailure f;
  f.commit = c.commit;
  f.bad = SideOf(c, sides);
  f.failure = c.failed ? c.failure : "rolled-back";
  f.proposer = c.source.author;
  f.subject = c.source.subject;
  f.approvers = ApproversOf(c);
  f.approval_evidence = c.approval_reason;
  f.started = c.failure == "adapter" ? c.applying : (c.applied ? c.applied : c.applying);
  if (c.failed) {
    f.detected = *c.failed;
    for (const record::Event& e : c.events) {
      if (e.kind == record::EventKind::kFailed && !e.interrupted) {
        f.failed_reason = e.reason;
        f.failed_values = Lines(e.output);
        break;
      }
    }
  } else if (rollback->source.known && rollback->source.committed != TimePoint{}) {
    // Nothing failed by itself: a person decided to roll back.
    f.detected = rollback->source.committed;
  } else {
    f.detected = rollback->first_event.value_or(c.rolled_back.value_or(TimePoint{}));
  }
  f.incidents = IncidentsOf(c.source);

  // What restored service: the rollback once verified, else the first change
  // of the same (env, app) verified at or after the detection.
  const Change* restore = nullptr;
  if (rollback && rollback->verified && *rollback->verified >= f.detected) restore = rollback;
  if (!restore) {
    for (const Change& x : changes) {
      if (&x == &c || !x.verified || *x.verified < f.detected) continue;
      if (!restore || *x.verified < *restore->verified) restore = &x;
    }
  }
  const Change* rb =
      rollback ? rollback : (restore && IsRollbackChange(*restore) ? restore : nullptr);
  if (rb) {
    f.by_rollback = true;
    f.rollback_author = rb->source.author;
    f.rollback_target = RollbackTargetOf(*rb);
    f.rollback_approvers = ApproversOf(*rb, /*rollback=*/true);
    if (rb->source.known && rb->source.committed != TimePoint{}) {
      f.rollback_committed = rb->source.committed;
    }
    for (const record::Event& e : rb->events) {
      if (e.kind == record::EventKind::kRolledBack || e.kind == record::EventKind::kApplied) {
        f.rollback_applied = e.time;
        break;
      }
    }
    f.rollback_commit = rb->commit;
    // Only the controller's own rollback (onFailure: rollback) names itself
    // in the failed event; `sluice rollback` may well be authored "Sluice
    // controller" too, so the author does not tell.
    f.automatic =
        f.failed_reason.find("rolled back by " + ShortId(rb->commit)) != std::string::npos;
    AddUnique(f.incidents, IncidentsOf(rb->source));
  }
  if (restore) {
    f.restore_commit = restore->commit;
    f.restored = SideOf(*restore, sides);
    f.restored_verified = restore->verified;
    if (restore != rb) AddUnique(f.incidents, IncidentsOf(restore->source));
    f.time_to_restore_seconds = std::max(0.0, Seconds(f.detected, *restore->verified));
  }
  if (f.started) f.time_to_detect_seconds = std::max(0.0, Seconds(*f.started, f.detected));
  return f;
}

bool InWindow(TimePoint t, const std::optional<TimePoint>& start,
              const std::optional<TimePoint>& end) {
  return (!start || t >= *start) && (!end || t <= *end);
}

std::string EventText(const record::Event& e, const Change& c, bool restores, std::string* kind) {
  *kind = std::string(record::EventKindName(e.kind));
  switch (e.kind) {
    case record::EventKind::kApplying: {
      if (IsRollbackChange(c) && !e.reason.empty()) return "applying: " + e.reason;
      std::string text = "applying " + (e.version.empty() ? e.digest.substr(0, 19) : e.version);
      if (!e.approvers.empty()) text += ", approved by " + Join(e.approvers, ", ");
      return text;
    }
    case record::EventKind::kApplied:
      return "applied" + (e.adapter ? " by the " + e.adapter->name + " adapter" : std::string()) +
             (e.reason.empty() ? "" : ": " + e.reason);
    case record::EventKind::kRolledBack:
      if (IsRollbackChange(c))
        return "rollback applied" + (e.reason.empty() ? "" : ": " + e.reason);
      return "marked rolled back" + (e.reason.empty() ? "" : ": " + e.reason);
    case record::EventKind::kVerified:
      if (restores) {
        return "verified again: service restored with " +
               (e.version.empty() ? e.digest.substr(0, 19) : e.version) +
               (e.reason.empty() ? "" : " (" + e.reason + ")");
      }
      return "verified" + (e.reason.empty() ? "" : ": " + e.reason);
    case record::EventKind::kStep:
      return "step " + std::to_string(e.step) + " of " + std::to_string(e.steps) + ": " +
             record::StepLine(e) + (e.reason.empty() ? "" : " (" + e.reason + ")");
    case record::EventKind::kFailed:
      if (e.interrupted) {
        *kind = "interrupted";
        return e.reason;
      }
      return "failed" + (c.failure.empty() ? "" : " (" + c.failure + ")") +
             (e.reason.empty() ? "" : ": " + e.reason);
    default:
      return *kind + (e.reason.empty() ? "" : ": " + e.reason);
  }
}

std::vector<TimelineEntry> BuildTimeline(const std::vector<Change>& changes,
                                         const std::vector<IncidentFailure>& failures,
                                         const std::map<std::string, ReleaseSide>& sides,
                                         const std::optional<TimePoint>& start,
                                         const std::optional<TimePoint>& end) {
  std::vector<TimelineEntry> out;
  for (const Change& c : changes) {
    const ReleaseSide side = SideOf(c, sides);
    const bool rollback = IsRollbackChange(c);
    bool restores = false;
    for (const auto& f : failures) restores = restores || f.restore_commit == c.commit;
    if (c.source.known && c.source.committed != TimePoint{} &&
        InWindow(c.source.committed, start, end)) {
      TimelineEntry m;
      m.time = c.source.committed;
      m.commit = c.source.landing_commit.empty() ? c.commit : c.source.landing_commit;
      m.version = side.version;
      if (rollback) {
        m.event = "rollback-commit";
        bool automatic = false;
        for (const auto& f : failures)
          automatic = automatic || (f.automatic && f.rollback_commit == c.commit);
        m.text = std::string("rollback commit by ") +
                 (automatic ? "the controller (automatic, onFailure: rollback)" : c.source.author);
        if (std::string t = RollbackTargetOf(c); !t.empty()) m.text += ", restoring " + ShortId(t);
        if (auto inc = IncidentsOf(c.source); !inc.empty()) {
          m.text += ", incident " + Join(inc, ", ");
        }
        m.text += ": " + c.source.subject;
      } else {
        m.event = "merged";
        m.text = "\"" + c.source.subject + "\" by " + c.source.author;
        if (auto inc = IncidentsOf(c.source); !inc.empty()) {
          m.text += ", incident " + Join(inc, ", ");
        }
      }
      out.push_back(std::move(m));
    }
    for (const record::Event& e : c.events) {
      if (!InWindow(e.time, start, end)) continue;
      TimelineEntry t;
      t.time = e.time;
      t.commit = c.commit;
      t.version = e.version.empty() ? side.version : e.version;
      t.text = EventText(e, c, restores, &t.event);
      if (e.kind == record::EventKind::kVerified || e.kind == record::EventKind::kFailed)
        t.values = Lines(e.output);
      out.push_back(std::move(t));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.time < b.time; });
  return out;
}

std::string TimeOrDash(const std::optional<TimePoint>& t) {
  return t ? FormatRfc3339Millis(*t) : "-";
}

nlohmann::ordered_json TimeJson(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return FormatRfc3339Millis(*t);
}

nlohmann::ordered_json SecondsJson(const std::optional<double>& s) {
  if (!s) return nullptr;
  return *s;
}

nlohmann::ordered_json SideJson(const ReleaseSide& s) {
  if (s.commit.empty()) return nullptr;
  return {{"version", s.version}, {"digest", s.digest}, {"source", s.source}, {"commit", s.commit}};
}

nlohmann::ordered_json ApproversJson(const std::vector<IncidentApprover>& as) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& a : as) out.push_back({{"name", a.name}, {"how", a.how}});
  return out;
}

mst::data ApproversData(const std::vector<IncidentApprover>& as) {
  mst::data out = mst::data::type::list;
  for (const auto& a : as) out.push_back(mst::object{{"name", a.name}, {"how", a.how}});
  return out;
}

mst::data ValuesData(const std::vector<std::string>& values) {
  mst::data out = mst::data::type::list;
  for (const auto& v : values) out.push_back(mst::object{{"value", v}});
  return out;
}

std::string Or(const std::string& s, const std::string& fallback) {
  return s.empty() ? fallback : s;
}

}  // namespace

std::string FormatSeconds(double seconds) {
  if (seconds < 10 && std::floor(seconds) != seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    return buf;
  }
  long long s = std::llround(seconds);
  long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m " + std::to_string(sec) + "s";
  return std::to_string(sec) + "s";
}

std::string HeldBy(const record::Event& e, const std::string& env, const std::string& app) {
  if (e.env != env || e.app == app) return "";
  if (e.kind != record::EventKind::kWaiting && e.kind != record::EventKind::kBlocked) return "";
  for (const auto& g : e.gates) {
    if (g.name != "dependsOn" || g.result == "pass") continue;
    for (const std::string& prefix :
         {"dependency " + app + " ", "waiting for dependency " + app + " ",
          "waiting for dependency " + app + ":"}) {
      if (g.reason.rfind(prefix, 0) == 0) return g.reason;
    }
  }
  return "";
}

IncidentReport BuildIncidentReport(const std::vector<Change>& all,
                                   const std::map<std::string, ReleaseSide>& sides,
                                   const IncidentOptions& options,
                                   const std::vector<record::Event>& held) {
  IncidentReport r;
  r.env = options.env;
  r.app = options.app;
  r.options = options;
  std::vector<Change> changes;
  for (const Change& c : all) {
    if (c.env == options.env && c.app == options.app) changes.push_back(c);
  }
  std::vector<IncidentFailure> found;
  for (const Change& c : changes) {
    if (auto f = FailureOf(c, changes, sides)) found.push_back(std::move(*f));
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.detected < b.detected; });
  for (auto& f : found) {
    if (!options.incident.empty()) {
      if (std::find(f.incidents.begin(), f.incidents.end(), options.incident) ==
          f.incidents.end()) {
        continue;
      }
    } else {
      if (options.since && f.detected < *options.since) continue;
      if (options.until && f.detected >= *options.until) continue;
    }
    r.failures.push_back(std::move(f));
  }
  if (options.incident.empty() && !options.since && !options.until && r.failures.size() > 1) {
    r.failures.erase(r.failures.begin(), r.failures.end() - 1);
  }
  if (r.failures.empty()) {
    std::string m = "no failure recorded for " + options.env + "/" + options.app;
    if (!options.incident.empty()) m += " with incident " + options.incident;
    if (options.since) m += " since " + FormatRfc3339Millis(*options.since);
    if (options.until) m += " before " + FormatRfc3339Millis(*options.until);
    if (!options.since && !options.until && options.incident.empty()) {
      m += changes.empty()
               ? " (the record has no change for it)"
               : " in " + std::to_string(changes.size()) + " recorded change(s) since " +
                     TimeOrDash(StoryStart(changes.front()));
    }
    r.empty_message = m;
    return r;
  }
  // The timeline: from the first failed change's merge (or --since, when
  // earlier) to the last restoring verification (or --until; open-ended while
  // a failure is not restored).
  std::optional<TimePoint> start = options.since;
  bool all_restored = true;
  std::optional<TimePoint> end;
  for (const auto& f : r.failures) {
    if (const Change* c = FindChange(changes, f.commit)) {
      if (auto s = StoryStart(*c); s && (!start || *s < *start)) start = s;
    }
    if (f.restored_verified) {
      if (!end || *f.restored_verified > *end) end = f.restored_verified;
    } else {
      all_restored = false;
    }
  }
  if (!all_restored) end.reset();
  if (options.until) end = options.until;
  r.window_start = start;
  r.window_end = end;
  r.timeline = BuildTimeline(changes, r.failures, sides, start, end);
  // The apps this one held (deploy.dependsOn), as they recorded it.
  for (const record::Event& e : held) {
    std::string why = HeldBy(e, options.env, options.app);
    if (why.empty() || !InWindow(e.time, start, end)) continue;
    TimelineEntry t;
    t.time = e.time;
    t.event = "dependent-" + std::string(record::EventKindName(e.kind));
    t.commit = e.commit;
    t.version = e.version;
    t.text = e.app + " " + std::string(record::EventKindName(e.kind)) + ": " + why;
    r.timeline.push_back(std::move(t));
  }
  std::stable_sort(r.timeline.begin(), r.timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.time < b.time; });
  if (!r.window_end && !r.timeline.empty()) r.window_end = r.timeline.back().time;
  return r;
}

Result<std::string> RenderIncidentReportMarkdown(const std::string& tmpl, const IncidentReport& r) {
  mst::data d;
  d.set("env", r.env);
  d.set("app", r.app);
  SetIfNotEmpty(d, "empty_message", r.empty_message);
  d.set("window_start", TimeOrDash(r.window_start));
  d.set("window_end", TimeOrDash(r.window_end));
  std::vector<std::string> incidents;
  mst::data failures = mst::data::type::list;
  for (const auto& f : r.failures) {
    AddUnique(incidents, f.incidents);
    mst::data x;
    x.set("bad_version", Or(f.bad.version, "-"));
    x.set("bad_digest", Or(f.bad.digest, "-"));
    x.set("bad_source", Or(f.bad.source, "-"));
    x.set("bad_commit", ShortId(f.commit));
    x.set("failure", f.failure);
    x.set("failure_text", std::string(f.failure == "verification" ? "failed verification"
                                      : f.failure == "adapter"    ? "failed to apply (adapter)"
                                                                  : "rolled back by a person"));
    SetIfNotEmpty(x, "proposer", f.proposer);
    SetIfNotEmpty(x, "subject", f.subject);
    x.set("approvers", ApproversData(f.approvers));
    SetIfNotEmpty(x, "approval_evidence", f.approval_evidence);
    x.set("started", TimeOrDash(f.started));
    x.set("detected", FormatRfc3339Millis(f.detected));
    SetIfNotEmpty(x, "failed_reason", f.failed_reason);
    x.set("failed_values", ValuesData(f.failed_values));
    SetIfNotEmpty(x, "incidents", Join(f.incidents, ", "));
    x.set("restored", f.restore_commit.empty() ? mst::data(false) : mst::data(true));
    x.set("restored_version", Or(f.restored.version, "-"));
    x.set("restored_digest", Or(f.restored.digest, "-"));
    x.set("restored_source", Or(f.restored.source, "-"));
    x.set("restored_commit", ShortId(f.restore_commit));
    x.set("restored_verified", TimeOrDash(f.restored_verified));
    SetIfNotEmpty(x, "source_range", SourceRange(f.bad.source, f.restored.source));
    x.set("by_rollback", f.by_rollback ? mst::data(true) : mst::data(false));
    x.set("automatic", f.automatic ? mst::data(true) : mst::data(false));
    x.set("rollback_by",
          f.automatic ? "the controller (onFailure: rollback)" : Or(f.rollback_author, "unknown"));
    SetIfNotEmpty(x, "rollback_target", ShortId(f.rollback_target));
    x.set("rollback_approvers", ApproversData(f.rollback_approvers));
    x.set("rollback_committed", TimeOrDash(f.rollback_committed));
    x.set("rollback_applied", TimeOrDash(f.rollback_applied));
    SetIfNotEmpty(x, "time_to_detect",
                  f.time_to_detect_seconds ? FormatSeconds(*f.time_to_detect_seconds) : "");
    x.set("time_to_restore", f.time_to_restore_seconds ? FormatSeconds(*f.time_to_restore_seconds)
                                                       : "not restored yet");
    failures.push_back(x);
  }
  d.set("failures", failures);
  SetIfNotEmpty(d, "incidents", Join(incidents, ", "));
  mst::data timeline = mst::data::type::list;
  for (const auto& t : r.timeline) {
    mst::data x;
    x.set("time", FormatRfc3339Millis(t.time));
    x.set("event", t.event);
    x.set("commit", ShortId(t.commit));
    x.set("version", Or(t.version, "-"));
    x.set("text", t.text);
    x.set("values", ValuesData(t.values));
    timeline.push_back(x);
  }
  d.set("timeline", timeline);
  return RenderMarkdownTemplate("incident-report", tmpl, d);
}

std::string RenderIncidentReportJson(const IncidentReport& r) {
  nlohmann::ordered_json out;
  out["env"] = r.env;
  out["app"] = r.app;
  out["window"] = {{"start", TimeJson(r.window_start)}, {"end", TimeJson(r.window_end)}};
  out["filters"] = {
      {"since", TimeJson(r.options.since)},
      {"until", TimeJson(r.options.until)},
      {"incident", r.options.incident.empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(r.options.incident)}};
  if (!r.empty_message.empty()) out["message"] = r.empty_message;
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (const auto& f : r.failures) {
    nlohmann::ordered_json x;
    x["commit"] = f.commit;
    x["failure"] = f.failure;
    x["bad"] = SideJson(f.bad);
    x["proposer"] = f.proposer;
    x["subject"] = f.subject;
    x["approvers"] = ApproversJson(f.approvers);
    x["approvalEvidence"] = f.approval_evidence;
    x["started"] = TimeJson(f.started);
    x["detected"] = FormatRfc3339Millis(f.detected);
    x["failedReason"] = f.failed_reason;
    x["failedValues"] = f.failed_values;
    x["incidents"] = f.incidents;
    x["restored"] = SideJson(f.restored);
    x["rollback"] = nullptr;
    if (f.by_rollback) {
      x["rollback"] = {{"commit", f.rollback_commit},
                       {"automatic", f.automatic},
                       {"author", f.rollback_author},
                       {"target", f.rollback_target},
                       {"approvers", ApproversJson(f.rollback_approvers)},
                       {"committed", TimeJson(f.rollback_committed)},
                       {"applied", TimeJson(f.rollback_applied)}};
    }
    x["restoredVerified"] = TimeJson(f.restored_verified);
    x["timeToDetect"] = SecondsJson(f.time_to_detect_seconds);
    x["timeToRestore"] = SecondsJson(f.time_to_restore_seconds);
    failures.push_back(std::move(x));
  }
  out["failures"] = std::move(failures);
  nlohmann::ordered_json timeline = nlohmann::ordered_json::array();
  for (const auto& t : r.timeline) {
    timeline.push_back({{"time", FormatRfc3339Millis(t.time)},
                        {"event", t.event},
                        {"commit", t.commit},
                        {"version", t.version},
                        {"text", t.text},
                        {"values", t.values}});
  }
  out["timeline"] = std::move(timeline);
  return DumpJson(out, 2) + "\n";
}

}  // namespace sluice::reports
