#include "engine/apply.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "adapters/adapter.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "core/text.h"
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
      still_owner_(std::move(still_owner)) {}

std::optional<std::string> Applier::Fenced(const std::string& env) const {
  if (!still_owner_) return std::nullopt;
  std::string why;
  if (still_owner_(env, &why)) return std::nullopt;
  return why.empty() ? std::string("ownership cannot be proved") : why;
}

Applied Applier::Apply(const record::Event& base, const config::Pin& pin, const PolicyInForce& pif,
                       bool resumed_after_crash) {
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
  // then visible to everyone and resolved by the next pass.
  if (Status s = record_.Write(base, {{record::CandidateRef(env, app), base.commit}}); !s.ok()) {
    outcome.state = record::Outcome::kError;
    outcome.reason = "not applying: could not record the `applying` event (" + s.ToString() + ")";
    return applied;
  }
  if (before_apply_) before_apply_(env, app);

  std::error_code ec;
  std::string checkout = ws_.ScratchDir() + "/" + env + "-" + app + "-" + ShortId(base.commit);
  fs::remove_all(checkout, ec);
  fs::create_directories(ws_.ScratchDir(), ec);
  Status exported;
  {
    std::lock_guard lock(ws_.mutex());
    exported =
        ws_.repo().ExportTree(base.commit, checkout, [&](std::string_view path, bool is_directory) {
          return !is_directory && config::IsOtherAppsPin(path, env, app);
        });
  }
  if (!exported.ok()) return fail(base, "checkout failed: " + exported.ToString());
  if (auto user = runner_.RepositoryCodeUser()) {
    // runAs: the adapter runs as its own account and owns its checkout.
    if (Status given = process::HandOverTree(checkout, ws_.workdir(), *user); !given.ok()) {
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
  done.reason =
      base.rollback_target.empty() ? result->summary : base.reason + "; " + result->summary;
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

  verify::VerificationResult v = verifier_.Verify(checks, baseline, &cancel_);
  record::Event verdict = done;
  verdict.time = clock_.Now();
  verdict.adapter.reset();
  verdict.reason = v.reason;
  for (const auto& check : v.checks) {
    if (!verdict.output.empty()) verdict.output += "\n";
    verdict.output += (check.ok ? "ok   " : "FAIL ") + check.name + ": " + check.detail;
  }
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
