#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "git/repo.h"
#include "trust/custody.h"
#include "trust/policy_in_force.h"

namespace sluice::trust {

// The files the deploy of `pin` (environments/<env>/apps/<app>.yaml) reads:
// the pin; the exec command's file and the directory holding it (its
// helpers live there); Helm values files and a local chart directory; the
// Terraform directory; and the policy files (sluice.yaml, environment.yaml).
// Only paths inside the repository are listed (a program on PATH, an OCI or
// repository chart is not in Git). Pure.
std::vector<std::string> DeployReadPaths(const config::Pin& pin, const std::string& pin_path,
                                         const std::string& policy_path);

// What the approval-coverage check found.
struct CoverageResult {
  bool ok = false;
  std::string reason;                   // one line: why not, or what was covered
  std::vector<IgnoredEdit> unapproved;  // the edits in the way, oldest first
};

// Rule 2 of the trust rule (SPEC section 1.3): every first-parent commit in
// (base, candidate] that changes one of `paths` must carry approval under
// `rule` with `settings` (the policy in force), judged by the chain of
// custody (trust/custody.h): an edit reverted by a later commit is no
// obstacle, an approved edit built on an unapproved one does not count.
// Passes when the content of every path at `candidate` is content that was
// approved (or is unchanged since `base`).
//
// `base` is the commit applied last for the app (or, before any apply, the
// environment's first policy version). `pre_approved(commit)` short-cuts
// commits already judged (the landing commit whose approval gate passed, a
// rollback this controller committed). Fails closed: a base that is not in
// the candidate's first-parent history, or a history deeper than
// `max_depth`, blocks with the reason. `repo_mutex` is held around
// repository reads only, never across `approve`.
CoverageResult CheckCoverage(std::mutex& repo_mutex, const git::Repository& repo,
                             const config::ApprovalPolicy& rule,
                             const config::RepoSettings& settings, const std::string& base,
                             const std::string& candidate, const std::vector<std::string>& paths,
                             const CommitApproval& approve,
                             const std::function<bool(const std::string&)>& pre_approved,
                             size_t max_depth);

}  // namespace sluice::trust
