#include "trust/coverage.h"

#include <algorithm>
#include <map>

#include "config/repository_config.h"
#include "core/strings.h"
#include "git/history.h"

namespace sluice::trust {
namespace {

void Add(std::vector<std::string>& out, const std::string& path) {
  if (path.empty() || !config::IsContainedPath(path)) return;
  std::string clean = path;
  while (clean.size() > 2 && clean.compare(0, 2, "./") == 0) clean.erase(0, 2);
  while (!clean.empty() && clean.back() == '/') clean.pop_back();
  if (clean.empty() || clean == ".") return;
  if (std::find(out.begin(), out.end(), clean) == out.end()) out.push_back(clean);
}

}  // namespace

std::vector<std::string> DeployReadPaths(const config::Pin& pin, const std::string& pin_path,
                                         const std::string& policy_path) {
  std::vector<std::string> out;
  Add(out, pin_path);
  Add(out, policy_path);
  Add(out, config::SettingsPath());
  const config::Deploy& d = pin.deploy;
  if (d.exec && !d.exec->command.empty()) {
    const std::string& program = d.exec->command.front();
    if (program.find('/') != std::string::npos) {
      Add(out, program);
      Add(out, program.substr(0, program.rfind('/')));
    }
  }
  if (d.helm) {
    for (const auto& v : d.helm->values) Add(out, v);
    const std::string& chart = d.helm->chart;
    // A chart in the repository is a path; "oci://…", "https://…" and
    // "repo/chart" from a Helm repository are not in Git.
    if (chart.find("://") == std::string::npos &&
        (chart.rfind("./", 0) == 0 || chart.find('/') != std::string::npos)) {
      Add(out, chart);
    }
  }
  if (d.terraform) Add(out, d.terraform->dir);
  return out;
}

CoverageResult CheckCoverage(std::mutex& repo_mutex, const git::Repository& repo,
                             const config::ApprovalPolicy& rule,
                             const config::RepoSettings& settings, const std::string& base,
                             const std::string& candidate, const std::vector<std::string>& paths,
                             const CommitApproval& approve,
                             const std::function<bool(const std::string&)>& pre_approved,
                             size_t max_depth) {
  CoverageResult r;
  if (base.empty()) {
    r.reason =
        "no approved starting point to check what changed against (no policy version "
        "and nothing applied)";
    return r;
  }
  Result<git::PathHistory> history = [&] {
    std::lock_guard lock(repo_mutex);
    return git::FirstParentPathHistory(repo, candidate, base, paths, max_depth);
  }();
  if (!history.ok()) {
    r.reason =
        "cannot tell what changed since " + ShortId(base) + ": " + history.status().message();
    return r;
  }
  std::map<std::string, std::string> verdicts;  // commit -> "" or why not
  auto judge = [&](const git::PathEdit& edit, const Custody&) -> std::string {
    if (pre_approved && pre_approved(edit.commit)) return "";
    auto [it, fresh] = verdicts.try_emplace(edit.commit);
    if (fresh) it->second = approve(rule, settings, edit.commit, paths);
    return it->second.empty() ? "" : "not approved (" + it->second + ")";
  };
  Custody c = FoldCustody(
      StartCustody(history->base), history->edits, paths, [](size_t) { return false; }, judge);
  for (size_t i = 0; i < paths.size(); ++i) {
    if (c.tip[i] == c.trusted[i]) continue;
    for (const IgnoredEdit& e : c.ignored) {
      if (e.path == paths[i]) r.unapproved.push_back(e);
    }
  }
  if (r.unapproved.empty()) {
    r.ok = true;
    r.reason = "every change since " + ShortId(base) + " to the " + std::to_string(paths.size()) +
               " files this deploy reads is approved";
    return r;
  }
  // The newest edit in the way is the one to fix first; name it, by its
  // most specific path (the file rather than the directory holding it).
  std::stable_sort(r.unapproved.begin(), r.unapproved.end(),
                   [&](const IgnoredEdit& a, const IgnoredEdit& b) {
                     auto pos = [&](const IgnoredEdit& x) {
                       for (size_t i = 0; i < c.ignored.size(); ++i) {
                         if (c.ignored[i].commit == x.commit) return i;
                       }
                       return c.ignored.size();
                     };
                     size_t pa = pos(a), pb = pos(b);
                     return pa != pb ? pa < pb : a.path.size() < b.path.size();
                   });
  const IgnoredEdit& e = r.unapproved.back();
  r.reason = "commit " + ShortId(e.commit) + " changed " + e.path +
             " without approval under the "
             "policy in force: " +
             e.reason;
  if (r.unapproved.size() > 1) {
    r.reason += " (and " + std::to_string(r.unapproved.size() - 1) + " more unapproved edit" +
                (r.unapproved.size() > 2 ? "s" : "") + ")";
  }
  return r;
}

}  // namespace sluice::trust
