#include "engine/status_view.h"

#include <nlohmann/json.hpp>
#include <set>

#include "config/pin.h"
#include "config/repository_config.h"
#include "core/time_format.h"
#include "engine/candidate.h"
#include "engine/event.h"
#include "engine/refs.h"

namespace sluice::engine {
namespace {

// Reads the pin's digest and version at `commit`; empty when unreadable.
PinRef ReadPinRef(git::Repository& repo, const std::string& commit, const std::string& env,
                  const std::string& app) {
  PinRef r;
  r.commit = commit;
  auto text = repo.ReadFile(commit, config::PinPath(env, app));
  if (!text.ok()) return r;
  config::Diagnostics diags;
  if (auto pin = config::ParsePin(*text, config::PinPath(env, app), diags)) {
    r.digest = pin->artifact.digest;
    r.version = pin->artifact.version;
  }
  return r;
}

std::vector<Event> NoteEvents(git::Repository& repo, const std::string& commit) {
  auto note = repo.ReadNote(kNotesRef, commit);
  return note.ok() ? ParseNote(*note) : std::vector<Event>{};
}

std::vector<std::string> ReasonsOf(const Event& e) {
  std::vector<std::string> out;
  for (const auto& g : e.gates) {
    if (g.result != "pass") out.push_back(g.name + ": " + g.reason);
  }
  if (out.empty() && !e.reason.empty()) out.push_back(e.reason);
  return out;
}

nlohmann::ordered_json PinJson(const PinRef& p) {
  if (p.commit.empty()) return nullptr;
  return {{"digest", p.digest}, {"version", p.version}, {"commit", p.commit}};
}

}  // namespace

std::string RenderStatusJson(const std::vector<StatusRow>& rows, int indent) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json deployed = PinJson(r.deployed);
    if (!deployed.is_null()) {
      deployed["time"] = r.deployed_time;
      deployed["approvers"] = r.approvers;
    }
    out.push_back({{"env", r.env},
                   {"app", r.app},
                   {"desired", PinJson(r.desired)},
                   {"deployed", deployed},
                   {"lkg", PinJson(r.lkg)},
                   {"state", r.state},
                   {"reasons", r.reasons}});
  }
  // Replace invalid UTF-8 (a reason quoting a bad file) instead of throwing.
  return out.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<StatusRow>> ComputeStatus(Workspace& ws, const std::string& env_filter,
                                             const std::string& app_filter) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  auto head = repo.ResolveRef("refs/remotes/origin/" + ws.branch());
  if (!head.ok()) return head.status().WithContext("branch " + ws.branch());
  config::Diagnostics diags;
  auto settings_text = repo.ReadFile(*head, config::SettingsPath());
  if (!settings_text.ok()) return settings_text.status().WithContext("read sluice.yaml");
  auto settings = config::ParseRepoSettings(*settings_text, config::SettingsPath(), diags);
  if (!settings) return Status::InvalidArgument(config::FormatDiagnostics(diags));

  std::vector<StatusRow> rows;
  for (const auto& env : settings->pipeline) {
    if (!env_filter.empty() && env != env_filter) continue;
    std::set<std::string> apps;
    if (auto names = repo.ListDir(*head, config::AppsDir(env)); names.ok()) {
      for (const auto& n : *names) {
        if (n.size() > 5 && n[0] != '.' && n.compare(n.size() - 5, 5, ".yaml") == 0) {
          apps.insert(n.substr(0, n.size() - 5));
        }
      }
    }
    for (const auto& app : apps) {
      if (!app_filter.empty() && app != app_filter) continue;
      StatusRow row;
      row.env = env;
      row.app = app;
      const std::string path = config::PinPath(env, app);
      auto head_blob = repo.BlobId(*head, path);

      auto deployed = repo.ResolveRef(DeployedRef(env, app));
      std::string deployed_blob;
      if (deployed.ok()) {
        row.deployed = ReadPinRef(repo, *deployed, env, app);
        if (auto b = repo.BlobId(*deployed, path); b.ok()) deployed_blob = *b;
        for (const auto& e : NoteEvents(repo, *deployed)) {
          if (e.env == env && e.app == app &&
              (e.kind == EventKind::kApplied || e.kind == EventKind::kRolledBack)) {
            row.deployed_time = FormatRfc3339(e.time);
            row.approvers = e.approvers;
          }
        }
      }
      if (auto lkg = repo.ResolveRef(LkgRef(env, app)); lkg.ok()) {
        row.lkg = ReadPinRef(repo, *lkg, env, app);
      }

      bool in_sync = head_blob.ok() && !deployed_blob.empty() && deployed_blob == *head_blob;
      std::string candidate = *head;
      if (in_sync) {
        candidate = *deployed;
      } else {
        candidate = CandidateFor(repo, env, app, *head);
      }
      row.desired = ReadPinRef(repo, candidate, env, app);
      const std::vector<Event> events = NoteEvents(repo, candidate);
      const Event* last = LastEventFor(events, env, app);

      if (in_sync) {
        row.state = "in-sync";
        if (last && (last->kind == EventKind::kApplied || last->kind == EventKind::kRolledBack)) {
          row.state = "verifying";
        } else if (last && last->kind == EventKind::kFailed) {
          row.state = "failed";
          row.reasons = ReasonsOf(*last);
        } else if (last && last->kind == EventKind::kDrift && !last->resolved) {
          // Still in sync with Git (SPEC's states), but what runs differs:
          // the drift check's detail says how (engine/drift.h).
          row.reasons.push_back("drift: " + last->reason + " (seen " + FormatRfc3339(last->time) +
                                ")");
        }
      } else if (!last) {
        row.state = "waiting";
        row.reasons.push_back("pending: the controller has not evaluated commit " +
                              candidate.substr(0, 12) + " yet");
        if (row.desired.digest.empty()) {
          config::Diagnostics pin_diags;
          if (auto text = repo.ReadFile(candidate, path); text.ok()) {
            config::ParsePin(*text, path, pin_diags);
          }
          if (!pin_diags.empty()) {
            row.state = "blocked";
            row.reasons = {pin_diags.front().ToString()};
          }
        }
      } else {
        switch (last->kind) {
          case EventKind::kWaiting:
            row.state = "waiting";
            break;
          case EventKind::kBlocked:
            row.state = "blocked";
            break;
          case EventKind::kApplying:
            row.state = "applying";
            break;
          case EventKind::kApplied:
            row.state = "verifying";
            break;
          case EventKind::kFailed:
            row.state = "failed";
            break;
          default:
            row.state = "waiting";
            break;
        }
        row.reasons = ReasonsOf(*last);
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace sluice::engine
