#include "reports/audit_render.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/duration.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "record/steps.h"

namespace sluice::reports {
namespace {

using Json = nlohmann::ordered_json;

std::string Time(const std::optional<TimePoint>& t) { return t ? FormatRfc3339(*t) : ""; }

Json TimeJson(const std::optional<TimePoint>& t) {
  return t ? Json(FormatRfc3339(*t)) : Json(nullptr);
}

Json TextOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

// Three decimals are plenty and keep the JSON stable across platforms.
double Round3(double x) { return std::round(x * 1000.0) / 1000.0; }

Json NumberOrNull(const std::optional<double>& x) { return x ? Json(Round3(*x)) : Json(nullptr); }

std::string Fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string HumanDuration(double seconds) {
  auto ms = std::chrono::milliseconds(static_cast<long long>(std::llround(seconds)) * 1000);
  return FormatDuration(ms);
}

// A Markdown table cell: no line breaks, pipes escaped.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? "-" : out;
}

std::string GatesSummary(const std::vector<record::GateRecord>& gates) {
  if (gates.empty()) return "";
  size_t pass = 0;
  std::vector<std::string> other;
  for (const auto& g : gates) {
    if (g.result == "pass") {
      ++pass;
    } else {
      other.push_back(g.name + " " + g.result);
    }
  }
  if (other.empty()) return "all " + std::to_string(pass) + " pass";
  return Join(other, ", ") + (pass ? " (" + std::to_string(pass) + " pass)" : "");
}

std::string GatesCsv(const std::vector<record::GateRecord>& gates) {
  std::vector<std::string> parts;
  for (const auto& g : gates) parts.push_back(g.name + "=" + g.result);
  return Join(parts, "; ");
}

std::string RollbackCell(const Change& c) {
  std::vector<std::string> parts;
  if (!c.rolls_back.empty()) parts.push_back("rolls back " + ShortId(c.rolls_back));
  if (!c.rolled_back_by.empty()) parts.push_back("rolled back by " + ShortId(c.rolled_back_by));
  if (parts.empty() && c.rolled_back) parts.push_back("rolled back");
  return Join(parts, "; ");
}

std::string StatsText(const DurationStats& s) {
  if (!s.median_seconds) return "n/a";
  return "median " + HumanDuration(*s.median_seconds) + ", p90 " + HumanDuration(*s.p90_seconds);
}

Json StatsJson(const DurationStats& s) {
  return {{"samples", s.samples},
          {"medianSeconds", NumberOrNull(s.median_seconds)},
          {"p90Seconds", NumberOrNull(s.p90_seconds)}};
}

}  // namespace

// The window's length as people read it: "1m18s", "3d", not "1.00 days".
std::string WindowLength(const AuditReport& r) {
  if (!r.window_start || !r.window_end) return "empty";
  const auto length = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(*r.window_end - *r.window_start, TimePoint::duration::zero()));
  return FormatDuration(std::chrono::duration_cast<std::chrono::seconds>(length));
}

// deploy.strategy: one row per `step` event of a change, with its time.
Json StepsJson(const Change& c) {
  Json steps = Json::array();
  for (const record::Event& e : c.events) {
    if (e.kind != record::EventKind::kStep) continue;
    Json s = {{"time", FormatRfc3339Millis(e.time)},
              {"step", e.step},
              {"of", e.steps},
              {"action", e.action},
              {"phase", e.phase}};
    if (e.weight) s["weight"] = *e.weight;
    if (!e.slot.empty()) s["slot"] = e.slot;
    if (e.until) s["until"] = FormatRfc3339Millis(*e.until);
    s["text"] = record::StepLine(e);
    s["reason"] = e.reason;
    steps.push_back(std::move(s));
  }
  return steps;
}

std::string RenderAuditMarkdown(const AuditReport& r) {
  std::ostringstream o;
  o << "# Sluice audit\n\n";
  o << "- Window: " << (r.window_start ? FormatRfc3339(*r.window_start) : "(no events)") << " to "
    << (r.window_end ? FormatRfc3339(*r.window_end) : "(no events)") << " (" << WindowLength(r)
    << ")\n";
  o << "- Environment: " << (r.filter.env.empty() ? "all" : r.filter.env)
    << "; app: " << (r.filter.app.empty() ? "all" : r.filter.app) << "\n";
  std::vector<std::string> req(r.require_approval.begin(), r.require_approval.end());
  o << "- Approval required in: " << (req.empty() ? "none" : Join(req, ", ")) << "\n\n";

  o << "## Exceptions\n\n";
  if (r.exceptions.empty()) {
    o << "None.\n\n";
  } else {
    o << "| env | app | commit | rule | detail |\n|---|---|---|---|---|\n";
    for (const auto& e : r.exceptions) {
      o << "| " << Cell(e.env) << " | " << Cell(e.app) << " | " << ShortId(e.commit) << " | "
        << e.rule << " | " << Cell(e.detail) << " |\n";
    }
    o << "\n";
  }

  o << "## Untrusted record entries\n\n";
  if (r.untrusted.empty()) {
    o << "None.\n\n";
  } else {
    o << "Ignored for every decision and left out below (SPEC 1.3, rule 4).\n\n"
         "| kind | env | app | commit | ref | reason |\n|---|---|---|---|---|---|\n";
    for (const auto& u : r.untrusted) {
      o << "| " << u.kind << " | " << Cell(u.env) << " | " << Cell(u.app) << " | "
        << ShortId(u.commit) << " | " << Cell(u.ref) << " | " << Cell(u.reason) << " |\n";
    }
    o << "\n";
  }

  o << "## Changes (" << r.changes.size() << ")\n\n";
  if (r.changes.empty()) {
    o << "None.\n\n";
  } else {
    o << "| env | app | commit | version | proposer | approvers | approval | gates | applying | "
         "applied | verified | failed | outcome | rollback |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : r.changes) {
      o << "| " << Cell(c.env) << " | " << Cell(c.app) << " | " << ShortId(c.commit) << " | "
        << Cell(c.version) << " | " << Cell(c.source.author) << " | "
        << Cell(Join(c.approvers, ", ")) << " | " << Cell(c.approval_method) << " | "
        << Cell(GatesSummary(c.gates)) << " | " << Cell(Time(c.applying)) << " | "
        << Cell(Time(c.applied)) << " | " << Cell(Time(c.verified)) << " | "
        << Cell(c.failed ? Time(c.failed) + " (" + c.failure + ")" : "") << " | " << c.outcome
        << " | " << Cell(RollbackCell(c)) << " |\n";
    }
    o << "\n";
  }

  bool any_steps = false;
  for (const auto& c : r.changes) {
    for (const auto& e : c.events) any_steps = any_steps || e.kind == record::EventKind::kStep;
  }
  if (any_steps) {
    o << "## Release steps\n\n| env | app | commit | step | what | time |\n"
         "|---|---|---|---|---|---|\n";
    for (const auto& c : r.changes) {
      for (const auto& e : c.events) {
        if (e.kind != record::EventKind::kStep) continue;
        o << "| " << Cell(c.env) << " | " << Cell(c.app) << " | " << ShortId(c.commit) << " | "
          << e.step << " of " << e.steps << " | " << Cell(record::StepLine(e)) << " | "
          << FormatRfc3339(e.time) << " |\n";
      }
    }
    o << "\n";
  }

  const Dora& d = r.dora;
  o << "## DORA\n\n| figure | value | computed from |\n|---|---|---|\n";
  o << "| Deployment frequency | "
    << (d.deploys_per_day ? Fixed(*d.deploys_per_day, 2) + " per day" : "n/a") << " | " << d.deploys
    << " verified deploys over " << WindowLength(r)
    << (d.window_days > 0 && d.window_days <= 1.0 ? ", counted as one day" : "") << " |\n";
  o << "| Lead time for changes | " << StatsText(d.lead_time) << " | " << d.lead_time.samples
    << " verified changes: commit time to first `verified` |\n";
  o << "| Change failure rate | "
    << (d.change_failure_rate ? Fixed(*d.change_failure_rate * 100.0, 1) + "%" : "n/a") << " | "
    << d.failed_changes << " of " << d.applied
    << " applied changes failed verification or were rolled back |\n";
  o << "| Time to restore | "
    << (d.time_to_restore.median_seconds
            ? "median " + HumanDuration(*d.time_to_restore.median_seconds)
            : std::string("n/a"))
    << " | " << d.failures << " failures, " << d.time_to_restore.samples << " restored, "
    << d.unrestored << " not yet: failure to the next verified deploy of that env/app |\n";
  o << "\nDefinitions: docs/record.md, section \"sluice audit\".\n";
  return o.str();
}

std::string RenderAuditJson(const AuditReport& r) {
  Json out;
  out["window"] = {{"since", TimeJson(r.window_start)},
                   {"until", TimeJson(r.window_end)},
                   {"days", Round3(r.dora.window_days)}};
  out["filters"] = {{"env", TextOrNull(r.filter.env)},
                    {"app", TextOrNull(r.filter.app)},
                    {"since", TimeJson(r.filter.since)},
                    {"until", TimeJson(r.filter.until)}};
  out["requireApproval"] =
      Json(std::vector<std::string>(r.require_approval.begin(), r.require_approval.end()));
  Json exceptions = Json::array();
  for (const auto& e : r.exceptions) {
    exceptions.push_back({{"env", e.env},
                          {"app", e.app},
                          {"commit", e.commit},
                          {"rule", e.rule},
                          {"detail", e.detail}});
  }
  out["exceptions"] = std::move(exceptions);
  Json untrusted = Json::array();
  for (const auto& u : r.untrusted) {
    untrusted.push_back({{"kind", u.kind},
                         {"env", TextOrNull(u.env)},
                         {"app", TextOrNull(u.app)},
                         {"commit", u.commit},
                         {"ref", TextOrNull(u.ref)},
                         {"line", TextOrNull(u.line)},
                         {"reason", u.reason}});
  }
  out["untrusted"] = std::move(untrusted);
  Json changes = Json::array();
  for (const auto& c : r.changes) {
    Json gates = Json::array();
    for (const auto& g : c.gates) {
      gates.push_back({{"name", g.name}, {"result", g.result}, {"reason", g.reason}});
    }
    changes.push_back({
        {"env", c.env},
        {"app", c.app},
        {"commit", c.commit},
        {"landingCommit", TextOrNull(c.source.landing_commit)},
        {"subject", TextOrNull(c.source.subject)},
        {"proposer", TextOrNull(c.source.author)},
        {"digest", c.digest},
        {"version", c.version},
        {"approvers", c.approvers},
        {"approval",
         {{"method", TextOrNull(c.approval_method)}, {"reason", TextOrNull(c.approval_reason)}}},
        {"gates", std::move(gates)},
        {"firstEvent", TimeJson(c.first_event)},
        {"applying", TimeJson(c.applying)},
        {"applied", TimeJson(c.applied)},
        {"verified", TimeJson(c.verified)},
        {"failed", TimeJson(c.failed)},
        {"failure", TextOrNull(c.failure)},
        {"drift", TimeJson(c.drift)},
        {"rolledBack", TimeJson(c.rolled_back)},
        {"outcome", c.outcome},
        {"reason", c.reason},
        {"rollsBack", TextOrNull(c.rolls_back)},
        {"rolledBackBy", TextOrNull(c.rolled_back_by)},
        {"events", c.events.size()},
        {"steps", StepsJson(c)},
    });
  }
  out["changes"] = std::move(changes);
  const Dora& d = r.dora;
  out["dora"] = {
      {"deploymentFrequency",
       {{"perDay", NumberOrNull(d.deploys_per_day)},
        {"deploys", d.deploys},
        {"days", Round3(d.window_days)}}},
      {"leadTime", StatsJson(d.lead_time)},
      {"changeFailureRate",
       {{"rate", NumberOrNull(d.change_failure_rate)},
        {"failed", d.failed_changes},
        {"applied", d.applied}}},
      {"timeToRestore",
       {{"medianSeconds", NumberOrNull(d.time_to_restore.median_seconds)},
        {"restored", d.time_to_restore.samples},
        {"failures", d.failures},
        {"unrestored", d.unrestored}}},
  };
  return DumpJson(out, 2) + "\n";
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RenderAuditCsv(const AuditReport& r) {
  std::ostringstream o;
  const std::vector<std::string> header = {
      "env",       "app",      "commit",     "landing_commit", "version", "digest",   "proposer",
      "approvers", "approval", "gates",      "applying",       "applied", "verified", "failed",
      "failure",   "outcome",  "rolls_back", "rolled_back_by", "reason"};
  auto row = [&](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) o << (i ? "," : "") << CsvField(fields[i]);
    o << "\r\n";
  };
  row(header);
  for (const auto& c : r.changes) {
    row({c.env, c.app, c.commit, c.source.landing_commit, c.version, c.digest, c.source.author,
         Join(c.approvers, "; "), c.approval_method, GatesCsv(c.gates), Time(c.applying),
         Time(c.applied), Time(c.verified), Time(c.failed), c.failure, c.outcome, c.rolls_back,
         c.rolled_back_by, c.reason});
  }
  return o.str();
}

}  // namespace sluice::reports
