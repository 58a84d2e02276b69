#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "config/repository_config.h"

namespace sluice::cli {
namespace fs = std::filesystem;

namespace {

// Validates the head of a remote repository through the workspace.
config::ValidationReport ValidateRemote(engine::Workspace& ws, const std::string& head) {
  git::Repository& repo = ws.repo();
  config::FileReader read = [&](const std::string& path) { return repo.ReadFile(head, path); };
  config::DirLister list = [&](const std::string& dir) { return repo.ListDir(head, dir); };
  return config::ValidateRepository(read, list);
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
      "Example:\n  sluice validate --repo .\n"
      "Exit codes: 0 no problems, 1 problems found (or the repository could not be read).");
  auto opts = std::make_shared<CommonOptions>();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  return [opts] {
    ConfigureLogging(opts->log_level);
    if (opts->repo.empty()) opts->repo = ".";
    config::ValidationReport report;
    std::string where;
    std::error_code ec;
    if (fs::is_directory(opts->repo, ec) && !fs::exists(fs::path(opts->repo) / "HEAD", ec)) {
      where = opts->repo;
      report = config::ValidateRepository(config::WorkTreeReader(opts->repo),
                                          config::WorkTreeLister(opts->repo));
    } else {
      auto ws = OpenWorkspace(*opts);
      if (!ws.ok()) {
        PrintError(ws.status().message());
        return kExitError;
      }
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
      where = opts->repo + " at " + head->substr(0, 12);
    }
    if (opts->format == "json") {
      nlohmann::json problems = nlohmann::json::array();
      for (const auto& d : report.problems) {
        problems.push_back({{"path", d.path}, {"line", d.line}, {"message", d.message}});
      }
      std::cout << nlohmann::json{{"ok", report.problems.empty()},
                                  {"pins", report.pins.size()},
                                  {"problems", problems}}
                       .dump(2)
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
