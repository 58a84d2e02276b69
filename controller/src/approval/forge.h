#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "core/clock.h"
#include "core/result.h"
#include "net/http_client.h"

namespace sluice::approval {

// One approval the forge gave to the exact head that was merged.
struct ForgeApprover {
  std::string login;  // forge user name, as the forge spells it
  std::string how;    // "github review 80 on 6dcb09b5b57875f3", "gitlab approval of !7 on ..."
};

// One review or approval the forge shows that does not count, and why.
struct ForgeRejection {
  std::string login;
  std::string why;  // "approval was for an older head 6dcb09b", "review was dismissed", ...
};

// What the forge says about the pull/merge request that produced a commit.
struct ForgeApproval {
  // A merged pull/merge request whose merge (or squash) commit is the commit
  // asked about. false: the commit came from no pull request (a direct push),
  // and every other field is empty.
  bool found = false;
  std::string number;                    // "#7" (GitHub) or "!7" (GitLab)
  std::string url;                       // the web page of the pull/merge request
  std::string author;                    // login of whoever opened it
  std::string head_sha;                  // the head commit that was merged
  std::vector<ForgeApprover> approvers;  // approvals bound to head_sha, one per login
  std::vector<ForgeRejection> rejected;  // reviews shown but not counted

  // The forge refused to answer for now (HTTP 403/429 with a rate-limit
  // signal). Not a failure: the gate waits. When rate_limited is set nothing
  // else is meaningful.
  bool rate_limited = false;
  std::optional<TimePoint> retry_at;  // when the limit resets, if the forge said
};

// A pull/merge request `sluice promote --open-pr` asks the forge to open,
// from branch `head` into branch `base` of the forge's repository.
struct PullRequestToOpen {
  std::string title;
  std::string body;  // Markdown
  std::string head;  // source branch, e.g. "sluice/promote/api-prod-389f2410"
  std::string base;  // target branch, e.g. "main"
};

// What the forge answered when it opened one.
struct OpenedPullRequest {
  std::string number;  // "#7" (GitHub) or "!7" (GitLab)
  std::string url;     // its web page
};

// An open pull/merge request into the tracked branch (gate results on the
// pull request, engine/pull_request_checks.h).
struct OpenChange {
  std::string number;     // "#7" (GitHub) or "!7" (GitLab)
  std::string url;        // its web page
  std::string author;     // login of whoever opened it
  std::string head_sha;   // its head commit, as the forge says (40 hex)
  std::string fetch_ref;  // where the forge publishes the head: refs/pull/7/head,
                          // refs/merge-requests/7/head
};

// One commit status to post on a commit (GitHub "statuses", GitLab "commit
// status"). `state` is pending, success or failure (GitLab's "failed" is
// mapped by its forge); `description` is cut to the forge's limit.
struct CommitStatusUpdate {
  std::string sha;
  std::string context;  // "sluice/prod"
  std::string state;
  std::string description;
  std::string target_url;  // may be empty
};

// Forge is the seam through which Sluice asks a code-hosting forge who
// approved a merge, and opens the pull request of a promotion. Implementations speak the forge's
// REST API through an HttpClient; tests run them against a loopback server.
//
// Errors: IOError/Timeout for transport failures, FailedPrecondition for an
// answer that is not what the API documents (status, JSON shape), with the
// URL (credentials stripped) in the message. The token never appears in an
// error or a log line. Thread-compatible: one call at a time per object.
class Forge {
 public:
  virtual ~Forge() = default;

  // Approvals of the merged pull/merge request whose merge commit is
  // `merge_commit` (40 hex). See ForgeApproval for the "not found" and
  // "rate limited" outcomes, which are successful Results.
  virtual Result<ForgeApproval> ApprovalsFor(const std::string& merge_commit) = 0;

  // Opens a pull/merge request. FailedPrecondition with the forge's own
  // reason when it refuses (one already open for the branch, the branch
  // unknown, no permission, rate limited), IOError/Timeout for transport.
  virtual Result<OpenedPullRequest> OpenPullRequest(const PullRequestToOpen& pr) = 0;

  // The open pull/merge requests whose target is `base_branch` (at most
  // kMaxPages pages of 100). FailedPrecondition when rate limited (with
  // when it resets) or when the answer is not what the API documents.
  virtual Result<std::vector<OpenChange>> OpenChanges(const std::string& base_branch) {
    (void)base_branch;
    return Status::FailedPrecondition("this forge cannot list pull requests");
  }

  // The approvals of open change `change` bound to its head `head_sha`, by
  // the same rules as ApprovalsFor (found is true; number, url, author and
  // head_sha are `change`'s).
  virtual Result<ForgeApproval> ApprovalsOfOpen(const OpenChange& change) {
    (void)change;
    return Status::FailedPrecondition("this forge cannot read pull request approvals");
  }

  // Posts one commit status. FailedPrecondition with the forge's reason when
  // it refuses, IOError/Timeout for transport.
  virtual Status PostCommitStatus(const CommitStatusUpdate& status) {
    (void)status;
    return Status::FailedPrecondition("this forge cannot post commit statuses");
  }
};

// GitHub (github.com or Enterprise Server, REST v3):
//   GET {api}/repos/{repo}/commits/{sha}/pulls      the PR whose merge_commit_sha
//                                                   is sha and merged_at is set
//   GET {api}/repos/{repo}/pulls/{n}/reviews?per_page=100, following
//       `Link: <...>; rel="next"` (same origin only, at most kMaxPages pages)
// A reviewer counts when their latest decisive review (APPROVED,
// CHANGES_REQUESTED, DISMISSED; COMMENTED changes nothing) is APPROVED with
// commit_id equal to the PR's head.sha. Sends `Authorization: Bearer <token>`
// when `token` is not empty. `clock` (may be null: the system clock) turns a
// relative Retry-After into a time.
//   POST {api}/repos/{repo}/pulls  {title, head, base, body} -> 201 {number, html_url}
//   GET  {api}/repos/{repo}/pulls?state=open&base={branch}&per_page=100
//   POST {api}/repos/{repo}/statuses/{sha}  {state, target_url, description, context}
class GitHubForge final : public Forge {
 public:
  static constexpr int kMaxPages = 50;
  GitHubForge(net::HttpClient& http, std::string api, std::string repo, std::string token,
              const Clock* clock = nullptr);
  Result<ForgeApproval> ApprovalsFor(const std::string& merge_commit) override;
  Result<OpenedPullRequest> OpenPullRequest(const PullRequestToOpen& pr) override;
  Result<std::vector<OpenChange>> OpenChanges(const std::string& base_branch) override;
  Result<ForgeApproval> ApprovalsOfOpen(const OpenChange& change) override;
  Status PostCommitStatus(const CommitStatusUpdate& status) override;

 private:
  net::HttpClient& http_;
  std::string api_;
  std::string repo_;
  std::string token_;
  const Clock* clock_;
};

// GitLab (gitlab.com or self-managed, REST v4; `api` ends in /api/v4):
//   GET {api}/projects/{id}/repository/commits/{sha}/merge_requests
//       the MR in state "merged" whose merge_commit_sha or squash_commit_sha
//       is sha (or, for a fast-forward merge, whose head `sha` is sha)
//   GET {api}/projects/{id}/approvals                  reset_approvals_on_push
//   GET {api}/projects/{id}/merge_requests/{iid}/approvals   approved_by[].user.username
// GitLab's approval list carries no commit id: an approval is bound to the
// merged head only because the project removes all approvals when commits
// are pushed to the source branch ("reset approvals on push"). When that
// setting is off, or cannot be read, every approval is reported as rejected
// (fail closed). `project` is "group/project" or a numeric id; sends
// `PRIVATE-TOKEN: <token>` when `token` is not empty.
//   POST {api}/projects/{id}/merge_requests  {source_branch, target_branch,
//        title, description, remove_source_branch} -> 201 {iid, web_url}
//   GET  {api}/projects/{id}/merge_requests?state=opened&target_branch={branch}&per_page=100
//   POST {api}/projects/{id}/statuses/{sha}  {state (pending|success|failed), name,
//        target_url, description}
class GitLabForge final : public Forge {
 public:
  GitLabForge(net::HttpClient& http, std::string api, std::string project, std::string token,
              const Clock* clock = nullptr);
  Result<ForgeApproval> ApprovalsFor(const std::string& merge_commit) override;
  Result<OpenedPullRequest> OpenPullRequest(const PullRequestToOpen& pr) override;
  Result<std::vector<OpenChange>> OpenChanges(const std::string& base_branch) override;
  Result<ForgeApproval> ApprovalsOfOpen(const OpenChange& change) override;
  Status PostCommitStatus(const CommitStatusUpdate& status) override;

 private:
  std::string ProjectPath() const;

  net::HttpClient& http_;
  std::string api_;
  std::string project_;
  std::string token_;
  const Clock* clock_;
};

// The forge token: the first line of `settings.token_file` (a file of the
// controller's configuration; surrounding whitespace trimmed) when it is
// set, else `fallback` (SLUICE_FORGE_TOKEN as the process found it at
// start), else "" (anonymous). The token is registered as a secret
// (core/secrets.h). IOError naming the file (never its content) when the
// file cannot be read.
Result<std::string> LoadForgeToken(const config::ForgeSettings& settings,
                                   std::string_view fallback = {});

// A GitHubForge or GitLabForge for `settings` (type github|gitlab; api
// defaulting to https://api.github.com or https://gitlab.com/api/v4),
// borrowing `http` and `clock` (both must outlive the forge).
// InvalidArgument for another type or an empty repo.
Result<std::unique_ptr<Forge>> MakeForge(const config::ForgeSettings& settings,
                                         net::HttpClient& http, const std::string& token,
                                         const Clock* clock = nullptr);

}  // namespace sluice::approval
