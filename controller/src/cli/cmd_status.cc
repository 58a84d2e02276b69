#include <iomanip>
#include <iostream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/status_view.h"

namespace sluice::cli {
namespace {

std::string VersionOf(const engine::PinRef& p) {
  if (p.commit.empty()) return "-";
  std::string digest = p.digest.empty() ? "?" : p.digest.substr(0, 19);
  return (p.version.empty() ? "" : p.version + " ") + "(" + digest + ")";
}

}  // namespace

Runner AddStatusCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "status",
      "Show, per environment and app, what runs, since when, who approved it, the "
      "last-known-good, and what is waiting or blocked and why");
  cmd->footer(
      "Read-only: fetches the repository and its record (refs/notes/sluice, refs/sluice/*).\n"
      "An in-sync row whose reasons start with 'drift:' runs something other than its pin "
      "(found by the controller's drift checks; see 'sluice controller --help').\n"
      "Example:\n  sluice status --repo git://git.example.com/environments --env prod\n"
      "  sluice status --repo ... --format json   # one object per (env, app)");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  cmd->add_option("--env", *env, "Only this environment");
  cmd->add_option("--app", *app_name, "Only this app");
  return [opts, env, app_name] {
    ConfigureLogging(opts->log_level);
    auto ws = OpenWorkspace(*opts);
    if (!ws.ok()) {
      PrintError(ws.status().message());
      return kExitError;
    }
    if (Status s = (*ws)->Sync(/*push=*/false); !s.ok()) {
      PrintError(s.message());
      return kExitError;
    }
    auto rows = engine::ComputeStatus(**ws, *env, *app_name);
    if (!rows.ok()) {
      PrintError(rows.status().message());
      return kExitError;
    }
    if (opts->format == "json") {
      std::cout << engine::RenderStatusJson(*rows) << "\n";
      return kExitOk;
    }
    for (const auto& r : *rows) {
      std::cout << r.env << "/" << r.app << "  " << r.state;
      // In sync with Git, yet the last drift check found something else running.
      if (r.state == "in-sync" && !r.reasons.empty() && r.reasons[0].rfind("drift: ", 0) == 0) {
        std::cout << ", drifted";
      }
      std::cout << "\n";
      std::cout << "  running  " << VersionOf(r.deployed);
      if (!r.deployed.commit.empty()) {
        std::cout << " at " << r.deployed.commit.substr(0, 12) << " since "
                  << (r.deployed_time.empty() ? "?" : r.deployed_time);
        if (!r.approvers.empty()) {
          std::cout << ", approved by";
          for (const auto& a : r.approvers) std::cout << " " << a;
        }
      }
      std::cout << "\n";
      if (r.state != "in-sync") {
        std::cout << "  desired  " << VersionOf(r.desired) << " at "
                  << r.desired.commit.substr(0, 12) << "\n";
      }
      std::cout << "  lkg      " << VersionOf(r.lkg);
      if (!r.lkg.commit.empty()) std::cout << " at " << r.lkg.commit.substr(0, 12);
      std::cout << "\n";
      for (const auto& reason : r.reasons) std::cout << "  why      " << reason << "\n";
    }
    return kExitOk;
  };
}

}  // namespace sluice::cli
