#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trust_config.h"
#include "reports/audit.h"
#include "reports/incident_report.h"
#include "reports/incident_report_reader.h"

namespace sluice::cli {

Runner AddIncidentReportCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "incident-report",
      "Write the incident report of ENV/APP from the record in Git: a timeline (merge, "
      "applying, applied, each verification with its measured values, the failure, the "
      "rollback commit and who made it, the rollback applied and verified again), the bad "
      "and restored versions, the approvers and how each was verified, time-to-detect and "
      "time-to-restore");
  cmd->footer(
      "Read-only: fetches the repository and its record (refs/notes/sluice).\n"
      "Which failure: by default the last one of ENV/APP and what followed it until service\n"
      "was restored; --since/--until report every failure detected in that window (and start\n"
      "the timeline at --since); --incident ID the failure whose rollback (or change) carries\n"
      "the trailer `Sluice-Incident: ID`. With no failure to report it prints\n"
      "\"no failure recorded for ENV/APP ...\" and exits 0.\n"
      "Template: --template FILE, else templates/incident-report.md in the environments\n"
      "repository at the head of --branch when present, else the built-in one.\n"
      "Definitions (time to detect, time to restore): docs/incidents.md.\n"
      "Examples:\n"
      "  sluice incident-report prod api --repo git://git.example.com/environments > inc.md\n"
      "  sluice incident-report prod api --incident INC-7 --repo ... --format json\n"
      "  sluice incident-report prod api --since 2026-11-01 --repo ...   # every failure since");
  auto opts = std::make_shared<CommonOptions>();
  opts->format = "md";
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto since = std::make_shared<std::string>();
  auto until = std::make_shared<std::string>();
  auto incident = std::make_shared<std::string>();
  auto tmpl_path = std::make_shared<std::string>();
  cmd->add_option("ENV", *env, "The environment")->required();
  cmd->add_option("APP", *app_name, "The app")->required();
  AddCommonOptions(*cmd, *opts, /*with_format=*/false);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  cmd->add_option("--format", opts->format, "Output format: md (Markdown) or json")
      ->check(CLI::IsMember({"md", "json"}))
      ->capture_default_str();
  cmd->add_option("--since", *since,
                  "Report failures detected from this time, and start the timeline there "
                  "(RFC 3339, or YYYY-MM-DD = midnight UTC)");
  cmd->add_option("--until", *until, "Report failures detected before this time");
  cmd->add_option("--incident", *incident,
                  "Report the failure linked to this incident id (Sluice-Incident trailer)");
  cmd->add_option("--template", *tmpl_path, "A mustache template to render instead")
      ->check(CLI::ExistingFile);
  return [opts, env, app_name, since, until, incident, tmpl_path] {
    ConfigureLogging(opts->log_level);
    reports::IncidentOptions options;
    options.env = *env;
    options.app = *app_name;
    options.incident = *incident;
    if (Status s = ParseTimeRange(*since, *until, &options.since, &options.until); !s.ok()) {
      PrintError(s.message());
      return kExitUsage;
    }
    std::string tmpl;
    if (!tmpl_path->empty()) {
      auto text = ReadTemplateFile(*tmpl_path);
      if (!text.ok()) {
        PrintError(text.status().message());
        return kExitError;
      }
      tmpl = std::move(*text);
    }
    auto ws = OpenSyncedWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    auto report = reports::ReadIncidentReport(**ws, options);
    if (!report.ok()) {
      PrintError(report.status().message());
      return kExitError;
    }
    if (opts->format == "json") {
      std::cout << reports::RenderIncidentReportJson(*report);
      return kExitOk;
    }
    if (tmpl_path->empty()) {
      tmpl = RepositoryTemplate(**ws, reports::kIncidentReportTemplatePath,
                                reports::DefaultIncidentReportTemplate());
    }
    auto text = reports::RenderIncidentReportMarkdown(tmpl, *report);
    if (!text.ok()) {
      PrintError(text.status().message());
      return kExitError;
    }
    std::cout << *text;
    return kExitOk;
  };
}

}  // namespace sluice::cli
