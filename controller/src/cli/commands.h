#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace sluice::cli {

// Each command adds its subcommand to `app` and returns the function that runs
// it once parsing succeeded; that function returns the exit code.
using Runner = std::function<int()>;

Runner AddInitCommand(CLI::App& app);
Runner AddValidateCommand(CLI::App& app);
Runner AddPlanCommand(CLI::App& app);
Runner AddPromoteCommand(CLI::App& app);
Runner AddReconcileCommand(CLI::App& app);
Runner AddControllerCommand(CLI::App& app);
Runner AddStatusCommand(CLI::App& app);
Runner AddRollbackCommand(CLI::App& app);
Runner AddHistoryCommand(CLI::App& app);
Runner AddAuditCommand(CLI::App& app);
Runner AddReleaseNotesCommand(CLI::App& app);
Runner AddIncidentReportCommand(CLI::App& app);
Runner AddVersionCommand(CLI::App& app);

}  // namespace sluice::cli
