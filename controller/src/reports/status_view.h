#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/clock.h"
#include "core/result.h"
#include "record/pass_stamp.h"
#include "record/workspace.h"

namespace sluice::reports {

struct PinRef {
  std::string digest;
  std::string version;
  std::string commit;
  std::string source;                   // artifact.source (the app's source commit), informative
  std::vector<std::string> depends_on;  // deploy.dependsOn
};

// One recent event of an (env, app): the dashboard's timeline. (Not the
// incident report's TimelineEntry: one name for two layouts in one namespace
// broke the One Definition Rule and crashed the incident report.)
struct RecentEvent {
  std::string time;     // RFC 3339
  std::string event;    // waiting | blocked | applying | applied | verified | ...
  std::string commit;   // the environments-repo commit it is about
  std::string version;  // the pin's version at that commit (may be empty)
  std::string reason;
};

// How many events StatusRow::recent keeps.
inline constexpr size_t kRecentEvents = 6;

// One row of `sluice status` (SPEC section 7).
struct StatusRow {
  std::string env;
  std::string app;
  PinRef desired;
  PinRef deployed;                     // empty commit: never deployed
  std::string deployed_time;           // RFC 3339, from the `applied` event
  std::vector<std::string> approvers;  // from the `applied` event
  std::string deployed_subject;        // first line of the deployed commit's message
  // What ran before the deployed release (the `previous` key of its
  // `applied`/`rolled-back` event); empty commit: unknown or first release.
  PinRef previous;
  std::string source_range;  // SourceRange(previous.source, deployed.source)
  // The controller's last recorded pass (same for every row).
  std::optional<record::PassStamp> last_pass;
  record::Freshness freshness;
  PinRef lkg;  // empty commit: none
  // in-sync | waiting | blocked | applying | verifying | failed
  std::string state;
  std::vector<std::string> reasons;
  // When the event the reasons come from was written (they are as of then;
  // a wait's end is restated against `now` when the row is computed).
  std::optional<TimePoint> reasons_as_of;
  // The running release failed (its last event is `failed`) and no verified
  // release has replaced it yet: kept visible while a newer change (e.g. a
  // blocked rollback) is what the row's state is about.
  struct Failure {
    std::string time;  // RFC 3339
    std::string commit;
    std::string version;
    std::string reason;
  };
  std::optional<Failure> last_failure;
  // With last_failure and a last-known-good to go back to: the command that
  // rolls back ("sluice rollback ENV APP --push").
  std::string rollback_command;
  // A release with deploy.strategy under way: where it stands ("canary 50%,
  // verifying (step 3 of 4)"); "" otherwise.
  std::string step;
  // The row's place (1-based) in its environment's order by
  // deploy.dependsOn of the desired pins (apps free to go by name); 0 when
  // the order has a problem (a cycle, a missing app: `validate` names it).
  size_t order = 0;
  // The newest events of this (env, app) on the commits the row names (the
  // pending one, the deployed one, the one before it, the LKG), newest
  // first, at most kRecentEvents: read from those notes only, never by
  // walking history.
  std::vector<RecentEvent> recent;
  // Record entries of this (env, app) (or of its env's applied ref) that
  // Workspace::Sync found untrusted and ignored: "<what>: <reason>".
  std::vector<std::string> untrusted;
  // High availability (--etcd): the instance id of the replica that holds
  // this row's environment in etcd, "" when none does. nullopt when owners
  // were not looked up (no --etcd): the JSON then has no `owner` key.
  std::optional<std::string> owner;
  // The forge's web page of a commit without its id ("https://github.com/
  // org/envs/commit/"); "" when no forge is configured. Set by
  // SetCommitLinks; the JSON then gives each pin a `url`.
  std::string commit_url_prefix;
};

// The web page prefix of the commits of the forge's repository, from the
// controller's forge settings: GitHub (api.github.com, or <host>/api/v3 of
// GitHub Enterprise) → https://<host>/<repo>/commit/; GitLab (<host>/api/v4)
// → https://<host>/<repo>/-/commit/; "" for anything else.
std::string CommitUrlPrefix(const config::ForgeSettings& forge);

// Gives every row the forge's commit links (CommitUrlPrefix).
void SetCommitLinks(std::vector<StatusRow>& rows, const config::ForgeSettings& forge);

// Sets each row's `owner` from `owner_of` (env -> instance id; an env
// absent from it: "", no replica holds it).
void SetOwners(std::vector<StatusRow>& rows, const std::map<std::string, std::string>& owner_of);

// Computes the status of every (env, app) at the head of the tracked branch
// from the record in the workspace (call Workspace::Sync first). Filters by
// env/app when non-empty. `now` (the caller's clock) judges whether the
// controller's last pass is fresh (JudgeFreshness with `stale_after`);
// without it freshness is "unknown". Takes the workspace mutex.
Result<std::vector<StatusRow>> ComputeStatus(
    record::Workspace& ws, const std::string& env_filter, const std::string& app_filter,
    std::optional<TimePoint> now = std::nullopt,
    std::optional<std::chrono::seconds> stale_after = std::nullopt);

// Renders `rows` as the JSON of `sluice status --format json` (SPEC section
// 7): an array with one object per (env, app) holding env, app, desired,
// deployed (with time and approvers), lkg, state and reasons; a pin that is
// absent (never deployed, no LKG) is null. New keys beyond SPEC section 7:
// `source` on every pin, `subject` in deployed, `previous` (a pin or null),
// `sourceRange`, `lastPass`, `recent`, `untrusted`, `dependsOn` and `order`, `step` (only while
// a stepped release is under way), and, with
// owners looked up (SetOwners), `owner` (an instance id, or null) (docs/record.md).
// `indent` < 0 renders compactly. Shared by the CLI and the daemon's GET /api/v1/status so
// both stay equal.
std::string RenderStatusJson(const std::vector<StatusRow>& rows, int indent = 2);

}  // namespace sluice::reports
