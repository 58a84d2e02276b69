#include "engine/change_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "config/repository_config.h"
#include "core/strings.h"
#include "record/refs.h"

namespace sluice::engine {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Environments ListEnvironments(record::Workspace& ws, const std::string& head) {
  Environments out;
  std::lock_guard lock(ws.mutex());
  config::Diagnostics diags;
  auto text = ws.repo().ReadFile(head, config::SettingsPath());
  std::optional<config::RepoSettings> settings;
  if (text.ok()) settings = config::ParseRepoSettings(*text, config::SettingsPath(), diags);
  if (settings) {
    out.names = settings->pipeline;
    for (const auto& d : settings->ignored) out.ignored_keys.push_back(d.ToString());
    return out;
  }
  out.problem =
      text.ok() ? config::FormatDiagnostics(diags) : "sluice.yaml: " + text.status().message();
  out.error = text.ok() ? Status::InvalidArgument(out.problem)
                        : text.status().WithContext("read sluice.yaml at " + ShortId(head));
  // Keep serving: the environments that exist on disk.
  if (auto dirs = ws.repo().ListDir(head, "environments"); dirs.ok()) out.names = *dirs;
  return out;
}

Result<std::vector<std::string>> ChangedApps(record::Workspace& ws, const std::string& env,
                                             const std::string& head,
                                             std::vector<record::AppOutcome>& removed) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  const std::string apps_dir = config::AppsDir(env);
  std::set<std::string> apps;
  if (auto names = repo.ListDir(head, apps_dir); names.ok()) {
    for (const auto& n : *names) {
      if (n.empty() || n[0] == '.' || !EndsWith(n, ".yaml")) continue;
      apps.insert(n.substr(0, n.size() - 5));
    }
  } else if (!names.status().IsNotFound()) {
    return names.status();
  }
  // One listing of every environment's deployed refs serves the pass.
  auto deployed = repo.ListRefsUnder("refs/sluice/deployed/", "refs/sluice/deployed/" + env + "/");
  if (!deployed.ok()) return deployed.status();

  // Group deployed apps by the commit they were applied at; one tree diff per
  // distinct commit finds the changed pins without reading unchanged ones.
  std::map<std::string, std::set<std::string>> by_commit;
  const size_t prefix_len = ("refs/sluice/deployed/" + env + "/").size();
  std::set<std::string> deployed_apps;
  for (const auto& [ref, commit] : *deployed) {
    std::string app = ref.substr(prefix_len);
    deployed_apps.insert(app);
    by_commit[commit].insert(app);
    if (!apps.count(app)) {
      removed.push_back({env, app, head, "", record::Outcome::kRemoved,
                         "pin file " + config::PinPath(env, app) +
                             " was removed; Sluice does not uninstall: remove the release by hand "
                             "or restore the pin"});
    }
  }
  std::vector<std::string> changed;
  for (const auto& app : apps) {
    if (!deployed_apps.count(app)) changed.push_back(app);
  }
  for (const auto& [commit, group] : by_commit) {
    if (commit == head) continue;
    auto diff = repo.DiffTrees(commit, head, apps_dir + "/");
    if (!diff.ok()) return diff.status();
    for (const auto& c : *diff) {
      if (c.kind == git::ChangeKind::kDeleted) continue;
      std::string name = c.path.substr(apps_dir.size() + 1);
      if (!EndsWith(name, ".yaml") || name.find('/') != std::string::npos) continue;
      name.resize(name.size() - 5);
      if (group.count(name)) changed.push_back(name);
    }
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  return changed;
}

void RollbacksFirst(record::Workspace& ws, const std::string& env, const std::string& head,
                    std::vector<std::string>& apps) {
  std::stable_partition(apps.begin(), apps.end(), [&](const std::string& app) {
    std::lock_guard lock(ws.mutex());
    auto lkg = ws.repo().ResolveRef(record::LkgRef(env, app));
    if (!lkg.ok()) return false;
    auto a = ws.repo().BlobId(head, config::PinPath(env, app));
    auto b = ws.repo().BlobId(*lkg, config::PinPath(env, app));
    return a.ok() && b.ok() && *a == *b;
  });
}

}  // namespace sluice::engine
