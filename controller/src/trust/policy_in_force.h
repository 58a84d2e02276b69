#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/policy.h"
#include "config/settings.h"
#include "git/history.h"
#include "git/repo.h"
#include "trust/custody.h"

namespace sluice::trust {

// The policy in force for one environment (SPEC section 1.3, rule 1).
struct PolicyInForce {
  // The commit whose environment.yaml is in force: custom gates run from its
  // tree and freeze calendars are read there. "" when there is none.
  std::string commit;
  std::string settings_commit;  // the commit whose sluice.yaml is in force
  // The environment's first policy version (or trust.bootstrap): where the
  // approval-coverage walk starts before anything was applied.
  std::string first_commit;
  std::optional<config::RepoSettings> settings;
  std::optional<config::EnvironmentPolicy> policy;
  std::string error;                 // set when nothing can be judged (fail closed)
  std::vector<IgnoredEdit> ignored;  // edits of the policy files that took no effect

  // The policy sets `approval` with at least one approver.
  bool Protected() const { return policy && policy->approval && policy->approval->required > 0; }
};

// "edit in c0ffee123456 ignored: not approved under the policy it changes (…)"
// for `status` and `plan`, one line per ignored edit.
std::string DescribeIgnored(const IgnoredEdit& edit);

// Judges whether one commit carries approval under `rule`, with the groups
// and signers of `settings`; `paths` are the files whose edit is judged (a
// forge approval must be for a head that carries the same content). Returns
// "" when approved, otherwise why not. Implementations may do network and
// process I/O and must not expect any lock to be held.
using CommitApproval = std::function<std::string(
    const config::ApprovalPolicy& rule, const config::RepoSettings& settings,
    const std::string& commit, const std::vector<std::string>& paths)>;

struct TrustOptions {
  // trust.bootstrap: the commit where trust starts (its policy files are in
  // force as they are); "" trusts each environment's first policy version.
  std::string bootstrap;
  // The longest first-parent walk; a longer one fails closed with a message
  // asking for trust.bootstrap.
  size_t max_depth = 500000;
  // Where the walk's result is kept between processes (the controller's own
  // workdir, never the repository): `reconcile --once` then walks only the
  // commits added since the last run. "" keeps it in memory only.
  std::string cache_dir;
};

// PolicyResolver finds the policy in force of an environment at a branch
// head: the newest version of sluice.yaml and environment.yaml in the
// head's first-parent history whose edit was approved under the version
// before it. Nothing from the record (refs/sluice/*, notes) is read.
//
// A head that does not descend from the head judged before (a rewritten
// branch) is an error for an environment whose policy in force asks for
// approval (fail closed), and a fresh walk for one that asks for nothing.
//
// Cost: the first call for an environment walks the first-parent history
// once (one commit and two tree-entry lookups per commit); later calls walk
// only the commits added since the head they last saw (an in-memory cache
// per environment), so a daemon pays for each commit once.
//
// Thread-safe: the cache has its own mutex; `repo_mutex` is held around
// repository reads only, never across `approve` (forge HTTP, ssh-keygen).
class PolicyResolver {
 public:
  PolicyResolver(std::mutex& repo_mutex, const git::Repository& repo, CommitApproval approve,
                 TrustOptions options);

  // Never fails: a problem lands in `error` and the environment blocks.
  PolicyInForce Resolve(const std::string& env, const std::string& head);

  // Reads, in one first-parent walk, the history every environment of
  // `envs` needs before Resolve(env, head) (those whose last walk stopped at
  // the same commit share it): a cold start walks the history once, not
  // once per environment. Optional; Resolve walks by itself otherwise.
  void Prefetch(const std::vector<std::string>& envs, const std::string& head);

 private:
  struct Cached {
    std::string tip;
    Custody custody;
    std::string first_commit;
    std::string error;
  };
  Cached Walk(const std::string& env, const std::string& head, std::optional<Cached> from);
  // The history of `paths` (sluice.yaml, env's policy) from `head` back to
  // `stop`: a prefetched one when there is one, else a walk.
  Result<git::PathHistory> HistoryFor(const std::string& env, const std::string& head,
                                      const std::string& stop,
                                      const std::vector<std::string>& paths);
  // Whether the policy trusted in `custody` asks for approval.
  bool Protects(const std::string& env, const Custody& custody);
  // The walk kept in cache_dir for `env`, if any and made with the same
  // bootstrap; Save writes it atomically (temporary file, rename).
  std::optional<Cached> Load(const std::string& env) const;
  void Save(const std::string& env, const Cached& c) const;
  // The bytes of `blob`, read under the repository lock.
  Result<std::string> ReadLocked(const std::string& blob);
  // The settings or policy parsed from a blob.
  std::optional<config::RepoSettings> SettingsOf(const std::string& blob, std::string* error);
  std::optional<config::EnvironmentPolicy> PolicyOf(const std::string& env, const std::string& blob,
                                                    std::string* error);

  std::mutex& repo_mutex_;
  const git::Repository& repo_;
  CommitApproval approve_;
  TrustOptions options_;
  std::mutex mu_;  // guards cache_
  std::map<std::string, Cached> cache_;
  std::map<std::string, git::PathHistory> prefetched_;  // env, head, stop -> history
};

}  // namespace sluice::trust
