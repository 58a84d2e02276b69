#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "record/workspace.h"
#include "reports/audit.h"

namespace sluice::reports {

// `sluice history ENV APP`: the releases of one app in one environment,
// newest first, read from the record by the audit reader (ReadAudit): every
// change the controller started to apply (an `applying` event), with what
// happened to it. The rows `rollback --to` chooses from.
struct Release {
  std::string commit;  // the candidate the controller applied (40 hex)
  std::string digest;
  std::string version;
  std::string subject;    // first line of the landing commit's message
  TimePoint when{};       // its first `applying` event
  bool verified = false;  // a `verified` event: `rollback --to` may name it
  std::optional<TimePoint> verified_at;
  std::optional<TimePoint> failed_at;
  // verified | failed | rolled-back | applied | applying | interrupted
  std::string outcome;
  std::string proposer;                // "Name <email>" of the landing commit
  std::vector<std::string> approvers;  // as recorded
  std::string approval;                // forge | signed | forge+signed | not-required | ""
  std::string rolls_back;              // this release rolled back that commit
  std::string rolled_back_by;          // the commit that rolled this release back
  std::string reason;                  // of its last event
  bool running = false;                // refs/sluice/deployed points at it
  bool lkg = false;                    // refs/sluice/lkg points at it
};

// The releases among `changes` (those with an `applying` event), newest
// first (by their first `applying`, then commit); `deployed` and `lkg`
// (commit ids, "" when unknown) mark the running release and the
// last-known-good. Pure.
std::vector<Release> ReleasesOf(const std::vector<Change>& changes, const std::string& deployed,
                                const std::string& lkg);

// Reads the releases of (env, app) from the workspace's record (call
// Workspace::Sync first): ReadAudit filtered to env and app, then
// ReleasesOf with the record's deployed and LKG refs. Only trusted record
// entries count (SPEC 1.3 rule 4). Takes the workspace mutex. Errors:
// ReadAudit's.
Result<std::vector<Release>> ReadHistory(record::Workspace& ws, const std::string& env,
                                         const std::string& app);

}  // namespace sluice::reports
