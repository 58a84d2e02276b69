#include "engine/reconciler.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "adapters/adapter.h"
#include "config/repository_config.h"
#include "core/duration.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "core/version.h"
#include "engine/change_set.h"
#include "engine/order.h"
#include "record/candidate.h"
#include "record/refs.h"
#include "record/steps.h"

namespace sluice::engine {
namespace {

// The pass outcome of a drift finding (DriftFinding::state: drift | resolved | error).
record::Outcome DriftOutcome(const std::string& finding) {
  if (finding == "drift") return record::Outcome::kDrift;
  if (finding == "resolved") return record::Outcome::kDriftResolved;
  return record::Outcome::kError;
}

std::vector<record::GateRecord> ToRecords(const std::vector<gates::GateResult>& results) {
  std::vector<record::GateRecord> out;
  for (const auto& r : results) {
    out.push_back({r.name, std::string(gates::VerdictName(r.verdict)), r.reason,
                   r.verdict == gates::Verdict::kWait ? r.until : std::nullopt});
  }
  return out;
}

ReconcileOptions WithDefaults(ReconcileOptions options) {
  if (options.instance_id.empty()) options.instance_id = DefaultInstanceId();
  if (options.parallelism == 0) options.parallelism = 1;
  if (!options.make_adapter) options.make_adapter = adapters::MakeAdapter;
  return options;
}

}  // namespace

std::string DefaultInstanceId() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

Reconciler::Reconciler(record::Workspace& ws, process::CommandRunner& runner,
                       verify::Verifier& verifier, net::HttpClient& http, const Clock& clock,
                       CancelToken& cancel, ReconcileOptions options)
    : ws_(ws),
      record_(ws, options.on_event),
      clock_(clock),
      cancel_(cancel),
      options_(WithDefaults(std::move(options))),
      judge_(ws, record_, runner, http, clock, cancel, own_rollbacks_,
             JudgeOptions{options_.forge, options_.forge_token, options_.extra_signers,
                          options_.registry, options_.scan_cache_entries, options_.trust}),
      applier_(ws, record_, runner, verifier, clock, cancel, own_rollbacks_, options_.make_adapter,
               options_.before_apply, options_.still_owner) {
  if (!options_.drift.make_adapter) options_.drift.make_adapter = options_.make_adapter;
  if (!options_.drift.ignores_drift) {
    options_.drift.ignores_drift = [this](const std::string& env, const std::string& head) {
      PolicyInForce pif = judge_.PolicyFor(env, head);
      return pif.policy && pif.policy->drift == config::DriftPolicy::kIgnore;
    };
  }
  if (options_.should_apply) {
    // Another replica's environments are its to check (and record) too.
    options_.drift.ignores_drift =
        [ignores = std::move(options_.drift.ignores_drift), should_apply = options_.should_apply,
         done_with_env = options_.done_with_env](const std::string& env, const std::string& head) {
          const bool mine = should_apply(env);
          if (mine && done_with_env) done_with_env(env);
          return !mine || ignores(env, head);
        };
  }
  if (options_.forge && options_.forge->statuses) {
    auto forge = approval::MakeForge(*options_.forge, http, options_.forge_token, &clock_);
    if (forge.ok()) {
      status_forge_ = std::move(*forge);
      pull_requests_ = std::make_unique<PullRequestChecker>(
          ws_, judge_, *status_forge_, clock_,
          PullRequestChecker::Options{options_.forge->dashboard_url, options_.posts_statuses_for,
                                      ws_.workdir() + "/pull-request-statuses.json"});
    } else {
      spdlog::warn("pull request statuses are off: {}", forge.status().ToString());
    }
  }
  drift_ = std::make_unique<DriftChecker>(ws_, record_, runner, clock_, cancel_, options_.drift,
                                          options_.instance_id);
}

record::Event Reconciler::NewEvent(const std::string& env, const std::string& app,
                                   const std::string& commit, record::EventKind kind) const {
  record::Event e;
  e.time = clock_.Now();
  e.env = env;
  e.app = app;
  e.commit = commit;
  e.kind = kind;
  e.controller_id = options_.instance_id;
  e.controller_version = std::string(Version());
  return e;
}

namespace {
// A full disk under the workdir surfaces deep inside libgit2 or a journal
// write ("cannot extend packfile '...': No space left on device"); the pass's
// error then also says what it means and what to do.
Status ExplainFullDisk(const Status& s, const std::string& workdir) {
  static const std::string kNoSpace = std::strerror(ENOSPC);
  if (s.ok() || s.message().find(kNoSpace) == std::string::npos) return s;
  return Status::IOError(s.message() + "; the disk holding the workdir " + workdir +
                         " is full: free space there (or give --workdir another disk). Nothing "
                         "is applied until it can be recorded; the next pass goes on from here");
}
}  // namespace

Result<record::PassReport> Reconciler::RunOnce() {
  rerun_ = false;
  auto report = RunPass();
  if (!report.ok()) return ExplainFullDisk(report.status(), ws_.workdir());
  // At most two follow-ups: a rollback the pass committed, and its outcome.
  for (int i = 0; i < 2 && report.ok() && rerun_.exchange(false) && !cancel_.cancelled(); ++i) {
    auto next = RunPass();
    if (!next.ok()) return ExplainFullDisk(next.status(), ws_.workdir());
    for (auto& o : next->outcomes) report->outcomes.push_back(std::move(o));
    report->pins_read += next->pins_read;
    report->duration += next->duration;
    report->head = next->head;
  }
  if (report.ok()) {
    for (const auto& o : report->outcomes) {
      if (o.retry_at && (!report->next_due || *o.retry_at < *report->next_due)) {
        report->next_due = o.retry_at;
      }
    }
  }
  // Drift checks come last, so that they never delay an apply of this pass.
  if (report.ok() && !cancel_.cancelled()) AddDriftChecks(*report);
  // Gate results on open pull requests, after the pass's own work: a forge
  // error is a warning, never a failed pass.
  if (report.ok() && pull_requests_ && !cancel_.cancelled()) {
    PullRequestRound round = pull_requests_->Run(report->head);
    report->pull_requests = std::move(round.checks);
    report->pull_request_problems = std::move(round.problems);
    for (const auto& p : report->pull_request_problems) spdlog::warn("{}", p);
  }
  // The pass ends once its record is on the remote (the flusher pushes it
  // while the pass runs; this waits for the last batch).
  if (Status flushed = record_.Flush(); !flushed.ok() && report.ok()) {
    report->problems.push_back("the record of this pass is not on the remote yet (kept in " +
                               ws_.workdir() +
                               "/record-journal; pushed by the next pass): " + flushed.ToString());
  }
  // Then the loose references the pass wrote and pushed: a fleet-wide pass
  // leaves tens of thousands, and the next pass (a fleet-wide change, a
  // rollback) would otherwise pack them before its first apply.
  if (!cancel_.cancelled()) ws_.PackRefsIfDue();
  return report;
}

void Reconciler::AddDriftChecks(record::PassReport& report) {
  auto started = std::chrono::steady_clock::now();
  for (const auto& o : report.outcomes) {
    if (record::Deployed(o.state)) {
      drift_->MarkChecked(o.env, o.app);
    }
  }
  DriftReport drift = drift_->Run(report.head);
  report.drift_checks = drift.checks;
  for (auto& f : drift.findings) {
    report.outcomes.push_back({f.env, f.app, f.commit, f.digest, DriftOutcome(f.state), f.reason});
  }
  report.duration += std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
}

Result<record::PassReport> Reconciler::RunPass() {
  auto started = std::chrono::steady_clock::now();
  record::PassReport report;
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
  Environments envs = ListEnvironments(ws_, *head);
  if (!envs.problem.empty()) report.problems.push_back(envs.problem);
  if (!envs.ignored_keys.empty() && warned_ignored_at_ != *head) {
    warned_ignored_at_ = *head;
    for (const auto& line : envs.ignored_keys) spdlog::warn("{}", line);
  }
  // One first-parent walk for every environment whose policy in force must
  // be followed to this head (trust rule 1), instead of one each.
  judge_.PrefetchPolicies(envs.names, *head);

  skipped_ = false;
  std::vector<std::vector<record::AppOutcome>> per_env(envs.names.size());
  std::vector<size_t> reads(envs.names.size(), 0);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < envs.names.size(); i = next++) {
      if (cancel_.cancelled()) break;
      ReconcileEnv(envs.names[i], *head, per_env[i], reads[i]);
    }
  };
  size_t nthreads = std::min(options_.parallelism, envs.names.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < nthreads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  bool settled = report.problems.empty() && !skipped_;
  for (size_t i = 0; i < envs.names.size(); ++i) {
    report.pins_read += reads[i];
    for (auto& o : per_env[i]) {
      if (o.state == record::Outcome::kWaiting || o.state == record::Outcome::kBlocked ||
          o.state == record::Outcome::kError) {
        settled = false;
      }
      report.outcomes.push_back(std::move(o));
    }
  }
  last_head_ = *head;
  last_pass_settled_ = settled && !cancel_.cancelled();
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return report;
}

void Reconciler::ReconcileEnv(const std::string& env, const std::string& head,
                              std::vector<record::AppOutcome>& out, size_t& pins_read) {
  if (!config::IsValidName(env)) {
    out.push_back({env, "", head, "", record::Outcome::kError,
                   "'" + env + "' is not a valid environment name"});
    return;
  }
  auto changed = ChangedApps(ws_, env, head, out);
  if (!changed.ok()) {
    out.push_back({env, "", head, "", record::Outcome::kError, changed.status().ToString()});
    return;
  }
  // The policy in force is followed on every head, changed pins or not: the
  // walk is incremental (only the new commits), and a rewritten branch is
  // then noticed against the head judged last (trust rule 1).
  PolicyInForce pif = judge_.PolicyFor(env, head);
  if (changed->empty()) return;
  if (options_.should_apply && !options_.should_apply(env)) {
    skipped_ = true;  // another replica's (SPEC section 8): nothing judged, recorded or applied
    return;
  }
  // should_apply admitted env: tell the HA layer when the pass is done with it.
  struct DoneWith {
    const ReconcileOptions& o;
    const std::string& env;
    ~DoneWith() {
      if (o.should_apply && o.done_with_env) o.done_with_env(env);
    }
  } done_with{options_, env};
  // Rollbacks go first: restoring a verified release beats any new change.
  RollbacksFirst(ws_, env, head, *changed);
  // deploy.dependsOn: dependencies first (engine/order.h).
  EnvOrder order = OrderChanges(ws_, env, head, *changed);
  std::map<std::string, record::AppOutcome> this_pass;
  // One environment never runs two applies at once: apps go one by one.
  bool first = true;
  for (const auto& app : order.apps) {
    if (cancel_.cancelled()) break;
    // Each later change is proved again: the lease may have gone meanwhile.
    if (!first && options_.should_apply && !options_.should_apply(env)) {
      skipped_ = true;
      break;
    }
    first = false;
    auto hold = [&](const std::string& candidate) {
      return HoldFor(ws_, record_, env, app, candidate, order, this_pass);
    };
    record::AppOutcome o = ReconcileApp(env, app, head, pif, pins_read, hold);
    this_pass[app] = o;
    spdlog::log(o.state == record::Outcome::kFailed || o.state == record::Outcome::kError
                    ? spdlog::level::warn
                    : spdlog::level::info,
                "{}/{}: {}{}{}", env, app, record::OutcomeName(o.state),
                o.reason.empty() ? "" : " — ", o.reason);
    out.push_back(std::move(o));
  }
}

record::AppOutcome Reconciler::ReconcileApp(const std::string& env, const std::string& app,
                                            const std::string& head, const PolicyInForce& pif,
                                            size_t& pins_read, const HoldCheck& hold) {
  const std::string path = config::PinPath(env, app);
  record::AppOutcome outcome{env, app, head, "", record::Outcome::kError, ""};

  // The candidate commit stays put while the pin is unchanged, so waiting and
  // blocked decisions accumulate on one commit instead of following the head.
  std::string candidate = head;
  std::string text;
  {
    std::lock_guard lock(ws_.mutex());
    git::Repository& repo = ws_.repo();
    candidate = record::CandidateFor(repo, env, app, head);
    auto t = repo.ReadFile(candidate, path);
    if (!t.ok()) {
      outcome.state = record::Outcome::kError;
      outcome.reason = t.status().ToString();
      return outcome;
    }
    text = std::move(*t);
  }
  outcome.commit = candidate;
  ++pins_read;

  std::vector<record::Event> history = record_.EventsFor(candidate, env, app);
  const record::Event* last = record::LastEventFor(history, env, app);
  bool resumed_after_crash = false;
  if (last && last->kind == record::EventKind::kFailed && !last->interrupted) {
    // A failed apply is not retried blindly: a new commit (a fix or a
    // rollback) is what moves this app again.
    outcome.state = record::Outcome::kFailed;
    outcome.digest = last->digest;
    outcome.reason = last->reason;
    return outcome;
  }
  if (last && last->kind == record::EventKind::kApplying) {
    resumed_after_crash = true;
  }

  Judgement j = judge_.Evaluate(env, app, candidate, head, text, pif, clock_.Now());
  // The candidate stays put while the pin is unchanged; but when what blocks
  // it is an unapproved edit of a file the deploy reads, a later commit (a
  // revert) can clear that without touching the pin: judge the head too.
  auto coverage_blocks = [](const Judgement& jj) {
    return std::any_of(jj.results.begin(), jj.results.end(), [](const gates::GateResult& r) {
      return r.name == "coverage" && r.verdict == gates::Verdict::kBlock;
    });
  };
  if (candidate != head && coverage_blocks(j)) {
    Judgement at_head = judge_.Evaluate(env, app, head, head, text, pif, clock_.Now());
    if (!coverage_blocks(at_head)) {
      candidate = head;
      outcome.commit = head;
      j = std::move(at_head);
      history = record_.EventsFor(candidate, env, app);
      last = record::LastEventFor(history, env, app);
      resumed_after_crash = last && last->kind == record::EventKind::kApplying;
    }
  }
  // Found once, only when an event is written (a waiting pin re-judged every
  // pass writes nothing new): auditors read the proposer from it.
  std::string landing_commit = j.landing;
  auto landing = [&]() -> const std::string& {
    if (landing_commit.empty()) {
      landing_commit = judge_.LandingOf(candidate, path,
                                        record_.Ref(record::DeployedRef(env, app)).value_or(""));
    }
    return landing_commit;
  };
  auto record_decision = [&](record::EventKind kind, std::vector<record::GateRecord> gates,
                             std::string reason, std::string digest) {
    outcome.state =
        kind == record::EventKind::kBlocked ? record::Outcome::kBlocked : record::Outcome::kWaiting;
    outcome.reason = reason;
    outcome.digest = digest;
    // Write only what is new: the same verdict for the same reasons stays one line.
    if (last && last->kind == kind && last->gates == gates && last->reason == reason) return;
    record::Event e = NewEvent(env, app, candidate, kind);
    e.landing = landing();
    e.digest = std::move(digest);
    if (j.pin) e.version = j.pin->artifact.version;  // what is waiting, as people name it
    e.gates = std::move(gates);
    e.reason = std::move(reason);
    if (Status s = record_.Write(e, {{record::CandidateRef(env, app), candidate}}); !s.ok()) {
      spdlog::warn("{}/{}: could not record {}: {}", env, app, record::EventKindName(kind),
                   s.ToString());
      // A decision nobody else can see is not a normal outcome (SPEC 7).
      outcome.state = record::Outcome::kError;
      outcome.reason = std::string(record::EventKindName(kind)) +
                       ", but it could not be recorded (" + s.ToString() + "); " + outcome.reason;
    }
  };

  if (j.pin) outcome.digest = j.pin->artifact.digest;
  // deploy.strategy: a release past its first step goes on at its recorded
  // step (never repeating a finished one). The gates passed when it started:
  // a window that closes since does not stop it; a freeze that starts holds
  // the next step (docs/configuration.md#deploystrategy).
  if (std::optional<record::StepProgress> progress =
          j.pin ? record::ReleaseInProgress(history, env, app) : std::nullopt) {
    for (const gates::GateResult& r : j.results) {
      if (r.name != "freeze" || r.verdict == gates::Verdict::kPass) continue;
      record_decision(r.verdict == gates::Verdict::kBlock ? record::EventKind::kBlocked
                                                          : record::EventKind::kWaiting,
                      ToRecords({r}),
                      "the freeze holds the next step (" + progress->line + "): " + r.reason,
                      outcome.digest);
      if (outcome.state == record::Outcome::kWaiting) outcome.retry_at = r.until;
      return outcome;
    }
    if (progress->paused_until && clock_.Now() < *progress->paused_until) {
      outcome.state = record::Outcome::kWaiting;
      outcome.reason = progress->line + " (step " + std::to_string(progress->current) + " of " +
                       std::to_string(progress->of) + ")";
      outcome.retry_at = progress->paused_until;
      return outcome;
    }
    if (!progress->paused_until && options_.may_resume && progress->by != options_.instance_id) {
      // Another replica's release: its step may still run there.
      if (auto wait = options_.may_resume(env, progress->by, adapters::LongestApply(*j.pin))) {
        outcome.state = record::Outcome::kWaiting;
        outcome.reason =
            "release in progress by " + progress->by + " (" + progress->line + "): " + *wait;
        return outcome;
      }
    }
    record::Event base = NewEvent(env, app, candidate, record::EventKind::kApplying);
    base.digest = j.pin->artifact.digest;
    base.version = j.pin->artifact.version;
    base.landing = landing();
    spdlog::info("{}/{}: resuming the release at step {} ({})", env, app, progress->next + 1,
                 progress->line);
    Applied applied = applier_.Apply(base, *j.pin, pif, /*resumed_after_crash=*/false, &*progress);
    if (applied.rerun) rerun_ = true;
    applied.outcome.commit = candidate;
    return applied.outcome;
  }
  // deploy.dependsOn: a dependency not in place holds this change, as one
  // more gate result (after the others, so `plan` and the record show both).
  // In place, it is a passing result that says when each dependency was.
  if (std::optional<DependencyHold> held = hold ? hold(candidate) : std::nullopt) {
    j.results.push_back({kDependsOnGate, held->verdict, held->reason, {}});
    const bool holds = held->verdict != gates::Verdict::kPass;
    if (holds && (j.verdict == gates::Verdict::kPass || held->verdict == gates::Verdict::kBlock)) {
      j.reason = j.verdict == gates::Verdict::kPass ? held->reason : held->reason + "; " + j.reason;
      j.verdict = held->verdict;
    } else if (holds) {
      j.reason += "; " + held->reason;
    }
  }
  if (j.verdict != gates::Verdict::kPass) {
    record_decision(j.verdict == gates::Verdict::kBlock ? record::EventKind::kBlocked
                                                        : record::EventKind::kWaiting,
                    ToRecords(j.results), j.reason, outcome.digest);
    if (outcome.state == record::Outcome::kWaiting) {
      outcome.retry_at = gates::EarliestWaitEnd(j.results);
    }
    return outcome;
  }
  const config::Pin* pin = &*j.pin;
  const gates::Evidence& evidence = j.evidence;
  const std::optional<approval::ApprovalDecision>& approval = j.approval;
  const std::vector<gates::GateResult>& results = j.results;

  record::Event base = NewEvent(env, app, candidate, record::EventKind::kApplying);
  base.digest = pin->artifact.digest;
  base.version = pin->artifact.version;
  base.landing = landing();
  base.gates = ToRecords(results);
  if (approval) base.approvers = approval->approvers;
  base.rollback_target = evidence.rollback ? evidence.rollback->target : "";
  if (evidence.rollback) {
    base.reason = "rollback to verified " + ShortId(evidence.rollback->target) +
                  (pin->artifact.version.empty() ? "" : " (" + pin->artifact.version + ")");
  }
  if (evidence.emergency) {
    base.reason = "EMERGENCY " + evidence.emergency->incident +
                  ": windows, freezes and soak skipped, approved by " +
                  NamesOrNobody(evidence.emergency->approvers);
  }
  if (resumed_after_crash && options_.may_resume && last->controller_id != options_.instance_id) {
    // Another replica's apply: it may still run there (docs/operations.md).
    if (auto wait = options_.may_resume(env, last->controller_id, adapters::LongestApply(*pin))) {
      outcome.state = record::Outcome::kWaiting;
      outcome.digest = pin->artifact.digest;
      outcome.reason = "interrupted apply by " + last->controller_id + ": " + *wait;
      return outcome;
    }
  }
  if (resumed_after_crash) {
    // The previous controller stopped between `applying` and the outcome.
    record::Event interrupted = base;
    interrupted.kind = record::EventKind::kFailed;
    interrupted.interrupted = true;
    interrupted.reason = "interrupted: the apply started " + FormatRfc3339(last->time) + " by " +
                         last->controller_id +
                         " has no outcome (the controller stopped); asking the " +
                         std::string(config::AdapterName(pin->deploy.adapter)) +
                         " adapter what runs before applying again";
    if (Status s = record_.Write(interrupted); !s.ok()) {
      spdlog::warn("{}/{}: could not record the interrupted apply: {}", env, app, s.ToString());
    }
  }
  Applied applied = applier_.Apply(base, *pin, pif, resumed_after_crash);
  if (applied.rerun) rerun_ = true;
  applied.outcome.commit = candidate;
  return applied.outcome;
}

Result<std::vector<PlanRow>> Reconciler::Plan(const std::string& env_filter,
                                              const std::string& app_filter, TimePoint at) {
  SLUICE_RETURN_IF_ERROR(ws_.Sync(/*push=*/false).WithContext("fetch " + ws_.url()));
  auto head = ws_.Head();
  if (!head.ok()) return head.status();
  Environments envs = ListEnvironments(ws_, *head);
  if (!envs.problem.empty()) return envs.error;
  std::vector<PlanRow> rows;
  for (const auto& env : envs.names) {
    if (!env_filter.empty() && env != env_filter) continue;
    std::vector<record::AppOutcome> ignored;
    auto changed = ChangedApps(ws_, env, *head, ignored);
    if (!changed.ok()) return changed.status();
    if (changed->empty()) continue;
    PolicyInForce pif = judge_.PolicyFor(env, *head);
    // The order a pass would take (deploy.dependsOn); a dependency's verdict
    // here stands for its outcome (pass: as if applied and verified).
    EnvOrder order = OrderChanges(ws_, env, *head, *changed);
    std::map<std::string, record::AppOutcome> as_if;
    // With --app, only that app and what it depends on (directly or not)
    // are judged.
    std::set<std::string> wanted;
    if (!app_filter.empty()) {
      std::vector<std::string> todo = {app_filter};
      while (!todo.empty()) {
        std::string a = std::move(todo.back());
        todo.pop_back();
        if (!wanted.insert(a).second) continue;
        if (auto d = order.depends_on.find(a); d != order.depends_on.end()) {
          todo.insert(todo.end(), d->second.begin(), d->second.end());
        }
      }
    }
    size_t position = 0;
    for (const auto& app : order.apps) {
      ++position;
      if (!app_filter.empty() && !wanted.count(app)) continue;
      std::string text;
      {
        std::lock_guard lock(ws_.mutex());
        auto t = ws_.repo().ReadFile(*head, config::PinPath(env, app));
        if (!t.ok()) continue;
        text = std::move(*t);
      }
      Judgement j = judge_.Evaluate(env, app, *head, *head, text, pif, at);
      std::vector<std::string> deps;
      if (auto d = order.depends_on.find(app); d != order.depends_on.end()) deps = d->second;
      std::string candidate = *head;
      {
        std::lock_guard lock(ws_.mutex());
        candidate = record::CandidateFor(ws_.repo(), env, app, *head);
      }
      auto held = HoldFor(ws_, record_, env, app, candidate, order, as_if);
      if (held && held->verdict != gates::Verdict::kPass) {
        j.results.push_back({kDependsOnGate, held->verdict, held->reason, {}});
        if (j.verdict == gates::Verdict::kPass || held->verdict == gates::Verdict::kBlock) {
          j.verdict = held->verdict;
        }
      } else if (!deps.empty()) {
        j.results.push_back({kDependsOnGate,
                             gates::Verdict::kPass,
                             "after " + Join(deps, ", ") + " (applied and verified first)",
                             {}});
      }
      as_if[app] = {env,
                    app,
                    *head,
                    "",
                    j.verdict == gates::Verdict::kPass   ? record::Outcome::kVerified
                    : j.verdict == gates::Verdict::kWait ? record::Outcome::kWaiting
                                                         : record::Outcome::kBlocked,
                    j.reason};
      if (!app_filter.empty() && app != app_filter) continue;
      PlanRow row{env, app, *head, "", "", j.verdict, std::move(j.results), {}, {}, 0};
      row.depends_on = deps;
      row.order = position;
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

}  // namespace sluice::engine
