#include <iostream>
#include <vector>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/audit.h"
#include "engine/audit_reader.h"
#include "engine/audit_render.h"

namespace sluice::cli {

Runner AddAuditCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "audit",
      "Print the release history from the record in Git: every change with who proposed "
      "and approved it, its gates, when it was applied and verified, its outcome and "
      "rollbacks; the exceptions first; and the DORA figures");
  cmd->footer(
      "Read-only: fetches the repository and its record (refs/notes/sluice).\n"
      "Exceptions: changes the controller applied in an environment that requires approval\n"
      "with no recorded approver, or with a gate that did not pass. An environment requires\n"
      "approval when named by --require-approval, or (by default) when any of its events\n"
      "carried an `approval` gate. Definitions: docs/record.md, \"sluice audit\".\n"
      "Example:\n"
      "  sluice audit --repo git://git.example.com/environments --env prod \\\n"
      "      --since 2026-07-01 --until 2026-10-01 --format md > q3-prod-audit.md\n"
      "  sluice audit --repo ./environments --format csv > changes.csv");
  auto opts = std::make_shared<CommonOptions>();
  opts->format = "md";
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto since = std::make_shared<std::string>();
  auto until = std::make_shared<std::string>();
  auto require = std::make_shared<std::vector<std::string>>();
  AddCommonOptions(*cmd, *opts, /*with_format=*/false);
  cmd->add_option("--format", opts->format, "Output format: md (Markdown), json or csv")
      ->check(CLI::IsMember({"md", "json", "csv"}))
      ->capture_default_str();
  cmd->add_option("--env", *env, "Only this environment");
  cmd->add_option("--app", *app_name, "Only this app");
  cmd->add_option("--since", *since,
                  "Only changes from this time (RFC 3339, or YYYY-MM-DD = midnight UTC)");
  cmd->add_option("--until", *until, "Only changes before this time (RFC 3339 or YYYY-MM-DD)");
  cmd->add_option("--require-approval", *require,
                  "An environment whose policy requires approval (repeatable; default: every "
                  "environment whose events carried an `approval` gate)");
  return [opts, env, app_name, since, until, require] {
    ConfigureLogging(opts->log_level);
    engine::AuditOptions options;
    options.filter.env = *env;
    options.filter.app = *app_name;
    if (Status s = ParseTimeRange(*since, *until, &options.filter.since, &options.filter.until);
        !s.ok()) {
      PrintError(s.message());
      return kExitUsage;
    }
    options.require_approval.insert(require->begin(), require->end());
    auto ws = OpenSyncedWorkspace(*opts);
    if (!ws.ok()) {
      PrintError(ws.status().message());
      return kExitError;
    }
    auto report = engine::ReadAudit(**ws, options);
    if (!report.ok()) {
      PrintError(report.status().message());
      return kExitError;
    }
    if (opts->format == "json") {
      std::cout << engine::RenderAuditJson(*report);
    } else if (opts->format == "csv") {
      std::cout << engine::RenderAuditCsv(*report);
    } else {
      std::cout << engine::RenderAuditMarkdown(*report);
    }
    return kExitOk;
  };
}

}  // namespace sluice::cli
