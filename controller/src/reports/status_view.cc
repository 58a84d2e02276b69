#include "reports/status_view.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <utility>

#include "config/app_order.h"
#include "config/pin.h"
#include "config/repository_config.h"
#include "core/duration.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "record/candidate.h"
#include "record/event.h"
#include "record/refs.h"
#include "record/steps.h"
#include "reports/pin_side.h"

namespace sluice::reports {
namespace {

// Reads what one status computation needs, each thing once: rows share
// commits (a release that touched many apps, or everything deployed at one
// head), so the same pin blob and the same note are asked for again and
// again. Memoised by blob id and by commit, for the duration of one call.
class StatusReader {
 public:
  explicit StatusReader(record::Workspace& ws) : ws_(ws), repo_(ws.repo()) {}

  // The pin's digest and version at `commit`; empty when unreadable.
  // `blob`, when known, is the pin's blob id at `commit`.
  PinRef Pin(const std::string& commit, const std::string& env, const std::string& app,
             const std::string* blob = nullptr) {
    PinRef r;
    r.commit = commit;
    const std::string path = config::PinPath(env, app);
    std::string id;
    if (blob) {
      id = *blob;
    } else if (auto b = repo_.BlobId(commit, path); b.ok()) {
      id = std::move(*b);
    } else {
      return r;
    }
    auto [it, inserted] = pins_.try_emplace(id);
    if (inserted) {
      if (auto text = repo_.ReadFile(commit, path); text.ok()) {
        config::Diagnostics diags;
        if (auto pin = config::ParsePin(*text, path, diags)) {
          it->second = {pin->artifact.digest, pin->artifact.version, pin->artifact.source, {}};
          for (const auto& d : pin->deploy.depends_on) it->second.depends_on.push_back(d.app);
        }
      }
    }
    r.digest = it->second.digest;
    r.version = it->second.version;
    r.source = it->second.source;
    r.depends_on = it->second.depends_on;
    return r;
  }

  // The trusted events of (env, app) in the note on `commit` (empty if
  // none), in the note's order. From the workspace's index by app: after a
  // fleet-wide pass one note holds 30,000 events, and filtering them for
  // each of 10,000 rows took 10 s of `sluice status`.
  const std::vector<record::Event>& EventsFor(const std::string& commit, const std::string& env,
                                              const std::string& app) {
    auto [it, inserted] = events_.try_emplace(commit + " " + env + "/" + app);
    if (inserted) it->second = ws_.TrustedEventsForLocked(commit, env, app);
    return it->second;
  }

 private:
  record::Workspace& ws_;
  git::Repository& repo_;
  struct PinFields {
    std::string digest, version, source;
    std::vector<std::string> depends_on;
  };
  std::unordered_map<std::string, PinFields> pins_;                     // by blob id
  std::unordered_map<std::string, std::vector<record::Event>> events_;  // "commit env/app"
};

// The newest events of (env, app) on `commits` (duplicates and empty ids
// skipped), newest first, at most kRecentEvents.
std::vector<RecentEvent> RecentEvents(StatusReader& reader, const std::string& env,
                                      const std::string& app,
                                      std::initializer_list<std::string> commits) {
  std::vector<std::string> seen;
  std::vector<const record::Event*> events;
  for (const std::string& c : commits) {
    if (c.empty() || std::find(seen.begin(), seen.end(), c) != seen.end()) continue;
    seen.push_back(c);
    for (const record::Event& e : reader.EventsFor(c, env, app)) events.push_back(&e);
  }
  // Within a note the later line is the newer event: reversed first, so that
  // events of the same millisecond stay newest first after the stable sort.
  std::reverse(events.begin(), events.end());
  std::stable_sort(
      events.begin(), events.end(),
      [](const record::Event* a, const record::Event* b) { return a->time > b->time; });
  if (events.size() > kRecentEvents) events.resize(kRecentEvents);
  std::vector<RecentEvent> out;
  for (const record::Event* e : events) {
    out.push_back({FormatRfc3339(e->time), std::string(record::EventKindName(e->kind)), e->commit,
                   reader.Pin(e->commit, env, app).version, e->reason});
  }
  return out;
}

// "in 2m" / "3m ago", to the second below a minute.
std::string Relative(TimePoint t, TimePoint now) {
  auto d = std::chrono::duration_cast<std::chrono::seconds>(t - now);
  const bool future = d.count() >= 0;
  auto abs = std::chrono::milliseconds(std::chrono::seconds(future ? d.count() : -d.count()));
  if (abs >= std::chrono::minutes(1)) {
    abs = std::chrono::duration_cast<std::chrono::minutes>(abs);
  }
  const std::string text = FormatDuration(abs);
  return future ? "in " + text : text + " ago";
}

// The reasons of `e`: its gates that did not pass, else its one line. A
// wait's end, when recorded, is restated against `now`: the recorded reason
// ("35s to go") is as of the event, the end is not.
std::vector<std::string> ReasonsOf(const record::Event& e,
                                   std::optional<TimePoint> now = std::nullopt) {
  std::vector<std::string> out;
  for (const auto& g : e.gates) {
    if (g.result == "pass") continue;
    std::string line = g.name + ": " + g.reason;
    if (g.until && now) {
      line += *g.until > *now
                  ? "; ends " + FormatRfc3339(*g.until) + " (" + Relative(*g.until, *now) + ")"
                  : "; ended " + FormatRfc3339(*g.until) + " (" + Relative(*g.until, *now) +
                        "): the next pass acts on it";
    }
    out.push_back(std::move(line));
  }
  if (out.empty() && !e.reason.empty()) out.push_back(e.reason);
  return out;
}

nlohmann::ordered_json PinJson(const PinRef& p) {
  if (p.commit.empty()) return nullptr;
  return {{"digest", p.digest}, {"version", p.version}, {"commit", p.commit}, {"source", p.source}};
}

nlohmann::ordered_json LastPassJson(const StatusRow& r) {
  nlohmann::ordered_json j;
  j["freshness"] = r.freshness.state;
  j["time"] = r.last_pass ? nlohmann::ordered_json(FormatRfc3339(r.last_pass->time)) : nullptr;
  j["ageSeconds"] =
      r.freshness.age_seconds ? nlohmann::ordered_json(*r.freshness.age_seconds) : nullptr;
  j["staleAfterSeconds"] = r.freshness.stale_after.count();
  j["controller"] = r.last_pass ? r.last_pass->controller_id : "";
  j["head"] = r.last_pass ? r.last_pass->head : "";
  j["reason"] = r.freshness.reason;
  return j;
}

nlohmann::ordered_json RecentJson(const std::vector<RecentEvent>& recent) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& t : recent) {
    out.push_back({{"time", t.time},
                   {"event", t.event},
                   {"commit", t.commit},
                   {"version", t.version},
                   {"reason", t.reason}});
  }
  return out;
}

}  // namespace

std::string RenderStatusJson(const std::vector<StatusRow>& rows, int indent) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json deployed = PinJson(r.deployed);
    if (!deployed.is_null()) {
      deployed["time"] = r.deployed_time;
      deployed["approvers"] = r.approvers;
      deployed["subject"] = r.deployed_subject;
    }
    nlohmann::ordered_json desired = PinJson(r.desired);
    nlohmann::ordered_json lkg = PinJson(r.lkg);
    if (!r.commit_url_prefix.empty()) {
      for (auto [pin, ref] : {std::pair{&desired, &r.desired}, std::pair{&deployed, &r.deployed},
                              std::pair{&lkg, &r.lkg}}) {
        if (!pin->is_null()) (*pin)["url"] = r.commit_url_prefix + ref->commit;
      }
    }
    out.push_back({{"env", r.env},
                   {"app", r.app},
                   {"desired", desired},
                   {"deployed", deployed},
                   {"lkg", lkg},
                   {"state", r.state},
                   {"reasons", r.reasons},
                   {"dependsOn", r.desired.depends_on},
                   {"order", r.order},
                   {"previous", PinJson(r.previous)},
                   {"sourceRange", r.source_range},
                   {"lastPass", LastPassJson(r)},
                   {"recent", RecentJson(r.recent)},
                   {"untrusted", r.untrusted}});
    out.back()["reasonsAsOf"] = r.reasons_as_of
                                    ? nlohmann::ordered_json(FormatRfc3339(*r.reasons_as_of))
                                    : nlohmann::ordered_json();
    if (r.last_failure) {
      out.back()["lastFailure"] = {{"time", r.last_failure->time},
                                   {"commit", r.last_failure->commit},
                                   {"version", r.last_failure->version},
                                   {"reason", r.last_failure->reason}};
      out.back()["rollbackCommand"] = r.rollback_command;
    } else {
      out.back()["lastFailure"] = nullptr;
    }
    if (!r.step.empty()) out.back()["step"] = r.step;
    if (r.owner) {
      out.back()["owner"] =
          r.owner->empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(*r.owner);
    }
  }
  // A reason may quote a child's output: no terminal escapes reach the
  // dashboard or a terminal; invalid UTF-8 is replaced instead of throwing.
  StripControlInStrings(out);
  return DumpJson(out, indent);
}

std::string CommitUrlPrefix(const config::ForgeSettings& forge) {
  std::string api = forge.api;
  while (!api.empty() && api.back() == '/') api.pop_back();
  const size_t scheme = api.find("://");
  if (scheme == std::string::npos || forge.repo.empty()) return "";
  std::string host = api.substr(0, api.find('/', scheme + 3));
  const std::string path = api.substr(host.size());
  if (forge.type == "github") {
    if (host == "https://api.github.com") {
      host = "https://github.com";
    } else if (path != "/api/v3") {
      return "";
    }
    return host + "/" + forge.repo + "/commit/";
  }
  if (forge.type == "gitlab" && path == "/api/v4") return host + "/" + forge.repo + "/-/commit/";
  return "";
}

void SetCommitLinks(std::vector<StatusRow>& rows, const config::ForgeSettings& forge) {
  const std::string prefix = CommitUrlPrefix(forge);
  for (StatusRow& r : rows) r.commit_url_prefix = prefix;
}

void SetOwners(std::vector<StatusRow>& rows, const std::map<std::string, std::string>& owner_of) {
  for (StatusRow& r : rows) {
    auto it = owner_of.find(r.env);
    r.owner = it == owner_of.end() ? std::string() : it->second;
  }
}

Result<std::vector<StatusRow>> ComputeStatus(record::Workspace& ws, const std::string& env_filter,
                                             const std::string& app_filter,
                                             std::optional<TimePoint> now,
                                             std::optional<std::chrono::seconds> stale_after) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  auto head = repo.ResolveRef("refs/remotes/origin/" + ws.branch());
  if (!head.ok()) return head.status().WithContext("branch " + ws.branch());
  config::Diagnostics diags;
  auto settings_text = repo.ReadFile(*head, config::SettingsPath());
  if (!settings_text.ok()) return settings_text.status().WithContext("read sluice.yaml");
  auto settings = config::ParseRepoSettings(*settings_text, config::SettingsPath(), diags);
  if (!settings) return Status::InvalidArgument(config::FormatDiagnostics(diags));

  const std::optional<record::PassStamp> last_pass = record::ReadPassStamp(repo);
  record::Freshness freshness;
  if (now) {
    freshness = record::JudgeFreshness(last_pass, *now, stale_after);
  } else {
    freshness.state = "unknown";
    freshness.reason = "not judged (no clock)";
  }

  std::vector<StatusRow> rows;
  StatusReader reader(ws);
  std::map<std::string, bool> on_branch;  // deployed commit -> reachable from the head
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
    const size_t env_first_row = rows.size();
    for (const auto& app : apps) {
      if (!app_filter.empty() && app != app_filter) continue;
      StatusRow row;
      row.env = env;
      row.app = app;
      row.last_pass = last_pass;
      row.freshness = freshness;
      const std::string path = config::PinPath(env, app);
      auto head_blob = repo.BlobId(*head, path);

      auto deployed = repo.ResolveRef(record::DeployedRef(env, app));
      std::string deployed_blob;
      if (deployed.ok()) {
        if (auto b = repo.BlobId(*deployed, path); b.ok()) deployed_blob = *b;
        row.deployed =
            reader.Pin(*deployed, env, app, deployed_blob.empty() ? nullptr : &deployed_blob);
        for (const auto& e : reader.EventsFor(*deployed, env, app)) {
          if (e.kind == record::EventKind::kApplied || e.kind == record::EventKind::kRolledBack) {
            row.deployed_time = FormatRfc3339(e.time);
            row.approvers = e.approvers;
            if (!e.previous.empty()) row.previous.commit = e.previous;
          }
        }
        if (auto info = repo.GetCommit(*deployed); info.ok())
          row.deployed_subject = info->Subject();
        if (!row.previous.commit.empty()) {
          row.previous = reader.Pin(row.previous.commit, env, app);
          row.source_range = SourceRange(row.previous.source, row.deployed.source);
        }
      }
      if (auto lkg = repo.ResolveRef(record::LkgRef(env, app)); lkg.ok()) {
        row.lkg = reader.Pin(*lkg, env, app);
      }

      bool in_sync = head_blob.ok() && !deployed_blob.empty() && deployed_blob == *head_blob;
      std::string candidate = *head;
      if (in_sync) {
        candidate = *deployed;
      } else {
        candidate = record::CandidateFor(repo, env, app, *head);
      }
      row.desired = reader.Pin(candidate, env, app,
                               in_sync && !deployed_blob.empty() ? &deployed_blob : nullptr);
      const std::vector<record::Event>& events = reader.EventsFor(candidate, env, app);
      const record::Event* last = record::LastEventFor(events, env, app);

      if (in_sync) {
        row.state = "in-sync";
        if (last && (last->kind == record::EventKind::kApplied ||
                     last->kind == record::EventKind::kRolledBack)) {
          row.state = "verifying";
        } else if (last && last->kind == record::EventKind::kFailed) {
          row.state = "failed";
          row.reasons = ReasonsOf(*last, now);
          row.reasons_as_of = last->time;
        } else if (last && last->kind == record::EventKind::kDrift && !last->resolved) {
          // Still in sync with Git (SPEC's states), but what runs differs:
          // the drift check's detail says how (engine/drift.h).
          row.reasons.push_back("drift: " + last->reason + " (seen " + FormatRfc3339(last->time) +
                                ")");
        }
      } else if (!last) {
        row.state = "waiting";
        row.reasons.push_back("pending: the controller has not evaluated commit " +
                              ShortId(candidate) + " yet");
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
          case record::EventKind::kWaiting:
            row.state = "waiting";
            break;
          case record::EventKind::kBlocked:
            row.state = "blocked";
            break;
          case record::EventKind::kApplying:
            row.state = "applying";
            break;
          case record::EventKind::kApplied:
            row.state = "verifying";
            break;
          case record::EventKind::kFailed:
            row.state = "failed";
            break;
          case record::EventKind::kStep:
            // deploy.strategy: between steps the release is still applying.
            row.state = last->phase == "verifying" ? "verifying"
                        : last->phase == "paused"  ? "waiting"
                                                   : "applying";
            break;
          default:
            row.state = "waiting";
            break;
        }
        row.reasons = ReasonsOf(*last, now);
        row.reasons_as_of = last->time;
        if (auto progress = record::ReleaseInProgress(events, env, app)) {
          row.step = progress->line + " (step " + std::to_string(progress->current) + " of " +
                     std::to_string(progress->of) + ")";
          if (last->kind == record::EventKind::kStep) row.reasons = {progress->line};
        }
      }
      // The running release failed and nothing verified replaced it: keep
      // the failure in view (the row's state may be about a blocked
      // rollback), with the command that goes back to the LKG.
      if (deployed.ok()) {
        const record::Event* ran =
            record::LastEventFor(reader.EventsFor(*deployed, env, app), env, app);
        if (ran && ran->kind == record::EventKind::kFailed) {
          row.last_failure = StatusRow::Failure{FormatRfc3339(ran->time), *deployed,
                                                row.deployed.version, ran->reason};
          if (!row.lkg.commit.empty() && row.lkg.commit != *deployed) {
            row.rollback_command = "sluice rollback " + env + " " + app + " --push";
          }
        }
      }
      // A force-push can drop the deployed commit from the branch: what
      // runs is still its pin, and the next change is judged as usual.
      if (deployed.ok()) {
        auto known = on_branch.find(*deployed);
        if (known == on_branch.end()) {
          auto reachable = repo.IsAncestor(*deployed, *head);
          known = on_branch.emplace(*deployed, !reachable.ok() || *reachable).first;
        }
        if (!known->second) {
          row.reasons.push_back("the deployed commit " + ShortId(*deployed) + " is no longer on " +
                                ws.branch() +
                                " (its history was rewritten, e.g. by a force-push); what runs "
                                "is still that commit's pin");
        }
      }
      row.recent = RecentEvents(reader, env, app,
                                {candidate, deployed.ok() ? *deployed : std::string(),
                                 row.previous.commit, row.lkg.commit});
      for (const record::UntrustedEntry& u : ws.UntrustedEntriesLocked()) {
        if (u.env != env || (!u.app.empty() && u.app != app)) continue;
        std::string what = u.kind == "ref" ? u.ref : "event on " + ShortId(u.commit);
        row.untrusted.push_back(what + ": " + u.reason);
      }
      rows.push_back(std::move(row));
    }
    // deploy.dependsOn: each row's place in its environment's order (of the
    // desired pins; 0 on a cycle or a missing app, which validate names).
    std::map<std::string, std::vector<std::string>> graph;
    for (size_t i = env_first_row; i < rows.size(); ++i) {
      graph[rows[i].app] = rows[i].desired.depends_on;
    }
    config::AppOrder order = config::OrderApps(graph, {}, apps, env);
    for (size_t i = env_first_row; i < rows.size(); ++i) {
      auto at = std::find(order.order.begin(), order.order.end(), rows[i].app);
      if (at != order.order.end())
        rows[i].order = static_cast<size_t>(at - order.order.begin()) + 1;
    }
  }
  return rows;
}

}  // namespace sluice::reports
