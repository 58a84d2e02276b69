#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/controller_config.h"
#include "cli/engine_parts.h"
#include "core/duration.h"
#include "engine/reconciler.h"

namespace sluice::cli {
namespace {

// Waits for SIGTERM/SIGINT on a dedicated thread. The first signal stops the
// loop after the pass in progress (applies finish and are recorded); a second
// one cancels running children, which are killed and recorded as interrupted.
class SignalWatcher {
 public:
  SignalWatcher(CancelToken& stop, CancelToken& cancel) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGUSR1);  // internal: wakes the watcher to exit
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, &stop, &cancel] {
      int count = 0;
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGUSR1) return;
        ++count;
        if (count == 1) {
          spdlog::info(
              "received signal {}: finishing the current pass, then exiting "
              "(send again to cancel running applies)",
              sig);
          stop.Cancel();
        } else {
          spdlog::warn("received signal {} again: cancelling running applies", sig);
          cancel.Cancel();
          return;
        }
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

}  // namespace

Runner AddControllerCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "controller", "Run the controller daemon: a reconcile pass every --interval until stopped");
  cmd->footer(
      "SIGTERM or SIGINT: finish the pass in progress, record it, exit 0. A second signal "
      "cancels running applies (recorded as interrupted and retried by the next start).\n"
      "Example:\n  sluice controller --repo git://git.example.com/environments --workdir "
      "/var/lib/sluice --interval 30s\n  sluice controller --config /etc/sluice/config.yaml\n"
      "Config file keys: repo, branch, workdir, interval, parallelism, logLevel (flags win).");
  auto settings = std::make_shared<ControllerSettings>();
  auto config_path = std::make_shared<std::string>();
  auto interval_text = std::make_shared<std::string>("1m");
  AddCommonOptions(*cmd, settings->common, /*with_format=*/false);
  cmd->add_option("--interval", *interval_text,
                  "Time between passes (e.g. 30s, 1m); each wait gets up to 10% jitter")
      ->capture_default_str();
  cmd->add_option("--parallelism", settings->parallelism, "Environments reconciled at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--config", *config_path, "A YAML file holding any of these flags");
  return [cmd, settings, config_path, interval_text] {
    std::vector<std::string> explicit_flags;
    for (const char* f :
         {"--repo", "--branch", "--workdir", "--interval", "--parallelism", "--log-level"}) {
      if (cmd->count(f) > 0) explicit_flags.emplace_back(f);
    }
    auto interval = ParseDuration(*interval_text);
    if (!interval.ok() || interval->count() < 1000) {
      PrintError("--interval: " + (interval.ok() ? std::string("must be at least 1s")
                                                 : interval.status().message()));
      return kExitUsage;
    }
    settings->interval = *interval;
    if (!config_path->empty()) {
      std::ifstream f(*config_path);
      if (!f) {
        PrintError("cannot read --config " + *config_path);
        return kExitError;
      }
      std::stringstream ss;
      ss << f.rdbuf();
      if (Status s = LoadControllerConfig(*config_path, ss.str(), *settings, explicit_flags);
          !s.ok()) {
        PrintError(s.message());
        return kExitError;
      }
    }
    ConfigureLogging(settings->common.log_level);
    CancelToken stop, cancel;
    SignalWatcher signals(stop, cancel);

    auto ws = OpenWorkspace(settings->common);
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
    engine::ReconcileOptions ropts;
    ropts.parallelism = settings->parallelism;
    engine::Reconciler reconciler(**ws, parts.runner, parts.verifier, parts.http, parts.clock,
                                  cancel, ropts);
    spdlog::info("controller watching {} branch {} every {} (workdir {})", settings->common.repo,
                 settings->common.branch, FormatDuration(settings->interval), (*ws)->workdir());

    std::mt19937 rng(std::random_device{}());
    while (!stop.cancelled()) {
      auto report = reconciler.RunOnce();
      if (!report.ok()) {
        spdlog::error("pass failed: {}", report.status().ToString());
      } else if (!report->unchanged || !report->outcomes.empty()) {
        spdlog::info("pass at {}: {} change(s), {} pin(s) read, {} ms", report->head.substr(0, 12),
                     report->outcomes.size(), report->pins_read, report->duration.count());
      }
      // Jitter spreads the fetches of many controllers over the interval.
      std::uniform_int_distribution<long> jitter(0, settings->interval.count() / 10);
      if (stop.WaitFor(settings->interval + std::chrono::milliseconds(jitter(rng)))) break;
    }
    spdlog::info("controller stopped");
    return kExitOk;
  };
}

}  // namespace sluice::cli
