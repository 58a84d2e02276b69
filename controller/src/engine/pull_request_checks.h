#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "approval/forge.h"
#include "core/clock.h"
#include "engine/judge.h"
#include "record/pass_report.h"
#include "record/workspace.h"

namespace sluice::engine {

// What one round did.
struct PullRequestRound {
  std::vector<record::PullRequestStatus> checks;
  std::vector<std::string> problems;  // the forge or the fetch failed; nothing is held by it
};

// PullRequestChecker posts the gates' verdict on open pull requests (gate
// results on the pull request): for each open pull/merge request into the
// tracked branch, each environment whose directory the request changes gets
// a commit status `sluice/<env>` on the request's head:
//   - pending while a gate waits (a window, a soak, the approval),
//   - failure when a gate blocks,
//   - success when every gate passes as if the request were merged now,
// with the gate summary as description and a link to the dashboard.
//
// The request's head is fetched from where the forge publishes it
// (refs/pull/N/head, refs/merge-requests/N/head) and judged by
// Judge::EvaluateOpenChange under the policy in force on the tracked branch
// (never the policy the request brings: trust rule 1). Nothing is applied or
// recorded. Only what changed since the last round is posted again. A forge
// or fetch error is a `problem` of the round and is retried by the next;
// it never holds a release.
//
// Not thread-safe: one round at a time. Everything borrowed must outlive it.
class PullRequestChecker {
 public:
  struct Options {
    std::string dashboard_url;  // "" leaves target_url out
    // High availability: whether this replica posts for `env` (its owner
    // does). Empty: every environment.
    std::function<bool(const std::string& env)> posts_for;
    // Where what was posted is kept across restarts (the controller's
    // workdir), so a restarted controller does not post every status again.
    // "" keeps it in memory only.
    std::string state_file;
  };

  PullRequestChecker(record::Workspace& ws, Judge& judge, approval::Forge& forge,
                     const Clock& clock, Options options);

  // One round against the branch head `head`.
  PullRequestRound Run(const std::string& head);

 private:
  // Judges every environment of `pipeline` (sluice.yaml at `head`) that
  // `change` touches; appends its checks.
  void CheckChange(const approval::OpenChange& change, const std::string& head,
                   const std::vector<std::string>& pipeline, PullRequestRound& round);
  std::string TargetUrl() const;
  void LoadPosted();
  void SavePosted() const;

  record::Workspace& ws_;
  Judge& judge_;
  approval::Forge& forge_;
  const Clock& clock_;
  Options options_;
  // (head, env) -> "state\ndescription" last posted, so a round re-posts
  // only what changed. Entries of heads no longer open are dropped.
  std::map<std::pair<std::string, std::string>, std::string> posted_;
};

// The local ref an open change's head is fetched into.
std::string OpenChangeRef(const approval::OpenChange& change);

}  // namespace sluice::engine
