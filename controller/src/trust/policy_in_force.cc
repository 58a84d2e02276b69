#include "trust/policy_in_force.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/diagnostic.h"
#include "config/repository_config.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "git/history.h"

namespace sluice::trust {
namespace {

constexpr size_t kSettings = 0;
constexpr size_t kPolicy = 1;

}  // namespace

std::string DescribeIgnored(const IgnoredEdit& edit) {
  return "edit of " + edit.path + " in " + ShortId(edit.commit) + " ignored: " + edit.reason;
}

PolicyResolver::PolicyResolver(std::mutex& repo_mutex, const git::Repository& repo,
                               CommitApproval approve, TrustOptions options)
    : repo_mutex_(repo_mutex),
      repo_(repo),
      approve_(std::move(approve)),
      options_(std::move(options)) {}

Result<std::string> PolicyResolver::ReadLocked(const std::string& blob) {
  std::lock_guard lock(repo_mutex_);
  return git::ReadBlob(repo_, blob);
}

std::optional<config::RepoSettings> PolicyResolver::SettingsOf(const std::string& blob,
                                                               std::string* error) {
  Result<std::string> text = ReadLocked(blob);
  if (!text.ok()) {
    *error = "cannot read sluice.yaml: " + text.status().message();
    return std::nullopt;
  }
  config::Diagnostics diags;
  auto settings = config::ParseRepoSettings(*text, config::SettingsPath(), diags);
  if (!settings || !diags.empty()) {
    *error = diags.empty() ? "sluice.yaml does not parse" : diags.front().ToString();
    return std::nullopt;
  }
  return settings;
}

std::optional<config::EnvironmentPolicy> PolicyResolver::PolicyOf(const std::string& env,
                                                                  const std::string& blob,
                                                                  std::string* error) {
  Result<std::string> text = ReadLocked(blob);
  if (!text.ok()) {
    *error = "cannot read " + config::PolicyPath(env) + ": " + text.status().message();
    return std::nullopt;
  }
  config::Diagnostics diags;
  auto policy = config::ParseEnvironmentPolicy(*text, config::PolicyPath(env), diags);
  if (!policy || !diags.empty()) {
    *error = diags.empty() ? config::PolicyPath(env) + " does not parse" : diags.front().ToString();
    return std::nullopt;
  }
  return policy;
}

bool PolicyResolver::Protects(const std::string& env, const Custody& custody) {
  if (custody.trusted.size() <= kPolicy || custody.trusted[kPolicy].empty()) return false;
  std::string error;
  auto policy = PolicyOf(env, custody.trusted[kPolicy], &error);
  // A policy in force that cannot be read is treated as protecting.
  return !policy || (policy->approval && policy->approval->required > 0);
}

namespace {
std::string PrefetchKey(const std::string& env, const std::string& head, const std::string& stop) {
  return env + "\n" + head + "\n" + stop;
}
}  // namespace

Result<git::PathHistory> PolicyResolver::HistoryFor(const std::string& env, const std::string& head,
                                                    const std::string& stop,
                                                    const std::vector<std::string>& paths) {
  {
    std::lock_guard lock(mu_);
    auto it = prefetched_.find(PrefetchKey(env, head, stop));
    if (it != prefetched_.end()) {
      git::PathHistory h = std::move(it->second);
      prefetched_.erase(it);
      return h;
    }
  }
  std::lock_guard lock(repo_mutex_);
  return git::FirstParentPathHistory(repo_, head, stop, paths, options_.max_depth);
}

void PolicyResolver::Prefetch(const std::vector<std::string>& envs, const std::string& head) {
  // Which environments need a walk, grouped by where it stops.
  std::map<std::string, std::vector<std::string>> by_stop;
  for (const std::string& env : envs) {
    std::optional<Cached> cached;
    {
      std::lock_guard lock(mu_);
      if (auto it = cache_.find(env); it != cache_.end()) cached = it->second;
    }
    if (!cached) {
      cached = Load(env);
      if (cached) {
        std::lock_guard lock(mu_);
        cache_.try_emplace(env, *cached);
      }
    }
    if (cached && cached->tip == head) continue;
    by_stop[cached ? cached->tip : options_.bootstrap].push_back(env);
  }
  for (const auto& [stop, group] : by_stop) {
    if (group.size() < 2) continue;  // Walk reads it alone at the same cost
    std::vector<std::string> paths = {config::SettingsPath()};
    for (const auto& env : group) paths.push_back(config::PolicyPath(env));
    Result<git::PathHistory> h = [&] {
      std::lock_guard lock(repo_mutex_);
      return git::FirstParentPathHistory(repo_, head, stop, paths, options_.max_depth);
    }();
    if (!h.ok()) continue;  // each environment walks alone and reports its own error
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < group.size(); ++i) {
      const size_t at = i + 1;
      git::PathHistory mine;
      mine.base = {h->base[0], h->base[at]};
      mine.reached_stop = h->reached_stop;
      mine.commits_walked = h->commits_walked;
      for (const git::PathEdit& e : h->edits) {
        if (e.before[0] == e.after[0] && e.before[at] == e.after[at]) continue;
        mine.edits.push_back(
            {e.commit, e.parent, {e.before[0], e.before[at]}, {e.after[0], e.after[at]}});
      }
      prefetched_[PrefetchKey(group[i], head, stop)] = std::move(mine);
    }
  }
}

PolicyResolver::Cached PolicyResolver::Walk(const std::string& env, const std::string& head,
                                            std::optional<Cached> from) {
  const std::vector<std::string> paths = {config::SettingsPath(), config::PolicyPath(env)};
  Cached out;
  out.tip = head;
  Result<git::PathHistory> history = Status::Internal("not walked");
  if (from && from->error.empty()) history = HistoryFor(env, head, from->tip, paths);
  Custody custody;
  if (history.ok() && history->reached_stop) {
    custody = from->custody;
    out.first_commit = from->first_commit;
  } else if (from && from->error.empty() && Protects(env, from->custody)) {
    // The head no longer descends from what this controller judged before:
    // the branch was rewritten (a force push). Walking the new history from
    // its root would trust whatever first policy version it invents; a
    // protected environment stops instead, until a person looks.
    out.error = "the branch was rewritten: " + ShortId(from->tip) +
                " (judged before) is not in the first-parent history of " + ShortId(head) +
                "; after review, set trust.bootstrap to a commit of the new history (or remove " +
                options_.cache_dir + "/policy-" + env + ".json)";
    return out;
  } else {
    // No usable cache (first walk, a rewritten branch): from the start.
    history = HistoryFor(env, head, options_.bootstrap, paths);
    if (!history.ok()) {
      out.error = options_.bootstrap.empty()
                      ? "cannot walk the history of the policy files: " + history.status().message()
                      : "trust.bootstrap " + ShortId(options_.bootstrap) + ": " +
                            history.status().message();
      return out;
    }
    custody = StartCustody(history->base);
    if (!options_.bootstrap.empty() && !history->base[kPolicy].empty()) {
      out.first_commit = options_.bootstrap;
    }
  }

  auto judge = [&](const git::PathEdit& edit, const Custody& so_far) -> std::string {
    const std::string& policy_blob = so_far.trusted[kPolicy];
    if (policy_blob.empty()) return "";  // no policy in force asks for nothing
    std::string error;
    auto policy = PolicyOf(env, policy_blob, &error);
    if (!policy) return "the policy in force does not parse (" + error + ")";
    if (!policy->approval || policy->approval->required <= 0) return "";
    if (so_far.trusted[kSettings].empty()) return "no sluice.yaml in force to judge approval";
    auto settings = SettingsOf(so_far.trusted[kSettings], &error);
    if (!settings) return "the sluice.yaml in force does not parse (" + error + ")";
    std::string why = approve_(*policy->approval, *settings, edit.commit, paths);
    return why.empty() ? "" : "not approved under the policy it changes (" + why + ")";
  };
  auto first_version = [](size_t) { return true; };
  for (const git::PathEdit& edit : history->edits) {
    custody = FoldCustody(std::move(custody), {edit}, paths, first_version, judge);
    if (out.first_commit.empty() && !custody.trusted_from[kPolicy].empty()) {
      out.first_commit = custody.trusted_from[kPolicy];
    }
  }
  out.custody = std::move(custody);
  return out;
}

namespace {
constexpr int kCacheFormat = 1;
}  // namespace

std::optional<PolicyResolver::Cached> PolicyResolver::Load(const std::string& env) const {
  if (options_.cache_dir.empty()) return std::nullopt;
  std::ifstream in(options_.cache_dir + "/policy-" + env + ".json");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  try {
    // `format` compared as an integer only: converting a double such as
    // 1e40 to int would be undefined behaviour.
    if (j.is_discarded() || !j.is_object() || !j.contains("format") ||
        !j["format"].is_number_integer() || j["format"].get<std::int64_t>() != kCacheFormat ||
        j.value("bootstrap", "") != options_.bootstrap) {
      return std::nullopt;
    }
    Cached c;
    c.tip = j.at("tip").get<std::string>();
    c.first_commit = j.at("first").get<std::string>();
    c.custody.trusted = j.at("trusted").get<std::vector<std::string>>();
    c.custody.trusted_from = j.at("trustedFrom").get<std::vector<std::string>>();
    c.custody.tip = j.at("tipState").get<std::vector<std::string>>();
    for (const auto& e : j.at("ignored")) {
      c.custody.ignored.push_back({e.at("commit").get<std::string>(),
                                   e.at("path").get<std::string>(),
                                   e.at("reason").get<std::string>()});
    }
    if (c.custody.trusted.size() != 2 || c.custody.trusted_from.size() != 2 ||
        c.custody.tip.size() != 2) {
      return std::nullopt;
    }
    return c;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged cache is walked again, never trusted
  }
}

void PolicyResolver::Save(const std::string& env, const Cached& c) const {
  if (options_.cache_dir.empty() || !c.error.empty()) return;
  nlohmann::json j = {{"format", kCacheFormat},
                      {"bootstrap", options_.bootstrap},
                      {"tip", c.tip},
                      {"first", c.first_commit},
                      {"trusted", c.custody.trusted},
                      {"trustedFrom", c.custody.trusted_from},
                      {"tipState", c.custody.tip},
                      {"ignored", nlohmann::json::array()}};
  for (const auto& e : c.custody.ignored) {
    j["ignored"].push_back({{"commit", e.commit}, {"path", e.path}, {"reason", e.reason}});
  }
  std::error_code ec;
  std::filesystem::create_directories(options_.cache_dir, ec);
  const std::string path = options_.cache_dir + "/policy-" + env + ".json";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << DumpJson(j) << "\n";
    if (!out) {
      spdlog::debug("trust: cannot write {}", tmp);
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

PolicyInForce PolicyResolver::Resolve(const std::string& env, const std::string& head) {
  std::optional<Cached> cached;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(env); it != cache_.end()) cached = it->second;
  }
  if (!cached) cached = Load(env);
  if (!cached || cached->tip != head) {
    Cached walked = Walk(env, head, cached);
    {
      // A prefetched history this walk did not use (another stop) is stale.
      std::lock_guard lock(mu_);
      for (auto it = prefetched_.begin(); it != prefetched_.end();) {
        it = it->first.rfind(env + "\n", 0) == 0 ? prefetched_.erase(it) : std::next(it);
      }
    }
    std::lock_guard lock(mu_);
    if (walked.error.empty()) {
      Save(env, walked);
      cache_[env] = walked;
    } else if (cached) {
      // Keep the last good walk: it is what the next head is checked
      // against (a rewritten branch stays refused until a person acts).
      cache_[env] = *cached;
    }
    cached = std::move(walked);
  } else {
    std::lock_guard lock(mu_);
    cache_.try_emplace(env, *cached);
  }

  PolicyInForce pif;
  pif.first_commit = cached->first_commit;
  pif.ignored = cached->custody.ignored;
  if (!cached->error.empty()) {
    pif.error = cached->error;
    return pif;
  }
  const Custody& c = cached->custody;
  auto commit_of = [&](size_t i) {
    return c.trusted_from[i].empty() ? options_.bootstrap : c.trusted_from[i];
  };
  if (c.trusted[kPolicy].empty()) {
    pif.error = config::PolicyPath(env) + " has no approved version in the history of " +
                ShortId(head) + "; an environment's policy must land before its pins";
    return pif;
  }
  if (c.trusted[kSettings].empty()) {
    pif.error = "sluice.yaml has no approved version in the history of " + ShortId(head);
    return pif;
  }
  pif.commit = commit_of(kPolicy);
  pif.settings_commit = commit_of(kSettings);
  std::string error;
  pif.settings = SettingsOf(c.trusted[kSettings], &error);
  if (!pif.settings) {
    pif.error =
        "the sluice.yaml in force (" + ShortId(pif.settings_commit) + ") does not parse: " + error;
    return pif;
  }
  pif.policy = PolicyOf(env, c.trusted[kPolicy], &error);
  if (!pif.policy) {
    pif.error = "the policy in force (" + config::PolicyPath(env) + " at " + ShortId(pif.commit) +
                ") does not parse: " + error;
  }
  return pif;
}

}  // namespace sluice::trust
