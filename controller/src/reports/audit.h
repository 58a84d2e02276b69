#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "record/event.h"
#include "record/trust.h"

namespace sluice::reports {

// `sluice audit`: the record under refs/notes/sluice read as a history of
// changes, with the exceptions an auditor asks about first and the DORA
// figures. Everything here is pure: no I/O, no clock, no logging. The reader
// (audit_reader.h) turns a repository into the inputs below.
//
// Rules and formulas are documented in docs/record.md ("sluice audit").

// The events of one note: the annotated commit and its parsed lines.
struct AnnotatedCommit {
  std::string commit;  // 40 hex
  std::vector<record::Event> events;
};

// What Git says about a change's commit (filled by the reader).
struct ChangeSource {
  bool known = false;          // false: the commit could not be read
  std::string landing_commit;  // the commit that brought the pin (often the candidate)
  std::string author;          // "Name <email>" of the landing commit: the proposer
  TimePoint committed{};       // committer time of the landing commit
  std::string subject;         // first line of its message
  std::string body;            // the rest of its message (trailers included)
  std::string rollback_to;     // `Sluice-Rollback:` trailer: the LKG it restores
  std::string reverts;         // "This reverts commit <sha>." (a plain git revert)
};

// Which events count. Empty env/app: all; since/until: see CollectChanges.
struct AuditFilter {
  std::string env;
  std::string app;
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // exclusive
};

// One change: one candidate commit for one (env, app), with the story the
// record tells about it.
struct Change {
  std::string env;
  std::string app;
  std::string commit;  // the candidate the controller acted on
  std::string digest;
  std::string version;
  ChangeSource source;
  std::vector<std::string> approvers;     // union over its events, in order
  std::string approval_method;            // forge | signed | forge+signed | not-required | ""
  std::string approval_reason;            // the `approval` gate's reason
  std::vector<record::GateRecord> gates;  // of the `applying` event, else of the last event
  std::optional<TimePoint> first_event;
  std::optional<TimePoint> applying;     // first `applying`
  std::optional<TimePoint> applied;      // first `applied`
  std::optional<TimePoint> verified;     // first `verified`
  std::optional<TimePoint> failed;       // first `failed` that was not `interrupted`
  std::optional<TimePoint> drift;        // first `drift` that is not a resolution
  std::optional<TimePoint> rolled_back;  // first `rolled-back` event, or when the rollback applied
  // adapter | verification | "" (set with `failed`)
  std::string failure;
  // verified | failed | rolled-back | applied | applying | interrupted |
  // blocked | waiting | drift
  std::string outcome;
  std::string reason;                 // of the last event
  std::string rolls_back;             // commit of the change this one rolled back
  std::string rolled_back_by;         // commit of the change that rolled this one back
  std::vector<record::Event> events;  // in record order
};

// An applied change the policy should not have let through.
struct AuditException {
  std::string env;
  std::string app;
  std::string commit;
  std::string rule;    // no-approvers | gate-not-pass
  std::string detail;  // one line for people
};

// A median / p90 over seconds.
struct DurationStats {
  size_t samples = 0;
  std::optional<double> median_seconds;
  std::optional<double> p90_seconds;
};

struct Dora {
  // Verified deploys in the window per day of the window.
  size_t deploys = 0;
  double window_days = 0;
  std::optional<double> deploys_per_day;
  // Candidate commit time -> first `verified`.
  DurationStats lead_time;
  // Applied changes that later failed verification or were rolled back, over
  // applied changes.
  size_t applied = 0;
  size_t failed_changes = 0;
  std::optional<double> change_failure_rate;
  // A failure -> the next verified deploy of the same (env, app).
  size_t failures = 0;
  size_t unrestored = 0;
  DurationStats time_to_restore;
};

// The inputs of BuildAudit beyond the changes.
struct AuditOptions {
  AuditFilter filter;
  // Environments whose policy required approval. Empty: every environment
  // whose events ever carried an `approval` gate (see CollectResult).
  std::set<std::string> require_approval;
};

struct AuditReport {
  AuditFilter filter;
  std::optional<TimePoint> window_start;   // since, else the earliest change
  std::optional<TimePoint> window_end;     // until, else the latest event
  std::set<std::string> require_approval;  // as applied
  std::vector<Change> changes;             // by first event time, then env, app, commit
  std::vector<AuditException> exceptions;  // in change order
  Dora dora;
  // Record entries the workspace found untrusted (SPEC 1.3 rule 4): left
  // out of the changes and figures above, listed on their own.
  std::vector<record::UntrustedEntry> untrusted;
};

// What CollectChanges found.
struct CollectResult {
  std::vector<Change> changes;  // source unset: the reader fills it
  // Environments (after the env/app filter, before the time filter) where
  // some event carried an `approval` gate: their policy required approval.
  std::set<std::string> envs_with_approval_gate;
};

// Groups the events of `notes` into changes, one per (env, app, commit),
// keeping those that match `filter`: env and app exactly, and the change's
// time (its first `applying`, else its first event) in [since, until).
// The commit is the note's (an event's own `commit` key is not trusted).
// Events of a change are kept in record order. Pure.
CollectResult CollectChanges(const std::vector<AnnotatedCommit>& notes, const AuditFilter& filter);

// The events of a note that are about `env` and `app` (an empty filter
// matches all), in order. A line whose text lacks the quoted name (`"prod"`)
// is skipped without being parsed, so filtering a large record costs a
// substring search per line, not a JSON parse; names with characters a JSON
// writer might escape are checked after parsing only.
std::vector<record::Event> ParseNoteFor(std::string_view note_text, std::string_view env,
                                        std::string_view app);

// The time a change is placed at: its first `applying`, else its first event.
std::optional<TimePoint> ChangeTime(const Change& c);

// Summarises each change (approvers, gates, times, outcome), links
// rollbacks, finds the exceptions and computes the DORA figures. `changes`
// come from CollectChanges with `source` filled (an unknown source is fine:
// no proposer, and the lead time falls back to nothing). Pure.
AuditReport BuildAudit(std::vector<Change> changes, const AuditOptions& options,
                       const std::set<std::string>& envs_with_approval_gate);

// The DORA figures of `changes` (each counted at ChangeTime) over the
// window [start, end): verified deploys per day, lead time, change failure
// rate, and time to restore, where a failure's restoring deploy is looked up
// among `restores_from` (every change of the report, so a failure restored
// after the window still counts as restored). BuildAudit's figures and the
// weekly delivery charts (reports/delivery.h) both come from here. Pure.
Dora ComputeDora(const std::vector<const Change*>& changes, std::optional<TimePoint> start,
                 std::optional<TimePoint> end, const std::vector<Change>& restores_from);

// Parses --since/--until: RFC 3339, or YYYY-MM-DD (midnight UTC).
// InvalidArgument naming the text otherwise.
Result<TimePoint> ParseAuditTime(const std::string& text);

// The `Sluice-Rollback:` / "This reverts commit" references of a commit
// message, for ChangeSource. Pure.
void ReadRollbackReferences(const std::string& message, ChangeSource* source);

// Median (mean of the two middle values for an even count) and p90 (nearest
// rank: the ceil(0.9 n)-th smallest) of `seconds`; nullopt when empty.
DurationStats Stats(std::vector<double> seconds);

}  // namespace sluice::reports
