#include "engine/apply.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "adapters/adapter.h"
#include "config/repository_config.h"
#include "core/duration.h"
#include "core/strings.h"
#include "core/text.h"
#include "core/time_format.h"
#include "engine/rollback.h"
#include "record/refs.h"

namespace sluice::engine {
namespace fs = std::filesystem;
namespace {

// How much of an adapter's output a `failed` event keeps.
constexpr size_t kRecordedOutputBytes = 2048;

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "…" + std::string(TailUtf8(s, n));
}

// One line per check: "ok   name: detail" / "FAIL name: detail".
std::string VerificationOutput(const verify::VerificationResult& v) {
  std::string out;
  for (const auto& check : v.checks) {
    if (!out.empty()) out += "\n";
    out += (check.ok ? "ok   " : "FAIL ") + check.name + ": " + check.detail;
  }
  return out;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

}  // namespace

Applier::Applier(record::Workspace& ws, record::RecordStore& record, process::CommandRunner& runner,
                 verify::Verifier& verifier, const Clock& clock, CancelToken& cancel,
                 OwnRollbacks& own_rollbacks, AdapterFactory make_adapter,
                 std::function<void(const std::string& env, const std::string& app)> before_apply,
                 std::function<bool(const std::string& env, std::string* why)> still_owner)
    : ws_(ws),
      record_(record),
      runner_(runner),
      verifier_(verifier),
      clock_(clock),
      cancel_(cancel),
      own_rollbacks_(own_rollbacks),
      make_adapter_(std::move(make_adapter)),
      before_apply_(std::move(before_apply)),
      still_owner_(std::move(still_owner)),
      checkouts_(ws, runner) {}

std::optional<std::string> Applier::Fenced(const std::string& env) const {
  if (!still_owner_) return std::nullopt;
  std::string why;
  if (still_owner_(env, &why)) return std::nullopt;
  return why.empty() ? std::string("ownership cannot be proved") : why;
}

std::string Applier::LiveSlot(const std::string& env, const std::string& app) {
  std::optional<std::string> deployed = record_.Ref(record::DeployedRef(env, app));
  if (!deployed) return "";
  std::vector<record::Event> events = record_.EventsFor(*deployed, env, app);
  std::stable_sort(events.begin(), events.end(),
                   [](const record::Event& a, const record::Event& b) { return a.time < b.time; });
  std::string slot;
  for (const record::Event& e : events) {
    if (e.kind == record::EventKind::kStep && e.action == "switch" && e.phase == "verified" &&
        e.env == env && e.app == app) {
      slot = e.slot;
    }
  }
  return slot;
}

Applied Applier::Apply(const record::Event& base, const config::Pin& pin, const PolicyInForce& pif,
                       bool resumed_after_crash, const record::StepProgress* resume) {
  const std::string& env = base.env;
  const std::string& app = base.app;
  Applied applied;
  record::AppOutcome& outcome = applied.outcome;
  outcome = {env, app, base.commit, pin.artifact.digest, record::Outcome::kError, ""};
  // High availability: an outcome is recorded only while this replica can
  // prove it still owns the environment; otherwise its new owner resolves
  // the `applying` by the crash-recovery rule.
  auto fenced = [&](const char* what) -> std::optional<Applied> {
    std::optional<std::string> why = Fenced(env);
    if (!why) return std::nullopt;
    spdlog::warn(
        "{}/{}: {}, but this replica no longer owns {} ({}): nothing more recorded; "
        "the new owner resolves the apply",
        env, app, what, env, *why);
    outcome.state = record::Outcome::kError;
    outcome.reason = std::string(what) + "; lease lost, outcome left to the environment's new " +
                     "owner (" + *why + ")";
    return applied;
  };
  auto fail = [&](record::Event e, std::string reason) {
    if (auto lost = fenced("failed")) return *lost;
    e.kind = record::EventKind::kFailed;
    e.time = clock_.Now();
    e.reason = std::move(reason);
    outcome.state = record::Outcome::kFailed;
    outcome.reason = e.reason;
    if (Status s = record_.Write(e); !s.ok()) {
      spdlog::error("{}/{}: could not record failure: {}", env, app, s.ToString());
    }
    return applied;
  };

  auto adapter = make_adapter_(pin.deploy.adapter, runner_);
  if (!adapter.ok()) return fail(base, adapter.status().message());

  // Announce the apply on the remote before it starts: a crash mid-apply is
  // then visible to everyone and resolved by the next pass. A resumed
  // stepped release was announced by its first `applying`.
  if (resume == nullptr) {
    if (Status s = record_.Write(base, {{record::CandidateRef(env, app), base.commit}}); !s.ok()) {
      outcome.state = record::Outcome::kError;
      outcome.reason = "not applying: could not record the `applying` event (" + s.ToString() + ")";
      return applied;
    }
  }
  if (before_apply_) before_apply_(env, app);

  Result<std::unique_ptr<Checkouts::Checkout>> checkout = checkouts_.Prepare(env, app, base.commit);
  if (!checkout.ok()) return fail(base, "checkout failed: " + checkout.status().ToString());

  adapters::ApplyRequest req;
  req.env = env;
  req.app = app;
  req.commit = base.commit;
  req.pin = &pin;
  req.checkout_dir = (*checkout)->dir();
  req.cancel = &cancel_;
  req.log = [&](std::string_view line, bool is_stderr) {
    spdlog::info("[{}/{}{}] {}", env, app, is_stderr ? " stderr" : "", line);
  };
  const config::Verification no_checks;
  const config::Verification& checks =
      pin.verification
          ? *pin.verification
          : (pif.policy && pif.policy->verification ? *pif.policy->verification : no_checks);
  // deploy.strategy: a rollback commit of a canary pin applies at once
  // (weight 100): it restores what ran before, it does not probe it.
  const config::Strategy& strategy = pin.deploy.strategy;
  const bool canary =
      strategy.kind == config::StrategyKind::kCanary && base.rollback_target.empty();
  const bool blue_green = strategy.kind == config::StrategyKind::kBlueGreen;
  const bool stepped = canary || blue_green;
  // Verification with {{weight}} / {{slot}} filled in for what this step runs.
  std::string weight_text = "100";
  std::string slot_text;
  auto checks_now = [&]() {
    config::Verification c = checks;
    for (auto& check : c.checks) {
      if (!check.prometheus) continue;
      check.prometheus->query = ReplaceAll(check.prometheus->query, "{{weight}}", weight_text);
      check.prometheus->query = ReplaceAll(check.prometheus->query, "{{slot}}", slot_text);
    }
    return c;
  };
  // Relative thresholds ("no more than 1.5x before") need the value before
  // (a stepped release reads it before each step, below).
  verify::Baseline baseline;
  if (!stepped) baseline = verifier_.ReadBaseline(checks_now(), &cancel_);

  Result<adapters::ApplyResult> result = Status::Internal("not run");
  // Blue-green: the idle slot's verification, which stands for the release.
  std::optional<verify::VerificationResult> verified_before;
  std::string steps_note;  // what the steps did, for the `applied` reason
  if (stepped) {
    const bool on_rollback = pif.policy && pif.policy->on_failure == config::OnFailure::kRollback;
    // The steps of this release: canary weights and pauses, or blue-green's
    // deploy to the idle slot and switch.
    struct Step {
      int weight = 0;  // canary weight step
      std::optional<std::chrono::milliseconds> pause;
      std::string action;  // blue-green: deploy | switch
    };
    std::vector<Step> steps;
    std::string live;  // blue-green: the slot that takes the traffic now
    std::string idle;
    if (canary) {
      for (const auto& s : strategy.steps) steps.push_back({s.weight, s.pause, ""});
    } else {
      live = LiveSlot(env, app);
      idle = live == "blue" ? "green" : "blue";
      if (resume && !resume->slot.empty()) {
        idle = resume->slot;
        live = idle == "blue" ? "green" : "blue";
      }
      steps = {{0, std::nullopt, "deploy"}, {0, std::nullopt, "switch"}};
      slot_text = idle;
      baseline = verifier_.ReadBaseline(checks_now(), &cancel_);
    }
    const int n = static_cast<int>(steps.size());
    int weight_now = resume ? resume->weight : 0;
    auto write_step = [&](int index, const std::string& phase, const std::string& action,
                          std::optional<int> weight, std::string reason,
                          std::optional<TimePoint> until = std::nullopt) -> std::optional<Applied> {
      if (auto lost = fenced(("step " + std::to_string(index + 1) + " " + phase).c_str())) {
        return lost;
      }
      record::Event e = base;
      e.kind = record::EventKind::kStep;
      e.time = clock_.Now();
      e.gates.clear();
      e.approvers.clear();
      e.reason = std::move(reason);
      e.step = index + 1;
      e.steps = n;
      e.weight = weight;
      e.slot = canary ? "" : (action == "abort" ? live : idle);
      e.action = action;
      e.phase = phase;
      e.until = until;
      if (Status s = record_.Write(e); !s.ok()) {
        spdlog::warn("{}/{}: could not record step {}: {}", env, app, index + 1, s.ToString());
      }
      spdlog::info("{}/{}: step {}/{}: {}", env, app, index + 1, n, record::StepLine(e));
      return std::nullopt;
    };
    // Shutdown mid-release: nothing more is recorded; the next pass resumes
    // at the recorded step.
    auto interrupted = [&](int index) {
      outcome.state = record::Outcome::kWaiting;
      outcome.reason = "interrupted by shutdown at step " + std::to_string(index + 1) + " of " +
                       std::to_string(n) + "; the next pass resumes there";
      return applied;
    };
    // A failed step: under onFailure: rollback the traffic goes back to the
    // old release before `failed` and the rollback commit.
    auto abort = [&](int index, record::Event verdict, std::string why) -> Applied {
      // Blue-green moves traffic only with its switch: a failure before it
      // leaves the live slot as it was.
      const bool moved = canary || (steps[index].action == "switch" && !live.empty());
      if (on_rollback && moved) {
        adapters::ApplyRequest back = req;
        back.weight = canary ? std::optional<int>(0) : std::nullopt;
        back.slot = canary ? "" : live;
        back.action = canary ? "" : "switch";
        Result<adapters::ApplyResult> r = (*adapter)->Apply(back);
        const bool ok = r.ok() && r->ok;
        const std::string how = r.ok() ? r->summary : r.status().message();
        if (auto lost = write_step(index, ok ? "verified" : "failed", "abort",
                                   canary ? std::optional<int>(0) : std::nullopt,
                                   (canary ? "traffic returned to the old release (weight 0): "
                                           : "switched back to " + live + ": ") +
                                       how)) {
          return *lost;
        }
        why += ok ? (canary ? "; traffic returned to the old release (weight 0)"
                            : "; switched back to " + live)
                  : (canary ? "; returning the traffic to the old release failed: "
                            : "; switching back to " + live + " failed: ") +
                        how;
      } else if (canary) {
        why += "; traffic left at canary " + std::to_string(weight_now) + "% (onFailure: hold)";
      }
      if (on_rollback && !cancel_.cancelled()) {
        auto [line, pushed] = CommitAutomaticRollback(env, app, why);
        why += "; " + line;
        applied.rerun = pushed;
      }
      return fail(std::move(verdict), why);
    };
    int start = resume ? resume->next : 0;
    if (resume && resume->verify_first && start > 0 && start < n) {
      // The adapter of step `start` ran; its verification has no result
      // (the last step's is the release's, below). The baseline is read
      // now: the one read before that adapter ran is gone.
      const Step& s = steps[start - 1];
      if (canary) {
        weight_text = std::to_string(weight_now);
        baseline = verifier_.ReadBaseline(checks_now(), &cancel_);
      }
      verify::VerificationResult v = verifier_.Verify(checks_now(), baseline, &cancel_);
      if (v.cancelled) return interrupted(start - 1);
      if (!v.ok) {
        record::Event verdict = base;
        verdict.output = VerificationOutput(v);
        return abort(start - 1, verdict, "step " + std::to_string(start) + " " + v.reason);
      }
      if (auto lost =
              write_step(start - 1, "verified", canary ? "deploy" : s.action,
                         canary ? std::optional<int>(weight_now) : std::nullopt, v.reason)) {
        return *lost;
      }
      if (blue_green && s.action == "deploy") verified_before = v;
    }
    for (int i = start; i < n; ++i) {
      const Step& s = steps[i];
      if (cancel_.cancelled()) return interrupted(i);
      if (s.pause) {
        TimePoint until = clock_.Now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(*s.pause);
        if (auto lost = write_step(i, "paused", "pause", weight_now,
                                   "pause " + FormatDuration(*s.pause), until)) {
          return *lost;
        }
        outcome.state = record::Outcome::kWaiting;
        outcome.reason = "canary " + std::to_string(weight_now) + "%, paused until " +
                         FormatRfc3339(until) + " (step " + std::to_string(i + 1) + " of " +
                         std::to_string(n) + ")";
        outcome.retry_at = until;
        return applied;
      }
      const bool last = i == n - 1;
      std::optional<int> weight = canary ? std::optional<int>(s.weight) : std::nullopt;
      if (canary) {
        req.weight = s.weight;
        weight_text = std::to_string(s.weight);
        baseline = verifier_.ReadBaseline(checks_now(), &cancel_);
      } else {
        req.slot = idle;
        req.action = s.action;
      }
      const std::string action = canary ? "deploy" : s.action;
      if (auto lost = write_step(i, "applying", action, weight, "")) return *lost;
      spdlog::info("{}/{}: applying {} with the {} adapter (step {} of {})", env, app,
                   pin.artifact.digest, (*adapter)->Name(), i + 1, n);
      result = (*adapter)->Apply(req);
      if (result.ok() && result->cancelled) return interrupted(i);
      if (!result.ok() || !result->ok) {
        record::Event done = base;
        done.time = clock_.Now();
        std::string why = result.ok() ? result->summary : result.status().message();
        if (result.ok()) {
          done.adapter = record::AdapterRecord{std::string((*adapter)->Name()), result->exit_code,
                                               static_cast<std::int64_t>(result->duration.count())};
          done.output = Tail(result->output_tail, kRecordedOutputBytes);
        }
        if (auto lost = write_step(i, "failed", action, weight, why)) return *lost;
        return abort(i, done,
                     "step " + std::to_string(i + 1) + " of " + std::to_string(n) + " (" +
                         (canary ? "canary " + weight_text + "%" : action + " " + idle) +
                         "): " + why);
      }
      if (canary) weight_now = s.weight;
      if (last) {
        // The last step: `applied` and the release's verification follow.
        if (auto lost =
                write_step(i, canary ? "verifying" : "verified", action, weight, result->summary)) {
          return *lost;
        }
        steps_note = canary ? "canary " + std::to_string(n) + " steps to 100%"
                            : "blue-green: " + idle + " verified, switched to " + idle;
        break;
      }
      if (auto lost = write_step(i, "verifying", action, weight, result->summary)) return *lost;
      verify::VerificationResult v = verifier_.Verify(checks_now(), baseline, &cancel_);
      if (v.cancelled) return interrupted(i);
      if (!v.ok) {
        record::Event verdict = base;
        verdict.output = VerificationOutput(v);
        if (auto lost = write_step(i, "failed", action, weight, v.reason)) return *lost;
        return abort(i, verdict,
                     "step " + std::to_string(i + 1) + " of " + std::to_string(n) + " (" +
                         (canary ? "canary " + weight_text + "%" : idle + " before the switch") +
                         ") " + v.reason);
      }
      if (auto lost = write_step(i, "verified", action, weight, v.reason)) return *lost;
      if (blue_green) verified_before = v;
    }
    if (blue_green && !verified_before) {
      // Resumed after the switch was recorded: the idle slot was verified
      // before it (the release never switches otherwise).
      verify::VerificationResult v;
      v.ok = true;
      v.reason = "verified before the switch";
      verified_before = v;
    }
    if (!result.ok()) {
      // Resumed with every adapter run already recorded.
      adapters::ApplyResult resumed;
      resumed.ok = true;
      resumed.exit_code = 0;
      resumed.summary = "resumed after the last step";
      result = resumed;
      if (canary) baseline = verifier_.ReadBaseline(checks_now(), &cancel_);
    }
  } else {
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
  }

  record::Event done = base;
  done.time = clock_.Now();
  if (!result.ok()) return fail(done, result.status().message());
  done.adapter = record::AdapterRecord{std::string((*adapter)->Name()), result->exit_code,
                                       static_cast<std::int64_t>(result->duration.count())};
  if (!result->ok) {
    done.output = Tail(result->output_tail, kRecordedOutputBytes);
    done.interrupted = result->cancelled;
    return fail(done, result->cancelled
                          ? "interrupted: controller shutting down; " + result->summary
                          : result->summary);
  }

  if (auto lost = fenced("applied")) return *lost;
  done.kind =
      base.rollback_target.empty() ? record::EventKind::kApplied : record::EventKind::kRolledBack;
  // What ran before, so `sluice status` can say what changed with this apply.
  if (auto prev = record_.Ref(record::DeployedRef(env, app)); prev && *prev != base.commit) {
    done.previous = *prev;
  }
  std::string summary = steps_note.empty() ? result->summary : steps_note + "; " + result->summary;
  done.reason = base.rollback_target.empty() ? summary : base.reason + "; " + summary;
  std::string record_error;  // this apply's record could not be written
  if (Status s = record_.Write(done, {{record::DeployedRef(env, app), base.commit},
                                      {record::AppliedRef(env), base.commit}});
      !s.ok()) {
    spdlog::error("{}/{}: applied, but the record could not be written: {}", env, app,
                  s.ToString());
    record_error = s.ToString();
  }
  outcome.state =
      base.rollback_target.empty() ? record::Outcome::kApplied : record::Outcome::kRolledBack;
  outcome.reason = done.reason;

  verify::VerificationResult v =
      verified_before ? *verified_before : verifier_.Verify(checks_now(), baseline, &cancel_);
  record::Event verdict = done;
  verdict.time = clock_.Now();
  verdict.adapter.reset();
  verdict.reason = v.reason;
  verdict.output = VerificationOutput(v);
  if (auto lost = fenced(v.ok ? "verified" : "verification failed")) return *lost;
  if (v.ok) {
    verdict.kind = record::EventKind::kVerified;
    if (Status s = record_.Write(verdict, {{record::LkgRef(env, app), base.commit}}); !s.ok()) {
      spdlog::error("{}/{}: verified, but the record could not be written: {}", env, app,
                    s.ToString());
      record_error = s.ToString();
    }
    if (!record_error.empty()) {
      // Deployed, but not recorded: not a normal outcome (SPEC 7).
      outcome.state = record::Outcome::kError;
      outcome.reason =
          "deployed and verified, but the record could not be written (" + record_error + ")";
      return applied;
    }
    outcome.state = record::Outcome::kVerified;
    // A verified rollback says so: on-call reads this line first.
    outcome.reason = base.rollback_target.empty()
                         ? v.reason
                         : "rolled back to " + ShortId(base.rollback_target) + "; " + v.reason;
    return applied;
  }
  if (v.cancelled) {
    verdict.interrupted = true;
    return fail(verdict, "interrupted: verification stopped by shutdown; " + v.reason);
  }
  if (canary && pif.policy && pif.policy->on_failure == config::OnFailure::kRollback) {
    // A rollback returns the traffic to the old release first.
    adapters::ApplyRequest back = req;
    back.weight = 0;
    Result<adapters::ApplyResult> r = (*adapter)->Apply(back);
    const bool ok = r.ok() && r->ok;
    const std::string how = r.ok() ? r->summary : r.status().message();
    record::Event e = base;
    e.kind = record::EventKind::kStep;
    e.time = clock_.Now();
    e.gates.clear();
    e.approvers.clear();
    e.step = static_cast<int>(strategy.steps.size());
    e.steps = e.step;
    e.weight = 0;
    e.action = "abort";
    e.phase = ok ? "verified" : "failed";
    e.reason = "traffic returned to the old release (weight 0): " + how;
    if (Status s = record_.Write(e); !s.ok()) {
      spdlog::warn("{}/{}: could not record the step back to weight 0: {}", env, app, s.ToString());
    }
    verdict.reason += ok ? "; traffic returned to the old release (weight 0)"
                         : "; returning the traffic to the old release failed: " + how;
  }
  if (pif.policy && pif.policy->on_failure == config::OnFailure::kRollback) {
    auto [line, pushed] = CommitAutomaticRollback(env, app, verdict.reason);
    verdict.reason += "; " + line;
    applied.rerun = pushed;
  }
  return fail(verdict, verdict.reason);
}

std::pair<std::string, bool> Applier::CommitAutomaticRollback(const std::string& env,
                                                              const std::string& app,
                                                              const std::string& why) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto plan = PlanRollback(ws_, env, app, "");
    if (!plan.ok()) return {"onFailure: rollback not possible: " + plan.status().message(), false};
    auto commit = WriteRollbackCommit(ws_, *plan, "", "Verification failed: " + why,
                                      record::Workspace::Identity());
    if (!commit.ok())
      return {"onFailure: rollback commit failed: " + commit.status().ToString(), false};
    own_rollbacks_.Add(*commit);
    Status pushed = PushCommit(ws_, *commit, "");
    if (pushed.ok()) {
      spdlog::warn("{}/{}: verification failed; pushed rollback {} to {}", env, app,
                   ShortId(*commit), ShortId(plan->target));
      return {"rolled back by " + ShortId(*commit) + " restoring " + ShortId(plan->target), true};
    }
    if (!pushed.IsConflict())
      return {"onFailure: rollback push failed: " + pushed.ToString(), false};
    // The branch moved: take the new head and build the rollback on it.
    if (Status synced = ws_.Sync(/*push=*/false); !synced.ok()) {
      return {"onFailure: rollback not pushed: " + synced.ToString(), false};
    }
  }
  return {"onFailure: rollback push kept conflicting; roll back by hand with `sluice rollback " +
              env + " " + app + " --push`",
          false};
}

}  // namespace sluice::engine
