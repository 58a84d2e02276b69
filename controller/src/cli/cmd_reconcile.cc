#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/controller_config.h"
#include "cli/engine_parts.h"
#include "cli/pass_output.h"
#include "cli/process_secrets.h"
#include "cli/trust_config.h"
#include "engine/reconciler.h"
#include "record/pass_stamp.h"

namespace sluice::cli {

Runner AddReconcileCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "reconcile",
      "Run one controller pass: fetch, find changed pins, check gates, apply, verify, record");
  cmd->footer(
      "For cron, CI and tests; 'sluice controller' runs passes continuously.\n"
      "Notifications (sluice.yaml notify:) of what the pass decided are delivered before it "
      "exits, for up to 10s.\n"
      "With forge: in --config, it then posts the gate results on open pull requests "
      "(commit status sluice/<env>; see `sluice controller --help`); a forge error is a "
      "warning and never changes the exit code.\n"
      "A pin with deploy.strategy is released step by step (canary weights with verification "
      "after each, pauses; or blue-green); a pause ends the pass with the app waiting until "
      "it is over (nextDue), and the next pass resumes at the recorded step.\n"
      "Example:\n  sluice reconcile --once --repo git://git.example.com/environments "
      "--workdir /var/lib/sluice\n"
      "With --drift it then asks Helm / Terraform what really runs for every in-sync pin "
      "(helm status + helm get values; terraform init + plan -detailed-exitcode) and records "
      "a `drift` event where it differs; it never applies anything because of drift.\n"
      "  sluice reconcile --once --drift --repo ... --workdir ...\n"
      "Exit codes: 0 every change reached a normal outcome (in sync, applied, verified, "
      "rolled back, blocked, waiting; drift too); 1 the pass could not run, or a change "
      "errored (could not be judged, applied or recorded) or failed (apply or "
      "verification). `sluice plan` reports blocked and waiting as 3 and 4.");
  auto opts = std::make_shared<CommonOptions>();
  auto once = std::make_shared<bool>(false);
  auto parallelism = std::make_shared<size_t>(4);
  auto drift = std::make_shared<bool>(false);
  cmd->add_flag("--once", *once, "Run exactly one pass and exit (the only mode of reconcile)");
  cmd->add_option("--parallelism", *parallelism, "Environments reconciled at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_flag("--drift", *drift,
                "After the pass, check every in-sync Helm/Terraform pin for drift now (one "
                "helm/terraform run per pin; exec pins never drift)");
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/true);
  // The controller's configuration file: the trust: section (SPEC 1.3 rule
  // 1) and the secrets (rule 5: forge, notification targets, Git
  // credentials), which never come from the repository.
  auto config_path = std::make_shared<std::string>();
  auto forge_token_file = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path,
                  "The controller's YAML configuration (as `sluice controller --config`): repo, "
                  "branch, workdir, logLevel, trust, forge, notify, gitUsername, "
                  "gitPasswordFile; flags win");
  cmd->add_option("--forge-token-file", *forge_token_file,
                  "File holding the forge API token (overrides forge.tokenFile)");
  auto run_as = std::make_shared<std::string>();
  cmd->add_option("--run-as", *run_as,
                  "Run adapters and custom gates as this unprivileged user (runAs; the "
                  "controller must run as root): they cannot read the controller's files or "
                  "memory");
  return [cmd, opts, once, parallelism, drift, config_path, forge_token_file, run_as] {
    // `once` is kept alive for CLI11, which writes --once into it while parsing
    // (uncaptured, that write went to freed memory: found by ASan).
    (void)once;
    ControllerSettings settings;
    settings.run_as = *run_as;
    if (Status s = LoadCommandConfig(*cmd, *config_path, *opts, settings); !s.ok()) {
      PrintError(s.message());
      return kExitError;
    }
    const config::SecretSettings& secret_settings = settings.secrets;
    ConfigureLogging(opts->log_level);
    auto secrets = LoadControllerSecrets(secret_settings, *forge_token_file);
    if (!secrets.ok()) {
      PrintError(secrets.status().message());
      return kExitError;
    }
    if (!secrets->target_problems.empty()) {
      spdlog::error("notifications: {}", secrets->target_problems);
    }
    if (Status s = CheckRecordCanBePushed(*opts); !s.ok()) {
      PrintError(s.message());
      return kExitUsage;
    }
    // The lock first: it clears what a killed process left in the cache
    // before the workspace opens it.
    auto lock = WorkdirLock::Acquire(*opts);
    if (!lock.ok()) return WorkspaceFailure(*opts, lock.status());
    auto ws = OpenWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    auto repository_user = ResolveRunAs(settings);
    if (!repository_user.ok()) {
      PrintError(repository_user.status().message());
      return kExitError;
    }
    EngineParts parts(*repository_user);
    CancelToken cancel;
    NotifyParts notify(parts, **ws, secrets->targets, secrets->forge);
    engine::ReconcileOptions ropts;
    ropts.forge = secrets->forge;
    ropts.forge_token = secrets->forge_token;
    ropts.parallelism = *parallelism;
    ropts.instance_id = engine::DefaultInstanceId();
    // One pass has no memory of earlier checks: drift is checked only when
    // asked, and then for every in-sync pin (the daemon spreads them out).
    ropts.drift.interval = std::chrono::milliseconds(0);
    ropts.drift.check_all_now = *drift;
    ropts.on_event = notify.Observer();
    ropts.trust.bootstrap = settings.trust_bootstrap;
    engine::Reconciler reconciler(**ws, parts.runner, parts.verifier, parts.http, parts.clock,
                                  cancel, ropts);
    // Notification targets follow the trust rule too: an unapproved edit of
    // sluice.yaml cannot silence (or add) the targets of a protected one.
    notify.sink.UseSettingsInForce([&reconciler](const std::string& env, const std::string& head) {
      return reconciler.PolicyFor(env, head).settings;
    });
    auto report = reconciler.RunOnce();
    // One pass, then exit: deliver what it decided first (bounded).
    notify.notifier.Shutdown(kNotifyDrain);
    if (!report.ok()) {
      PrintError(report.status().message());
      return kExitError;
    }
    // Through the pass's own store: its flusher's handle pushed the pass's
    // record already, so the stamp costs no second connection and no
    // second read of the head commit's note.
    record::StampPass(**ws, *report, parts.clock.Now(), std::chrono::seconds(0), ropts.instance_id,
                      &reconciler.record_store());
    if (Status pushed = reconciler.record_store().Flush(); !pushed.ok()) {
      spdlog::warn("could not push the pass stamp (refs/sluice/pass; kept in {}): {}",
                   (*ws)->workdir(), pushed.ToString());
    }
    PrintPassReport(std::cout, *report, opts->format);
    return PassExitCode(*report);
  };
}

}  // namespace sluice::cli
