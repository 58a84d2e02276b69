#include "engine/reconciler.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "adapters/adapter.h"
#include "approval/landing.h"
#include "config/repository_config.h"
#include "core/duration.h"
#include "core/text.h"
#include "core/time_format.h"
#include "core/version.h"
#include "engine/candidate.h"
#include "engine/refs.h"
#include "engine/rollback.h"
#include "trust/coverage.h"

namespace sluice::engine {
namespace fs = std::filesystem;
namespace {

constexpr size_t kRecordedOutputBytes = 2048;

std::string FirstLine(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "…" + std::string(TailUtf8(s, n));
}

std::vector<GateRecord> ToRecords(const std::vector<gates::GateResult>& results) {
  std::vector<GateRecord> out;
  for (const auto& r : results) {
    out.push_back({r.name, std::string(gates::VerdictName(r.verdict)), r.reason});
  }
  return out;
}

// "window: closed until Tue 10:00; approval: 1 of 2" — every non-passing gate.
std::string Reasons(const std::vector<gates::GateResult>& results) {
  std::string out;
  for (const auto& r : results) {
    if (r.verdict == gates::Verdict::kPass) continue;
    if (!out.empty()) out += "; ";
    out += r.name + ": " + r.reason;
  }
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "nobody" : out;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The trust options with the policy walk kept in the controller's workdir.
trust::TrustOptions TrustWithCache(trust::TrustOptions t, const std::string& workdir) {
  if (t.cache_dir.empty() && !workdir.empty()) t.cache_dir = workdir + "/trust";
  return t;
}

}  // namespace

std::string DefaultInstanceId() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

Reconciler::Reconciler(Workspace& ws, adapters::CommandRunner& runner, verify::Verifier& verifier,
                       net::HttpClient& http, const Clock& clock, CancelToken& cancel,
                       ReconcileOptions options)
    : ws_(ws),
      record_(ws, options.on_event),
      runner_(runner),
      verifier_(verifier),
      http_(http),
      registry_(http, clock, options.registry),
      gatherer_(ws, http, runner, registry_, options.scan_cache_entries),
      clock_(clock),
      cancel_(cancel),
      options_(std::move(options)),
      policies_(
          ws.mutex(), ws.repo(),
          [this](const config::ApprovalPolicy& rule, const config::RepoSettings& settings,
                 const std::string& commit, const std::vector<std::string>& paths) {
            return ApproveCommit(rule, settings, commit, paths);
          },
          TrustWithCache(options_.trust, ws.workdir())) {
  if (options_.instance_id.empty()) options_.instance_id = DefaultInstanceId();
  if (options_.parallelism == 0) options_.parallelism = 1;
  if (!options_.make_adapter) options_.make_adapter = adapters::MakeAdapter;
  if (!options_.drift.make_adapter) options_.drift.make_adapter = options_.make_adapter;
  if (!options_.drift.ignores_drift) {
    options_.drift.ignores_drift = [this](const std::string& env, const std::string& head) {
      PolicyInForce pif = LoadPolicyInForce(env, head);
      return pif.policy && pif.policy->drift == config::DriftPolicy::kIgnore;
    };
  }
  drift_ = std::make_unique<DriftChecker>(ws_, record_, runner_, clock_, cancel_, options_.drift,
                                          options_.instance_id);
}

EvidenceCacheStats Reconciler::EvidenceCaches() const {
  return {registry_.CacheStatistics(), gatherer_.ScanCacheStatistics()};
}

Event Reconciler::NewEvent(const std::string& env, const std::string& app,
                           const std::string& commit, EventKind kind) const {
  Event e;
  e.time = clock_.Now();
  e.env = env;
  e.app = app;
  e.commit = commit;
  e.kind = kind;
  e.controller_id = options_.instance_id;
  e.controller_version = std::string(Version());
  return e;
}

Result<PassReport> Reconciler::RunOnce() {
  rerun_ = false;
  auto report = RunPass();
  // At most two follow-ups: a rollback the pass committed, and its outcome.
  for (int i = 0; i < 2 && report.ok() && rerun_.exchange(false) && !cancel_.cancelled(); ++i) {
    auto next = RunPass();
    if (!next.ok()) return next;
    for (auto& o : next->outcomes) report->outcomes.push_back(std::move(o));
    report->pins_read += next->pins_read;
    report->duration += next->duration;
    report->head = next->head;
  }
  // Drift checks come last, so that they never delay an apply of this pass.
  if (report.ok() && !cancel_.cancelled()) AddDriftChecks(*report);
  return report;
}

void Reconciler::AddDriftChecks(PassReport& report) {
  auto started = std::chrono::steady_clock::now();
  for (const auto& o : report.outcomes) {
    if (o.state == "verified" || o.state == "applied" || o.state == "rolled-back") {
      drift_->MarkChecked(o.env, o.app);
    }
  }
  DriftReport drift = drift_->Run(report.head);
  report.drift_checks = drift.checks;
  for (auto& f : drift.findings) {
    report.outcomes.push_back({f.env, f.app, f.commit, f.digest,
                               f.state == "resolved" ? "drift-resolved" : f.state, f.reason});
  }
  report.duration += std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
}

Result<PassReport> Reconciler::RunPass() {
  auto started = std::chrono::steady_clock::now();
  PassReport report;
  SLUICE_RETURN_IF_ERROR(ws_.Sync(/*push=*/true).WithContext("fetch " + ws_.url()));
  auto head = ws_.Head();
  if (!head.ok()) return head.status();
  report.head = *head;
  if (*head == last_head_ && last_pass_settled_) {
    report.unchanged = true;
    report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return report;
  }

  // Which environments exist: the pipeline of sluice.yaml at the head. Each is
  // then judged by its own policy in force.
  std::vector<std::string> envs;
  {
    std::lock_guard lock(ws_.mutex());
    config::Diagnostics diags;
    auto text = ws_.repo().ReadFile(*head, config::SettingsPath());
    std::optional<config::RepoSettings> settings;
    if (text.ok()) settings = config::ParseRepoSettings(*text, config::SettingsPath(), diags);
    if (settings) {
      envs = settings->pipeline;
      if (!settings->ignored.empty() && warned_ignored_at_ != *head) {
        warned_ignored_at_ = *head;
        for (const auto& d : settings->ignored) spdlog::warn("{}", d.ToString());
      }
    } else {
      report.problems.push_back(text.ok() ? config::FormatDiagnostics(diags)
                                          : "sluice.yaml: " + text.status().message());
      // Keep serving: reconcile the environments that exist on disk.
      if (auto dirs = ws_.repo().ListDir(*head, "environments"); dirs.ok()) envs = *dirs;
    }
  }

  // One first-parent walk for every environment whose policy in force must
  // be followed to this head (trust rule 1), instead of one each.
  policies_.Prefetch(envs, *head);

  std::vector<std::vector<AppOutcome>> per_env(envs.size());
  std::vector<size_t> reads(envs.size(), 0);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < envs.size(); i = next++) {
      if (cancel_.cancelled()) break;
      ReconcileEnv(envs[i], *head, per_env[i], reads[i]);
    }
  };
  size_t nthreads = std::min(options_.parallelism, envs.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < nthreads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  bool settled = report.problems.empty();
  for (size_t i = 0; i < envs.size(); ++i) {
    report.pins_read += reads[i];
    for (auto& o : per_env[i]) {
      if (o.state == "waiting" || o.state == "blocked" || o.state == "error") settled = false;
      report.outcomes.push_back(std::move(o));
    }
  }
  last_head_ = *head;
  last_pass_settled_ = settled && !cancel_.cancelled();
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return report;
}

PolicyInForce Reconciler::LoadPolicyInForce(const std::string& env, const std::string& head) {
  // Trust rule 1: the newest version of the policy files in the branch's
  // first-parent history whose edit was approved under the version before
  // it. Nothing pushed to the record takes part.
  PolicyInForce pif = policies_.Resolve(env, head);
  for (const auto& ignored : pif.ignored) {
    spdlog::debug("{}: {}", env, trust::DescribeIgnored(ignored));
  }
  return pif;
}

Result<std::vector<std::string>> Reconciler::ChangedApps(const std::string& env,
                                                         const std::string& head,
                                                         std::vector<AppOutcome>& out) {
  std::lock_guard lock(ws_.mutex());
  git::Repository& repo = ws_.repo();
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
  auto deployed = repo.ListRefs("refs/sluice/deployed/" + env + "/");
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
      out.push_back({env, app, head, "", "removed",
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

void Reconciler::ReconcileEnv(const std::string& env, const std::string& head,
                              std::vector<AppOutcome>& out, size_t& pins_read) {
  if (!config::IsValidName(env)) {
    out.push_back({env, "", head, "", "error", "'" + env + "' is not a valid environment name"});
    return;
  }
  auto changed = ChangedApps(env, head, out);
  if (!changed.ok()) {
    out.push_back({env, "", head, "", "error", changed.status().ToString()});
    return;
  }
  // The policy in force is followed on every head, changed pins or not: the
  // walk is incremental (only the new commits), and a rewritten branch is
  // then noticed against the head judged last (trust rule 1).
  PolicyInForce pif = LoadPolicyInForce(env, head);
  if (changed->empty()) return;
  // Rollbacks go first: restoring a verified release beats any new change.
  std::stable_partition(changed->begin(), changed->end(), [&](const std::string& app) {
    std::lock_guard lock(ws_.mutex());
    auto lkg = ws_.repo().ResolveRef(LkgRef(env, app));
    if (!lkg.ok()) return false;
    auto a = ws_.repo().BlobId(head, config::PinPath(env, app));
    auto b = ws_.repo().BlobId(*lkg, config::PinPath(env, app));
    return a.ok() && b.ok() && *a == *b;
  });
  // One environment never runs two applies at once: apps go one by one.
  for (const auto& app : *changed) {
    if (cancel_.cancelled()) break;
    AppOutcome o = ReconcileApp(env, app, head, pif, pins_read);
    spdlog::info("{}/{}: {}{}{}", env, app, o.state, o.reason.empty() ? "" : " — ", o.reason);
    out.push_back(std::move(o));
  }
}

Reconciler::Judgement Reconciler::Judge(const std::string& env, const std::string& app,
                                        const std::string& candidate, const std::string& head,
                                        const std::string& text, const PolicyInForce& pif,
                                        TimePoint now) {
  Judgement j;
  const std::string path = config::PinPath(env, app);
  config::Diagnostics diags;
  j.pin = config::ParsePin(text, path, diags);
  if (!j.pin) {
    j.reason = config::FormatDiagnostics(diags);
    j.results = {{"config", gates::Verdict::kBlock, FirstLine(j.reason), {}}};
    return j;
  }
  if (!pif.error.empty() || !pif.policy || !pif.settings) {
    j.reason = pif.error.empty() ? "no policy in force" : pif.error;
    j.results = {{"policy", gates::Verdict::kBlock, j.reason, {}}};
    return j;
  }

  gates::Candidate c{env, app, candidate, &*j.pin, &*pif.policy, &*pif.settings};
  j.evidence = gatherer_.Gather(c, pif.commit, head, &cancel_);
  const std::string deployed = record_.Ref(DeployedRef(env, app)).value_or("");

  // A rollback restores a pin verified in this environment: it takes the
  // fast path (no window, freeze, soak) but its own approval rule.
  j.evidence.rollback = DetectRollback(env, app, candidate, path, *j.pin);
  std::optional<config::ApprovalPolicy> approval_rule;
  if (j.evidence.rollback) {
    approval_rule = RollbackApprovalRule(*pif.policy);
  } else if (pif.policy->approval && pif.policy->approval->required > 0) {
    approval_rule = *pif.policy->approval;
  }

  // Approval is judged from evidence (forge reviews, signatures) with the
  // groups and signers of the settings in force.
  std::string landing;
  const bool own_rollback = j.evidence.rollback && IsOwnRollback(candidate);
  if (own_rollback) {
    j.approval = approval::ApprovalDecision{
        {"approval",
         gates::Verdict::kPass,
         "rollback committed by this controller after a failed verification (onFailure: "
         "rollback in the policy in force)",
         {{"rollback", j.evidence.rollback->target}}},
        {}};
  } else if (approval_rule && approval_rule->required > 0) {
    j.approval = CheckApproval(*approval_rule, *pif.settings, candidate, path, deployed, &landing);
  }
  j.landing = landing;
  if (pif.policy->emergency && !j.evidence.rollback) {
    j.evidence.emergency =
        CheckEmergency(*pif.policy, *pif.settings, landing, candidate, path, deployed);
  }
  const bool approved = !j.approval || j.approval->result.verdict == gates::Verdict::kPass;

  // Trust rule 2: in a protected environment, every change since what was
  // applied last to a file this deploy reads must itself be approved.
  std::optional<gates::GateResult> coverage;
  if (approval_rule && approval_rule->required > 0 && approved) {
    const std::string base = deployed.empty() ? pif.first_commit : deployed;
    const std::string landing_ok = j.approval ? landing : "";
    trust::CoverageResult cov = trust::CheckCoverage(
        ws_.mutex(), ws_.repo(), *approval_rule, *pif.settings, base, candidate,
        trust::DeployReadPaths(*j.pin, path, config::PolicyPath(env)),
        [this](const config::ApprovalPolicy& rule, const config::RepoSettings& settings,
               const std::string& commit, const std::vector<std::string>& paths) {
          return ApproveCommit(rule, settings, commit, paths);
        },
        [&](const std::string& commit) {
          return (own_rollback && commit == candidate) ||
                 (!landing_ok.empty() && commit == landing_ok);
        },
        options_.trust.max_depth);
    coverage = gates::GateResult{"coverage",
                                 cov.ok ? gates::Verdict::kPass : gates::Verdict::kBlock,
                                 cov.reason,
                                 {{"since", base}}};
  }

  // Trust rule 3: custom gates run repository code, so only once approval
  // (and its coverage) passed, and from the commit of the policy in force.
  if (!pif.policy->gates.custom.empty()) {
    if (approved && (!coverage || coverage->verdict == gates::Verdict::kPass)) {
      j.evidence.custom = gatherer_.RunCustomGates(c, pif.commit, &cancel_);
    } else {
      for (const config::CustomGate& gate : pif.policy->gates.custom) {
        gates::CustomGateEvidence e;
        e.name = gate.name;
        e.error = "not run until the approval gate passes (custom gates run repository code)";
        j.evidence.custom.push_back(std::move(e));
      }
    }
  }
  j.results = gates::EvaluateGates(c, j.evidence, now);
  if (j.approval) {
    bool replaced = false;
    for (auto& r : j.results) {
      if (r.name == "approval") {
        r = j.approval->result;
        replaced = true;
      }
    }
    // A rollback rule may exist where releases need no approval.
    if (!replaced) j.results.insert(j.results.begin() + 1, j.approval->result);
  }
  if (coverage) {
    auto at = std::find_if(j.results.begin(), j.results.end(),
                           [](const gates::GateResult& r) { return r.name == "approval"; });
    j.results.insert(at == j.results.end() ? j.results.end() : at + 1, *coverage);
  }
  j.verdict = gates::Overall(j.results);
  j.reason = Reasons(j.results);
  return j;
}

Result<std::vector<PlanRow>> Reconciler::Plan(const std::string& env_filter,
                                              const std::string& app_filter, TimePoint at) {
  SLUICE_RETURN_IF_ERROR(ws_.Sync(/*push=*/false).WithContext("fetch " + ws_.url()));
  auto head = ws_.Head();
  if (!head.ok()) return head.status();
  std::vector<std::string> envs;
  {
    std::lock_guard lock(ws_.mutex());
    config::Diagnostics diags;
    auto text = ws_.repo().ReadFile(*head, config::SettingsPath());
    if (!text.ok()) return text.status().WithContext("read sluice.yaml at " + head->substr(0, 12));
    auto settings = config::ParseRepoSettings(*text, config::SettingsPath(), diags);
    if (!settings) return Status::InvalidArgument(config::FormatDiagnostics(diags));
    envs = settings->pipeline;
  }
  std::vector<PlanRow> rows;
  for (const auto& env : envs) {
    if (!env_filter.empty() && env != env_filter) continue;
    std::vector<AppOutcome> ignored;
    auto changed = ChangedApps(env, *head, ignored);
    if (!changed.ok()) return changed.status();
    if (changed->empty()) continue;
    PolicyInForce pif = LoadPolicyInForce(env, *head);
    for (const auto& app : *changed) {
      if (!app_filter.empty() && app != app_filter) continue;
      std::string text;
      {
        std::lock_guard lock(ws_.mutex());
        auto t = ws_.repo().ReadFile(*head, config::PinPath(env, app));
        if (!t.ok()) continue;
        text = std::move(*t);
      }
      Judgement j = Judge(env, app, *head, *head, text, pif, at);
      PlanRow row{env, app, *head, "", "", j.verdict, std::move(j.results), {}};
      for (const auto& ignored : pif.ignored) {
        row.policy_notes.push_back(trust::DescribeIgnored(ignored));
      }
      if (j.pin) {
        row.digest = j.pin->artifact.digest;
        row.version = j.pin->artifact.version;
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

AppOutcome Reconciler::ReconcileApp(const std::string& env, const std::string& app,
                                    const std::string& head, const PolicyInForce& pif,
                                    size_t& pins_read) {
  const std::string path = config::PinPath(env, app);
  AppOutcome outcome{env, app, head, "", "", ""};

  // The candidate commit stays put while the pin is unchanged, so waiting and
  // blocked decisions accumulate on one commit instead of following the head.
  std::string candidate = head;
  std::string text;
  {
    std::lock_guard lock(ws_.mutex());
    git::Repository& repo = ws_.repo();
    candidate = CandidateFor(repo, env, app, head);
    auto t = repo.ReadFile(candidate, path);
    if (!t.ok()) {
      outcome.state = "error";
      outcome.reason = t.status().ToString();
      return outcome;
    }
    text = std::move(*t);
  }
  outcome.commit = candidate;
  ++pins_read;

  std::vector<Event> history = record_.EventsOn(candidate);
  const Event* last = LastEventFor(history, env, app);
  bool resumed_after_crash = false;
  if (last && last->kind == EventKind::kFailed && !last->interrupted) {
    // A failed apply is not retried blindly: a new commit (a fix or a
    // rollback) is what moves this app again.
    outcome.state = "failed";
    outcome.digest = last->digest;
    outcome.reason = last->reason;
    return outcome;
  }
  if (last && last->kind == EventKind::kApplying) {
    resumed_after_crash = true;
  }

  Judgement j = Judge(env, app, candidate, head, text, pif, clock_.Now());
  // The candidate stays put while the pin is unchanged; but when what blocks
  // it is an unapproved edit of a file the deploy reads, a later commit (a
  // revert) can clear that without touching the pin: judge the head too.
  auto coverage_blocks = [](const Judgement& jj) {
    return std::any_of(jj.results.begin(), jj.results.end(), [](const gates::GateResult& r) {
      return r.name == "coverage" && r.verdict == gates::Verdict::kBlock;
    });
  };
  if (candidate != head && coverage_blocks(j)) {
    Judgement at_head = Judge(env, app, head, head, text, pif, clock_.Now());
    if (!coverage_blocks(at_head)) {
      candidate = head;
      outcome.commit = head;
      j = std::move(at_head);
      history = record_.EventsOn(candidate);
      last = LastEventFor(history, env, app);
      resumed_after_crash = last && last->kind == EventKind::kApplying;
    }
  }
  // Found once, only when an event is written (a waiting pin re-judged every
  // pass writes nothing new): auditors read the proposer from it.
  std::string landing_commit = j.landing;
  auto landing = [&]() -> const std::string& {
    if (landing_commit.empty()) {
      landing_commit = LandingOf(candidate, path, record_.Ref(DeployedRef(env, app)).value_or(""));
    }
    return landing_commit;
  };
  auto record_decision = [&](EventKind kind, std::vector<GateRecord> gates, std::string reason,
                             std::string digest) {
    outcome.state = std::string(EventKindName(kind));
    outcome.reason = reason;
    outcome.digest = digest;
    // Write only what is new: the same verdict for the same reasons stays one line.
    if (last && last->kind == kind && last->gates == gates && last->reason == reason) return;
    Event e = NewEvent(env, app, candidate, kind);
    e.landing = landing();
    e.digest = std::move(digest);
    e.gates = std::move(gates);
    e.reason = std::move(reason);
    if (Status s = record_.Write(e, {{CandidateRef(env, app), candidate}}); !s.ok()) {
      spdlog::warn("{}/{}: could not record {}: {}", env, app, EventKindName(kind), s.ToString());
      // A decision nobody else can see is not a normal outcome (SPEC 7).
      outcome.state = "error";
      outcome.reason = std::string(EventKindName(kind)) + ", but it could not be recorded (" +
                       s.ToString() + "); " + outcome.reason;
    }
  };

  if (j.pin) outcome.digest = j.pin->artifact.digest;
  if (j.verdict != gates::Verdict::kPass) {
    record_decision(j.verdict == gates::Verdict::kBlock ? EventKind::kBlocked : EventKind::kWaiting,
                    ToRecords(j.results), j.reason, outcome.digest);
    return outcome;
  }
  const config::Pin* pin = &*j.pin;
  const gates::Evidence& evidence = j.evidence;
  const std::optional<approval::ApprovalDecision>& approval = j.approval;
  const std::vector<gates::GateResult>& results = j.results;

  Event base = NewEvent(env, app, candidate, EventKind::kApplying);
  base.digest = pin->artifact.digest;
  base.version = pin->artifact.version;
  base.landing = landing();
  base.gates = ToRecords(results);
  if (approval) base.approvers = approval->approvers;
  base.rollback_target = evidence.rollback ? evidence.rollback->target : "";
  if (evidence.rollback) {
    base.reason = "rollback to verified " + evidence.rollback->target.substr(0, 12) +
                  (pin->artifact.version.empty() ? "" : " (" + pin->artifact.version + ")");
  }
  if (evidence.emergency) {
    base.reason = "EMERGENCY " + evidence.emergency->incident +
                  ": windows, freezes and soak skipped, approved by " +
                  Join(evidence.emergency->approvers);
  }
  if (resumed_after_crash) {
    // The previous controller stopped between `applying` and the outcome.
    Event interrupted = base;
    interrupted.kind = EventKind::kFailed;
    interrupted.interrupted = true;
    interrupted.reason = "interrupted: the apply started " + FormatRfc3339(last->time) + " by " +
                         last->controller_id +
                         " has no outcome (the controller stopped); asking the " +
                         std::string(config::AdapterName(pin->deploy.adapter)) +
                         " adapter what runs before applying again";
    (void)record_.Write(interrupted);
  }
  AppOutcome applied = Apply(base, *pin, pif, resumed_after_crash);
  applied.commit = candidate;
  return applied;
}

AppOutcome Reconciler::Apply(const Event& base, const config::Pin& pin, const PolicyInForce& pif,
                             bool resumed_after_crash) {
  const std::string& env = base.env;
  const std::string& app = base.app;
  AppOutcome outcome{env, app, base.commit, pin.artifact.digest, "", ""};
  auto fail = [&](Event e, std::string reason) {
    e.kind = EventKind::kFailed;
    e.time = clock_.Now();
    e.reason = std::move(reason);
    outcome.state = "failed";
    outcome.reason = e.reason;
    if (Status s = record_.Write(e); !s.ok()) {
      spdlog::error("{}/{}: could not record failure: {}", env, app, s.ToString());
    }
    return outcome;
  };

  auto adapter = options_.make_adapter(pin.deploy.adapter, runner_);
  if (!adapter.ok()) return fail(base, adapter.status().message());

  // Announce the apply on the remote before it starts: a crash mid-apply is
  // then visible to everyone and resolved by the next pass.
  if (Status s = record_.Write(base, {{CandidateRef(env, app), base.commit}}); !s.ok()) {
    outcome.state = "error";
    outcome.reason = "not applying: could not record the `applying` event (" + s.ToString() + ")";
    return outcome;
  }
  if (options_.before_apply) options_.before_apply(env, app);

  std::error_code ec;
  std::string checkout = ws_.ScratchDir() + "/" + env + "-" + app + "-" + base.commit.substr(0, 12);
  fs::remove_all(checkout, ec);
  fs::create_directories(ws_.ScratchDir(), ec);
  Status exported;
  {
    std::lock_guard lock(ws_.mutex());
    exported = ws_.repo().ExportTree(base.commit, checkout);
  }
  if (!exported.ok()) return fail(base, "checkout failed: " + exported.ToString());
  if (auto user = runner_.RepositoryCodeUser()) {
    // runAs: the adapter runs as its own account and owns its checkout.
    if (Status given = adapters::HandOverTree(checkout, ws_.workdir(), *user); !given.ok()) {
      fs::remove_all(checkout, ec);
      return fail(base, "checkout failed: " + given.ToString());
    }
  }

  adapters::ApplyRequest req;
  req.env = env;
  req.app = app;
  req.commit = base.commit;
  req.pin = &pin;
  req.checkout_dir = fs::absolute(checkout).string();
  req.cancel = &cancel_;
  req.log = [&](std::string_view line, bool is_stderr) {
    spdlog::info("[{}/{}{}] {}", env, app, is_stderr ? " stderr" : "", line);
  };
  const config::Verification no_checks;
  const config::Verification& checks =
      pin.verification
          ? *pin.verification
          : (pif.policy && pif.policy->verification ? *pif.policy->verification : no_checks);
  // Relative thresholds ("no more than 1.5x before") need the value before.
  verify::Baseline baseline = verifier_.ReadBaseline(checks, &cancel_);

  Result<adapters::ApplyResult> result = Status::Internal("not run");
  if (resumed_after_crash) {
    // Never apply twice blindly: ask the tool what runs first.
    auto observed = (*adapter)->Observe(req);
    if (observed.ok() && *observed == adapters::Observed::kPinDeployed) {
      adapters::ApplyResult already;
      already.ok = true;
      already.exit_code = 0;
      already.summary = "resolved after restart: the " + std::string((*adapter)->Name()) +
                        " adapter reports this pin deployed";
      result = already;
    }
  }
  if (!result.ok()) {
    spdlog::info("{}/{}: applying {} with the {} adapter", env, app, pin.artifact.digest,
                 (*adapter)->Name());
    result = (*adapter)->Apply(req);
  }
  fs::remove_all(checkout, ec);

  Event done = base;
  done.time = clock_.Now();
  if (!result.ok()) return fail(done, result.status().message());
  done.adapter = AdapterRecord{std::string((*adapter)->Name()), result->exit_code,
                               static_cast<std::int64_t>(result->duration.count())};
  if (!result->ok) {
    done.output = Tail(result->output_tail, kRecordedOutputBytes);
    done.interrupted = result->cancelled;
    return fail(done, result->cancelled
                          ? "interrupted: controller shutting down; " + result->summary
                          : result->summary);
  }

  done.kind = base.rollback_target.empty() ? EventKind::kApplied : EventKind::kRolledBack;
  // What ran before, so `sluice status` can say what changed with this apply.
  if (auto prev = record_.Ref(DeployedRef(env, app)); prev && *prev != base.commit) {
    done.previous = *prev;
  }
  done.reason =
      base.rollback_target.empty() ? result->summary : base.reason + "; " + result->summary;
  // Without checks the verdict follows at once: `applied` travels with it in
  // one push instead of a push of its own (each push lists every record ref
  // of the remote). With checks, `applied` is on the remote while they run.
  const bool verified_at_once = checks.checks.empty();
  std::string record_error;  // a push of this apply's record that failed
  if (Status s = record_.Write(
          done, {{DeployedRef(env, app), base.commit}, {AppliedRef(env), base.commit}},
          /*push=*/!verified_at_once);
      !s.ok()) {
    spdlog::error("{}/{}: applied, but the record could not be pushed yet: {}", env, app,
                  s.ToString());
    record_error = s.ToString();
  }
  outcome.state = base.rollback_target.empty() ? "applied" : "rolled-back";
  outcome.reason = done.reason;

  verify::VerificationResult v = verifier_.Verify(checks, baseline, &cancel_);
  Event verdict = done;
  verdict.time = clock_.Now();
  verdict.adapter.reset();
  verdict.reason = v.reason;
  for (const auto& check : v.checks) {
    if (!verdict.output.empty()) verdict.output += "\n";
    verdict.output += (check.ok ? "ok   " : "FAIL ") + check.name + ": " + check.detail;
  }
  if (v.ok) {
    verdict.kind = EventKind::kVerified;
    if (Status s = record_.Write(verdict, {{LkgRef(env, app), base.commit}}); !s.ok()) {
      spdlog::error("{}/{}: verified, but the record could not be pushed yet: {}", env, app,
                    s.ToString());
      record_error = s.ToString();
    }
    if (!record_error.empty()) {
      // Deployed, but the record is only local until a later Sync pushes it.
      outcome.state = "error";
      outcome.reason =
          "deployed and verified, but the record could not be pushed (" + record_error + ")";
      return outcome;
    }
    outcome.state = "verified";
    // A verified rollback says so: on-call reads this line first.
    outcome.reason = base.rollback_target.empty()
                         ? v.reason
                         : "rolled back to " + base.rollback_target.substr(0, 12) + "; " + v.reason;
    return outcome;
  }
  if (v.cancelled) {
    verdict.interrupted = true;
    return fail(verdict, "interrupted: verification stopped by shutdown; " + v.reason);
  }
  if (pif.policy && pif.policy->on_failure == config::OnFailure::kRollback) {
    verdict.reason += "; " + CommitAutomaticRollback(env, app, verdict.reason);
  }
  return fail(verdict, verdict.reason);
}

}  // namespace sluice::engine

namespace sluice::engine {

std::unique_ptr<approval::Forge> Reconciler::ForgeFor(std::string* error) {
  // The forge comes from the controller's configuration only (SPEC 1.3
  // rule 5): sluice.yaml cannot name one.
  if (!options_.forge) return nullptr;
  auto made = approval::MakeForge(*options_.forge, http_, options_.forge_token, &clock_);
  if (!made.ok()) {
    *error = made.status().message();
    return nullptr;
  }
  return std::move(*made);
}

approval::ApprovalDecision Reconciler::CheckApproval(const config::ApprovalPolicy& policy,
                                                     const config::RepoSettings& settings,
                                                     const std::string& candidate,
                                                     const std::string& pin_path,
                                                     const std::string& stop_at,
                                                     std::string* landing_commit) {
  std::string forge_error;
  std::unique_ptr<approval::Forge> forge = ForgeFor(&forge_error);
  // The checker takes the repository lock for its reads only, never across
  // the forge's HTTP calls or ssh-keygen: environments judge in parallel.
  approval::ApprovalChecker checker(ws_.repo(), forge.get(), runner_, options_.extra_signers,
                                    &ws_.mutex());
  approval::ApprovalEvidence ev = checker.Gather(policy, settings, candidate, pin_path, stop_at);
  if (!forge_error.empty() && ev.error.empty() && policy.evidence != config::Evidence::kSigned) {
    ev.error = "forge: " + forge_error;
  }
  if (landing_commit) *landing_commit = ev.landing_commit;
  return approval::JudgeApproval(policy, settings, ev);
}

std::string Reconciler::ApproveCommit(const config::ApprovalPolicy& rule,
                                      const config::RepoSettings& settings,
                                      const std::string& commit,
                                      const std::vector<std::string>& paths) {
  if (rule.required <= 0) return "";
  if (IsOwnRollback(commit)) return "";
  std::string forge_error;
  std::unique_ptr<approval::Forge> forge = ForgeFor(&forge_error);
  approval::ApprovalChecker checker(ws_.repo(), forge.get(), runner_, options_.extra_signers,
                                    &ws_.mutex());
  approval::ApprovalEvidence ev = checker.GatherFor(rule, settings, commit, paths);
  if (!forge_error.empty() && ev.error.empty() && rule.evidence != config::Evidence::kSigned) {
    ev.error = "forge: " + forge_error;
  }
  approval::ApprovalDecision d = approval::JudgeApproval(rule, settings, ev);
  if (d.result.verdict == gates::Verdict::kPass) return "";
  return d.result.reason;
}

std::optional<gates::EmergencyEvidence> Reconciler::CheckEmergency(
    const config::EnvironmentPolicy& policy, const config::RepoSettings& settings,
    const std::string& landing, const std::string& candidate, const std::string& pin_path,
    const std::string& stop_at) {
  std::string commit = landing;
  std::vector<std::string> incidents;
  {
    std::lock_guard lock(ws_.mutex());
    if (commit.empty()) {
      auto found = approval::FindLandingCommit(ws_.repo(), candidate, pin_path, stop_at);
      if (!found.ok()) return std::nullopt;
      commit = *found;
    }
    auto info = ws_.repo().GetCommit(commit);
    if (!info.ok()) return std::nullopt;
    incidents = info->Trailer("Sluice-Incident");
  }
  if (incidents.empty()) return std::nullopt;
  // The emergency's approval: one of the emergency approvers, by the same
  // kind of evidence the environment asks for releases.
  config::ApprovalPolicy emergency;
  emergency.required = 1;
  emergency.from = policy.emergency->approvers;
  emergency.evidence = policy.approval ? policy.approval->evidence : config::Evidence::kSigned;
  emergency.separate_author = true;
  approval::ApprovalDecision d =
      CheckApproval(emergency, settings, candidate, pin_path, stop_at, nullptr);
  if (d.result.verdict != gates::Verdict::kPass) {
    spdlog::warn("emergency {} named on {} is not approved by {}: {}", incidents.front(),
                 commit.substr(0, 12), Join(policy.emergency->approvers), d.result.reason);
    return std::nullopt;
  }
  return gates::EmergencyEvidence{incidents.front(), d.approvers};
}

}  // namespace sluice::engine

namespace sluice::engine {

config::ApprovalPolicy RollbackApprovalRule(const config::EnvironmentPolicy& policy) {
  if (policy.rollback.approval) return *policy.rollback.approval;
  config::ApprovalPolicy rule;
  if (policy.approval && policy.approval->required > 0) {
    rule.required = 1;
    rule.from = {"on-call"};
    rule.evidence = policy.approval->evidence;
    rule.separate_author = false;  // on-call may roll back their own change
  }
  return rule;
}

std::optional<gates::RollbackEvidence> Reconciler::DetectRollback(const std::string& env,
                                                                  const std::string& app,
                                                                  const std::string& candidate,
                                                                  const std::string& pin_path,
                                                                  const config::Pin& pin) {
  std::lock_guard lock(ws_.mutex());
  git::Repository& repo = ws_.repo();
  auto blob = repo.BlobId(candidate, pin_path);
  if (!blob.ok()) return std::nullopt;
  auto same_pin = [&](const std::string& commit) {
    auto b = repo.BlobId(commit, pin_path);
    return b.ok() && *b == *blob;
  };
  // Back to the LKG: `sluice rollback`, `git revert` of the bad pin, or a
  // hand-restored file all land here.
  if (auto lkg = repo.ResolveRef(LkgRef(env, app)); lkg.ok() && same_pin(*lkg)) {
    auto deployed = repo.ResolveRef(DeployedRef(env, app));
    if (deployed.ok() && same_pin(*deployed)) return std::nullopt;  // nothing to restore
    return gates::RollbackEvidence{*lkg, pin.artifact.digest};
  }
  // Back to an older verified commit named by the landing commit's trailer.
  auto deployed = repo.ResolveRef(DeployedRef(env, app));
  auto landing =
      approval::FindLandingCommit(repo, candidate, pin_path, deployed.ok() ? *deployed : "");
  if (!landing.ok()) return std::nullopt;
  auto info = repo.GetCommit(*landing);
  if (!info.ok()) return std::nullopt;
  for (const auto& target : info->Trailer("Sluice-Rollback")) {
    auto t = repo.GetCommit(target);
    if (!t.ok() || !same_pin(t->id)) continue;
    for (const auto& e : ws_.TrustedEventsLocked(t->id)) {
      if (e.env == env && e.app == app && e.kind == EventKind::kVerified) {
        return gates::RollbackEvidence{t->id, pin.artifact.digest};
      }
    }
  }
  return std::nullopt;
}

std::string Reconciler::LandingOf(const std::string& candidate, const std::string& pin_path,
                                  const std::string& deployed) {
  std::lock_guard lock(ws_.mutex());
  auto found = approval::FindLandingCommit(ws_.repo(), candidate, pin_path, deployed);
  return found.ok() ? *found : std::string();
}

bool Reconciler::IsOwnRollback(const std::string& commit) {
  std::lock_guard lock(own_rollbacks_mu_);
  return own_rollbacks_.count(commit) > 0;
}

std::string Reconciler::CommitAutomaticRollback(const std::string& env, const std::string& app,
                                                const std::string& why) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto plan = PlanRollback(ws_, env, app, "");
    if (!plan.ok()) return "onFailure: rollback not possible: " + plan.status().message();
    auto commit =
        WriteRollbackCommit(ws_, *plan, "", "Verification failed: " + why, Workspace::Identity());
    if (!commit.ok()) return "onFailure: rollback commit failed: " + commit.status().ToString();
    {
      std::lock_guard lock(own_rollbacks_mu_);
      own_rollbacks_.insert(*commit);
    }
    Status pushed = PushCommit(ws_, *commit, "");
    if (pushed.ok()) {
      rerun_ = true;
      spdlog::warn("{}/{}: verification failed; pushed rollback {} to {}", env, app,
                   commit->substr(0, 12), plan->target.substr(0, 12));
      return "rolled back by " + commit->substr(0, 12) + " restoring " + plan->target.substr(0, 12);
    }
    if (!pushed.IsConflict()) return "onFailure: rollback push failed: " + pushed.ToString();
    // The branch moved: take the new head and build the rollback on it.
    (void)ws_.Sync(/*push=*/false);
  }
  return "onFailure: rollback push kept conflicting; roll back by hand with `sluice rollback " +
         env + " " + app + " --push`";
}

}  // namespace sluice::engine
