#include <iostream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_parts.h"
#include "cli/pass_output.h"
#include "engine/reconciler.h"

namespace sluice::cli {

Runner AddReconcileCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "reconcile",
      "Run one controller pass: fetch, find changed pins, check gates, apply, verify, record");
  cmd->footer(
      "For cron, CI and tests; 'sluice controller' runs passes continuously.\n"
      "Notifications (sluice.yaml notify:) of what the pass decided are delivered before it "
      "exits, for up to 10s.\n"
      "Example:\n  sluice reconcile --once --repo git://git.example.com/environments "
      "--workdir /var/lib/sluice\n"
      "Exit codes: 0 the pass ran (blocked and waiting changes are normal outcomes), 1 it "
      "could not run.");
  auto opts = std::make_shared<CommonOptions>();
  auto once = std::make_shared<bool>(false);
  auto parallelism = std::make_shared<size_t>(4);
  cmd->add_flag("--once", *once, "Run exactly one pass and exit (the only mode of reconcile)");
  cmd->add_option("--parallelism", *parallelism, "Environments reconciled at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  return [opts, parallelism] {
    ConfigureLogging(opts->log_level);
    auto ws = OpenWorkspace(*opts);
    if (!ws.ok()) {
      PrintError(ws.status().message());
      return kExitError;
    }
    auto lock = WorkdirLock::Acquire((*ws)->workdir());
    if (!lock.ok()) {
      PrintError(lock.status().message());
      return kExitError;
    }
    EngineParts parts;
    CancelToken cancel;
    NotifyParts notify(parts, **ws);
    engine::ReconcileOptions ropts;
    ropts.parallelism = *parallelism;
    ropts.on_event = notify.Observer();
    engine::Reconciler reconciler(**ws, parts.runner, parts.verifier, parts.http, parts.clock,
                                  cancel, ropts);
    auto report = reconciler.RunOnce();
    // One pass, then exit: deliver what it decided first (bounded).
    notify.notifier.Shutdown(kNotifyDrain);
    if (!report.ok()) {
      PrintError(report.status().message());
      return kExitError;
    }
    PrintPassReport(std::cout, *report, opts->format);
    return kExitOk;
  };
}

}  // namespace sluice::cli
