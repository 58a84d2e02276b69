#include "engine/pull_request_checks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "approval/approval_gate.h"
#include "approval/landing.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "engine/change_set.h"

namespace sluice::engine {
namespace {

constexpr std::string_view kEnvironments = "environments/";

// "environments/<env>/apps/<app>.yaml" -> (env, app); (env, "") for any
// other file of the environment's directory; ("", "") outside.
std::pair<std::string, std::string> EnvAndApp(const std::string& path) {
  if (path.rfind(kEnvironments, 0) != 0) return {};
  const size_t env_end = path.find('/', kEnvironments.size());
  if (env_end == std::string::npos) return {};
  std::string env = path.substr(kEnvironments.size(), env_end - kEnvironments.size());
  const std::string rest = path.substr(env_end + 1);
  constexpr std::string_view kApps = "apps/";
  constexpr std::string_view kYaml = ".yaml";
  if (rest.rfind(kApps, 0) == 0 && rest.size() > kApps.size() + kYaml.size() &&
      rest.compare(rest.size() - kYaml.size(), kYaml.size(), kYaml) == 0 &&
      rest.find('/', kApps.size()) == std::string::npos) {
    return {env, rest.substr(kApps.size(), rest.size() - kApps.size() - kYaml.size())};
  }
  return {env, ""};
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// The forge's answer about an open change as approval evidence for
// approval::JudgeApproval, with the authors of the commits it brings.
approval::ApprovalEvidence OpenChangeEvidence(const approval::OpenChange& change,
                                              const Result<approval::ForgeApproval>& answer,
                                              std::vector<std::string> change_authors,
                                              std::string pushed_by) {
  approval::ApprovalEvidence ev;
  ev.landing_commit = change.head_sha;
  ev.via_pr = true;
  ev.pr = change.number + " " + change.url;
  ev.author = change.author;
  ev.head_sha = change.head_sha;
  ev.change_authors = std::move(change_authors);
  ev.pushed_by = std::move(pushed_by);
  if (!answer.ok()) {
    ev.error = "forge: " + answer.status().ToString();
    return ev;
  }
  if (answer->rate_limited) {
    ev.rate_limited = true;
    ev.retry_at = answer->retry_at;
    return ev;
  }
  for (const auto& a : answer->approvers) ev.approvals.push_back({a.login, a.how, false});
  ev.rejected = answer->rejected;
  return ev;
}

}  // namespace

std::string OpenChangeRef(const approval::OpenChange& change) {
  std::string digits;
  for (char c : change.number) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return "refs/sluice-changes/" + digits;
}

PullRequestChecker::PullRequestChecker(record::Workspace& ws, Judge& judge, approval::Forge& forge,
                                       const Clock& clock, Options options)
    : ws_(ws), judge_(judge), forge_(forge), clock_(clock), options_(std::move(options)) {
  LoadPosted();
}

void PullRequestChecker::LoadPosted() {
  if (options_.state_file.empty()) return;
  std::ifstream in(options_.state_file);
  if (!in) return;  // none yet
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) {
    spdlog::warn("{}: not the JSON array Sluice writes; every pull request status is posted again",
                 options_.state_file);
    return;
  }
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    const std::string head = e.value("head", ""), env = e.value("env", ""),
                      posted = e.value("posted", "");
    if (!head.empty() && !env.empty()) posted_[{head, env}] = posted;
  }
}

void PullRequestChecker::SavePosted() const {
  if (options_.state_file.empty()) return;
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [key, posted] : posted_) {
    j.push_back({{"head", key.first}, {"env", key.second}, {"posted", posted}});
  }
  const std::string tmp = options_.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    if (!out) {
      spdlog::warn("cannot write {}: pull request statuses are posted again after a restart", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.state_file, ec);
  if (ec) spdlog::warn("cannot write {}: {}", options_.state_file, ec.message());
}

std::string PullRequestChecker::TargetUrl() const { return options_.dashboard_url; }

PullRequestRound PullRequestChecker::Run(const std::string& head) {
  PullRequestRound round;
  auto changes = forge_.OpenChanges(ws_.branch());
  if (!changes.ok()) {
    round.problems.push_back("pull request statuses: " + changes.status().ToString());
    return round;
  }
  std::set<std::string> open_heads;
  if (!changes->empty()) {
    // One fetch brings every open head not fetched yet (the forge publishes
    // them under refs/pull/N/head or refs/merge-requests/N/head).
    Status fetched;
    {
      std::lock_guard lock(ws_.mutex());
      std::vector<std::string> refspecs;
      for (const auto& c : *changes) {
        auto local = ws_.repo().ResolveRef(OpenChangeRef(c));
        if (local.ok() && *local == c.head_sha) continue;
        refspecs.push_back("+" + c.fetch_ref + ":" + OpenChangeRef(c));
      }
      if (!refspecs.empty()) fetched = ws_.repo().Fetch(refspecs);
    }
    if (!fetched.ok()) {
      round.problems.push_back("pull request statuses: fetch the heads of open pull requests: " +
                               fetched.ToString());
      return round;
    }
  }
  const Environments envs = ListEnvironments(ws_, head);
  for (const auto& change : *changes) {
    open_heads.insert(change.head_sha);
    CheckChange(change, head, envs.names, round);
  }
  const size_t before = posted_.size();
  std::erase_if(posted_, [&](const auto& kv) { return !open_heads.count(kv.first.first); });
  const bool any_posted =
      std::any_of(round.checks.begin(), round.checks.end(), [](const auto& c) { return c.posted; });
  if (any_posted || posted_.size() != before) SavePosted();
  return round;
}

void PullRequestChecker::CheckChange(const approval::OpenChange& change, const std::string& head,
                                     const std::vector<std::string>& pipeline,
                                     PullRequestRound& round) {
  // The forge's head must be the commit fetched (a push to the request
  // between the listing and the fetch is judged by the next round).
  std::vector<git::ChangedPath> diff;
  std::vector<std::string> authors;
  std::string pushed_by;
  {
    std::lock_guard lock(ws_.mutex());
    git::Repository& repo = ws_.repo();
    auto fetched = repo.ResolveRef(OpenChangeRef(change));
    if (!fetched.ok() || *fetched != change.head_sha) {
      round.problems.push_back("pull request statuses: " + change.number + ": its head " +
                               ShortId(change.head_sha) +
                               " was not fetched (pushed to meanwhile?); judged next round");
      return;
    }
    auto base = approval::MergeBase(repo, head, change.head_sha);
    if (!base.ok()) {
      round.problems.push_back("pull request statuses: " + change.number + ": " +
                               base.status().ToString());
      return;
    }
    auto d = repo.DiffTrees(*base, change.head_sha, std::string(kEnvironments));
    if (!d.ok()) {
      round.problems.push_back("pull request statuses: " + change.number + ": " +
                               d.status().ToString());
      return;
    }
    diff = std::move(*d);
    authors = approval::AuthorsBetween(repo, *base, change.head_sha);
    if (auto info = repo.GetCommit(change.head_sha); info.ok()) {
      pushed_by = info->committer.name + " <" + info->committer.email + ">";
    }
  }

  // Environments the request touches, with the pins it adds or changes.
  std::map<std::string, std::vector<std::string>> touched;
  for (const auto& p : diff) {
    auto [env, app] = EnvAndApp(p.path);
    if (env.empty()) continue;
    auto& apps = touched[env];
    if (!app.empty() && p.kind != git::ChangeKind::kDeleted) apps.push_back(app);
  }
  if (touched.empty()) return;

  std::optional<approval::ApprovalEvidence> evidence;  // asked once per request, when needed
  auto evidence_for = [&]() -> const approval::ApprovalEvidence& {
    if (!evidence) {
      evidence = OpenChangeEvidence(change, forge_.ApprovalsOfOpen(change), authors, pushed_by);
    }
    return *evidence;
  };

  for (auto& [env, apps] : touched) {
    if (std::find(pipeline.begin(), pipeline.end(), env) == pipeline.end()) continue;
    if (options_.posts_for && !options_.posts_for(env)) continue;
    const PolicyInForce pif = judge_.PolicyFor(env, head);
    const TimePoint now = clock_.Now();

    record::PullRequestStatus check{change.number, change.head_sha, env, "success", "", false, ""};
    std::vector<std::pair<std::string, Judgement>> judged;
    for (const std::string& app : apps) {
      std::string text;
      {
        std::lock_guard lock(ws_.mutex());
        auto t = ws_.repo().ReadFile(change.head_sha, config::PinPath(env, app));
        if (!t.ok()) continue;
        text = std::move(*t);
      }
      judged.emplace_back(app, judge_.EvaluateOpenChange(env, app, change.head_sha, head, text, pif,
                                                         now, evidence_for()));
    }

    if (judged.empty()) {
      // No pin changes: an edit of the environment's policy or files,
      // which takes effect only with the approval the policy in force asks.
      if (!pif.error.empty() || !pif.policy || !pif.settings) {
        check.state = "failure";
        check.description =
            "policy: " + FirstLine(pif.error.empty() ? "no policy in force" : pif.error);
      } else if (pif.policy->approval && pif.policy->approval->required > 0) {
        approval::ApprovalDecision d =
            approval::JudgeApproval(*pif.policy->approval, *pif.settings, evidence_for());
        check.state = d.result.verdict == gates::Verdict::kPass ? "success" : "pending";
        check.description = "no pin changes; approval: " + FirstLine(d.result.reason);
      } else {
        check.description = "no pin changes; no approval required";
      }
    } else {
      // The worst verdict decides; its apps are named.
      gates::Verdict worst = gates::Verdict::kPass;
      for (const auto& [app, j] : judged) {
        if (j.verdict == gates::Verdict::kBlock ||
            (j.verdict == gates::Verdict::kWait && worst == gates::Verdict::kPass)) {
          worst = j.verdict;
        }
      }
      std::vector<std::string> names;
      std::string first_reason;
      for (const auto& [app, j] : judged) {
        if (j.verdict != worst) continue;
        names.push_back(app);
        if (first_reason.empty()) first_reason = FirstLine(j.reason);
      }
      if (worst == gates::Verdict::kPass) {
        check.description = "every gate passes as if merged (" + Join(names, ", ") + ")";
      } else {
        check.state = worst == gates::Verdict::kBlock ? "failure" : "pending";
        check.description = names.front() + ": " + first_reason;
        if (names.size() > 1) {
          check.description += " (and " + std::to_string(names.size() - 1) + " more)";
        }
      }
    }

    const std::string key = check.state + "\n" + check.description;
    auto& last = posted_[{change.head_sha, env}];
    if (last != key) {
      Status s = forge_.PostCommitStatus(
          {change.head_sha, "sluice/" + env, check.state, check.description, TargetUrl()});
      if (s.ok()) {
        last = key;
        check.posted = true;
        spdlog::info("{} {}: posted sluice/{} {} on {}", change.number, env, env, check.state,
                     ShortId(change.head_sha));
      } else {
        check.error = s.ToString();
        round.problems.push_back("pull request statuses: " + change.number + " sluice/" + env +
                                 ": " + s.ToString());
      }
    }
    round.checks.push_back(std::move(check));
  }
}

}  // namespace sluice::engine
