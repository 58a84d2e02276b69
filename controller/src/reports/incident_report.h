#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "reports/audit.h"
#include "reports/pin_side.h"

namespace sluice::reports {

// `sluice incident-report ENV APP`: what the record says about a failed
// release of one (env, app) and how service was restored — a timeline, the
// versions, the approvers, time-to-detect and time-to-restore. Building and
// rendering are pure; incident_report_reader.h reads the repository.
// Definitions: docs/incidents.md ("The incident report").

// Which failures to report.
struct IncidentOptions {
  std::string env;
  std::string app;
  // Failures detected in [since, until). Neither set and no incident: only
  // the last failure. `since` also starts the timeline (it may only widen it).
  std::optional<TimePoint> since;
  std::optional<TimePoint> until;
  // Only the failure whose rollback (or the failed change itself) carries
  // `Sluice-Incident: <incident>`.
  std::string incident;
};

// One line of the timeline.
struct TimelineEntry {
  TimePoint time{};
  // merged | rollback-commit | waiting | blocked | applying | applied |
  // rolled-back | verified | failed | interrupted | drift | dependent-waiting |
  // dependent-blocked (another app this one held, deploy.dependsOn)
  std::string event;
  std::string commit;               // environments-repository commit (full id)
  std::string version;              // the pin's artifact.version, "" when unknown
  std::string text;                 // one line for people
  std::vector<std::string> values;  // measured values (one check per line)
};

// An approver and how their approval was established.
struct IncidentApprover {
  std::string name;
  std::string how;  // "forge review" | "signed merge" | "recorded approver"
};

// One failure and what restored service.
struct IncidentFailure {
  std::string commit;  // the failed (or rolled-back) change's candidate commit
  ReleaseSide bad;
  // verification | adapter | rolled-back (no failed event: someone rolled it back)
  std::string failure;
  std::string proposer;  // author of its landing commit
  std::string subject;
  std::vector<IncidentApprover> approvers;
  std::string approval_evidence;     // the approval gate's reason
  std::optional<TimePoint> started;  // the bad release started running (applied, else applying)
  TimePoint detected{};              // the failed event, else the rollback commit's time
  std::string failed_reason;
  std::vector<std::string> failed_values;
  std::vector<std::string> incidents;  // Sluice-Incident trailers (rollback and change)

  // What restored service: the rollback, else the next verified change.
  std::string restore_commit;  // "" when not restored (yet)
  ReleaseSide restored;
  bool by_rollback = false;
  std::string rollback_commit;  // the rollback change's commit
  // The controller wrote the rollback itself (onFailure: rollback): its
  // failed event says "rolled back by <rollback commit>".
  bool automatic = false;
  std::string rollback_author;  // "Name <email>" of the rollback commit
  std::string rollback_target;  // the verified commit whose pin it restores
  std::vector<IncidentApprover> rollback_approvers;
  std::optional<TimePoint> rollback_committed;  // committer time of the rollback commit
  std::optional<TimePoint> rollback_applied;    // its `rolled-back` (or `applied`) event
  std::optional<TimePoint> restored_verified;   // the restoring change's `verified` event

  std::optional<double> time_to_detect_seconds;   // detected - started
  std::optional<double> time_to_restore_seconds;  // restored_verified - detected
};

struct IncidentReport {
  std::string env;
  std::string app;
  IncidentOptions options;
  std::vector<IncidentFailure> failures;  // by detection time
  std::vector<TimelineEntry> timeline;    // by time, then record order
  std::optional<TimePoint> window_start;  // what the timeline covers
  std::optional<TimePoint> window_end;
  std::string empty_message;  // set when `failures` is empty: "no failure recorded for ..."
};

// Builds the report of options.env/options.app from `changes` (BuildAudit's
// output for that pair, which sorts them and links rollbacks) and `sides`
// (the pin at each change's commit, by commit; missing entries leave
// versions from the record). Pure.
// `held` are `waiting`/`blocked` events of other apps of the environment
// held by this app (deploy.dependsOn; HeldBy selects them): each one in the
// window is a `dependent-waiting`/`dependent-blocked` line of the timeline.
IncidentReport BuildIncidentReport(const std::vector<Change>& changes,
                                   const std::map<std::string, ReleaseSide>& sides,
                                   const IncidentOptions& options,
                                   const std::vector<record::Event>& held = {});

// The reason of `e`'s `dependsOn` gate when `e` is a `waiting` or `blocked`
// event of another app of `env` that `app` holds ("dependency migrate
// failed: ...", "waiting for dependency migrate (blocked): ..."), else "".
std::string HeldBy(const record::Event& e, const std::string& env, const std::string& app);

// "8m 0s", "1h 2m", "45s", "0.4s". Pure.
std::string FormatSeconds(double seconds);

// The embedded default template (templates/incident-report.md).
std::string_view DefaultIncidentReportTemplate();

// Where an environments repository may keep its own incident-report template.
inline constexpr char kIncidentReportTemplatePath[] = "templates/incident-report.md";

// Renders `tmpl` (kainjow mustache, Markdown) with the variables listed in
// templates/incident-report.md. InvalidArgument when it does not parse. Pure.
Result<std::string> RenderIncidentReportMarkdown(const std::string& tmpl, const IncidentReport& r);

// The report as JSON (docs/incidents.md lists the keys); times RFC 3339,
// durations in seconds, absent values null. Pure.
std::string RenderIncidentReportJson(const IncidentReport& r);

}  // namespace sluice::reports
