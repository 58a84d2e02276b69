// Shared fixtures of the approval tests: a Git repository driven by the git
// CLI (real commits, real SSH signatures) and loopback forge servers that
// serve the documented GitHub and GitLab response shapes.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace sluice::approval::testing {

using nlohmann::json;

inline constexpr const char* kPin = "environments/prod/apps/api.yaml";

struct Identity {
  std::string name;
  std::string email;
};

inline const Identity kAlice{"Alice", "alice@example.com"};
inline const Identity kBob{"Bob", "bob@example.com"};
inline const Identity kCarol{"Carol", "carol@example.com"};
inline const Identity kMallory{"Mallory", "mallory@example.com"};

// An ed25519 key made with ssh-keygen; `allowed` is its allowed_signers line.
struct SshKey {
  std::string private_key;
  std::string allowed;
};

// A working repository (branch main) made and changed with the git CLI.
class RepoFixture {
 public:
  RepoFixture();

  const std::string& path() const { return work_; }
  const std::string& base() const { return base_; }  // the first commit ("deployed")

  // ssh-keygen -t ed25519 -N '' for `who`.
  SshKey MakeKey(const Identity& who);

  // Commits `files` on the current branch as `author` (committer too).
  std::string Commit(const std::map<std::string, std::string>& files, const std::string& message,
                     const Identity& author);

  // git checkout [-b] NAME.
  void Checkout(const std::string& branch, bool create = false);

  // On main: git merge --no-ff BRANCH committed by `committer`, signed with
  // `key` (a private key path) when given.
  std::string Merge(const std::string& branch, const std::string& message,
                    const Identity& committer, const std::string& key = "");

  // The usual promotion: branch `branch` from main, `author` changes the pin
  // (plus `extra` files), then `merger` merges it (signed with `key` if set).
  // Returns {head of the branch, merge commit}.
  std::pair<std::string, std::string> PullRequest(
      const std::string& branch, const Identity& author, const Identity& merger,
      const std::string& key = "", const std::map<std::string, std::string>& extra = {});

  std::string Git(const std::vector<std::string>& args, const Identity& as);

 private:
  sluice::testing::TempDir tmp_;
  std::string work_;
  std::string base_;
  int counter_ = 0;
};

// A JSON pull request as GitHub's "List pull requests associated with a
// commit" returns it (the fields Sluice reads, plus a few for realism).
json GitHubPull(int number, const std::string& author, const std::string& head,
                const std::string& merge_commit, bool merged = true);

// A JSON review as "List reviews for a pull request" returns it.
json GitHubReview(long id, const std::string& login, const std::string& state,
                  const std::string& commit_id);

// A loopback HTTP server on 127.0.0.1 running cpp-httplib on its own thread.
class LoopbackServer {
 public:
  LoopbackServer() = default;
  virtual ~LoopbackServer();
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

 protected:
  void Start();
  httplib::Server server_;

 private:
  std::thread thread_;
  int port_ = 0;
};

// GitHub REST v3 as documented:
//  - GET /repos/{owner}/{repo}/commits/{sha}/pulls
//    https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit
//  - GET /repos/{owner}/{repo}/pulls/{n}/reviews?per_page=&page=
//    https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request
//    (chronological; per_page max 100, default 30; `link` header with
//    rel="next"/"last" as in "Using pagination in the REST API")
//  - rate limits ("Rate limits for the REST API", "Troubleshooting the REST
//    API"): 403 or 429 with x-ratelimit-remaining: 0 and x-ratelimit-reset
//    (UTC epoch seconds); secondary limits with retry-after seconds.
class FakeGitHub : public LoopbackServer {
 public:
  FakeGitHub();
  std::string api() const { return base(); }

  void AddPull(const std::string& commit, json pull);
  void SetReviews(int number, std::vector<json> reviews);

  enum class Mode { kNormal, kPrimaryLimit403, kSecondaryLimit429, kEchoAuth401 };
  void SetMode(Mode m) { mode_ = m; }
  long reset_epoch = 1893456000;  // 2030-01-01T00:00:00Z

  int review_page_requests() const { return review_pages_; }
  std::vector<std::string> authorizations() const;

 private:
  bool Limited(const httplib::Request& req, httplib::Response& res);
  mutable std::mutex mu_;
  std::map<std::string, json> pulls_;         // commit -> array
  std::map<int, std::vector<json>> reviews_;  // number -> all reviews
  std::vector<std::string> auth_;
  std::atomic<Mode> mode_{Mode::kNormal};
  std::atomic<int> review_pages_{0};
};

// GitLab REST v4 as documented (base path /api/v4):
//  - GET /projects/:id/repository/commits/:sha/merge_requests
//  - GET /projects/:id/approvals (project approval settings;
//    reset_approvals_on_push)
//  - GET /projects/:id/merge_requests/:iid/approvals
//    https://docs.gitlab.com/api/merge_request_approvals.html
//    (approved_by: [{user: {username, ...}}])
class FakeGitLab : public LoopbackServer {
 public:
  FakeGitLab();
  std::string api() const { return base() + "/api/v4"; }

  // A merged MR (state "merged") whose merge commit is `merge_commit` and
  // whose head (`sha`) is `head`.
  void AddMergeRequest(const std::string& commit, int iid, const std::string& author,
                       const std::string& head, const std::string& merge_commit);
  void SetApprovers(int iid, std::vector<std::string> usernames);
  bool reset_approvals_on_push = true;

  std::vector<std::string> private_tokens() const;
  std::vector<std::string> project_ids() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, json> mrs_;
  std::map<int, std::vector<std::string>> approvers_;
  std::vector<std::string> tokens_;
  std::vector<std::string> projects_;
};

}  // namespace sluice::approval::testing
