#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/process_secrets.h"
#include "config/repository_config.h"
#include "core/json_dump.h"
#include "core/strings.h"

namespace sluice::cli {
namespace fs = std::filesystem;

namespace {

// Validates the head of a remote repository through the workspace.
config::ValidationReport ValidateRemote(record::Workspace& ws, const std::string& head) {
  git::Repository& repo = ws.repo();
  config::FileReader read = [&](const std::string& path) { return repo.ReadFile(head, path); };
  config::DirLister list = [&](const std::string& dir) { return repo.ListDir(head, dir); };
  config::ProgramChecker check_program = [&](const std::string& path) -> Status {
    Result<unsigned> mode = repo.FileMode(head, path);
    if (!mode.ok()) return mode.status();
    if (*mode == 0100755 || *mode == 0120000) return Status::Ok();  // a link is resolved at apply
    if (*mode == 0040000) return Status::InvalidArgument("is a directory, not a file");
    if (*mode == 0100644) return Status::InvalidArgument("is not executable in the commit");
    return Status::InvalidArgument("is not a regular file");
  };
  return config::ValidateRepository(read, list, check_program);
}

}  // namespace

Runner AddValidateCommand(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("validate",
                         "Check every file of an environments repository and print each problem as "
                         "path:line: message");
  cmd->footer(
      "A local directory is checked as it is on disk (uncommitted edits included); a URL is "
      "fetched and its --branch head is checked.\n"
      "Across the files of an environment it checks deploy.dependsOn: every name is an app of "
      "the same environment and there is no cycle (shown with its path: api -> migrate -> "
      "api).\n"
      "With --config FILE (the controller's configuration) it also checks that the notification "
      "targets sluice.yaml names are defined there.\n"
      "Example:\n  sluice validate --repo .\n"
      "Exit codes: 0 no problems, 1 problems found (or the repository could not be read).");
  auto opts = std::make_shared<CommonOptions>();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  // SPEC 1.3 rule 5: with the controller's configuration, the notification
  // targets sluice.yaml names are checked against the ones it defines.
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path,
                  "The controller's YAML configuration: also check that every notify target "
                  "sluice.yaml names is defined there");
  return [opts, config_path] {
    ConfigureLogging(opts->log_level);
    if (opts->repo.empty()) opts->repo = ".";
    config::ValidationReport report;
    std::string where;
    std::error_code ec;
    if (fs::is_directory(opts->repo, ec) && !fs::exists(fs::path(opts->repo) / "HEAD", ec)) {
      where = opts->repo;
      report = config::ValidateRepository(config::WorkTreeReader(opts->repo),
                                          config::WorkTreeLister(opts->repo),
                                          config::WorkTreeProgramChecker(opts->repo));
    } else {
      auto ws = OpenWorkspace(*opts);
      if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
      if (Status s = (*ws)->Sync(/*push=*/false); !s.ok()) {
        PrintError(s.message());
        return kExitError;
      }
      auto head = (*ws)->Head();
      if (!head.ok()) {
        PrintError(head.status().message());
        return kExitError;
      }
      std::lock_guard lock((*ws)->mutex());
      report = ValidateRemote(**ws, *head);
      where = opts->repo + " at " + ShortId(*head);
    }
    if (!config_path->empty()) {
      auto secrets = ReadSecretSettingsFile(*config_path);
      if (!secrets.ok()) {
        PrintError(secrets.status().message());
        return kExitError;
      }
      if (report.settings) {
        for (const config::NotifyRef& ref : report.settings->notify) {
          bool defined = false;
          for (const auto& n : secrets->notify) defined |= n.name == ref.target;
          if (!defined) {
            report.problems.push_back(
                {config::SettingsPath(), ref.line,
                 "notify target '" + ref.target + "' is not defined in " + *config_path +
                     "; define it there (notify: {" + ref.target +
                     ": {slackWebhookFile: FILE}} or {url: URL, secretFile: FILE}) or remove "
                     "this entry"});
          }
        }
      }
    }
    if (opts->format == "json") {
      nlohmann::json problems = nlohmann::json::array();
      for (const auto& d : report.problems) {
        problems.push_back({{"path", d.path}, {"line", d.line}, {"message", d.message}});
      }
      std::cout << DumpJson(nlohmann::json{{"ok", report.problems.empty()},
                                           {"pins", report.pins.size()},
                                           {"problems", problems}},
                            2)
                << "\n";
    } else {
      for (const auto& d : report.problems) std::cout << d.ToString() << "\n";
      if (report.problems.empty()) {
        std::cout << where << ": ok (" << report.policies.size() << " environments, "
                  << report.pins.size() << " pins)\n";
      } else {
        std::cerr << report.problems.size() << " problem(s) in " << where << "\n";
      }
    }
    return report.problems.empty() ? kExitOk : kExitError;
  };
}

}  // namespace sluice::cli
