#include "cli/app.h"

#include <malloc.h>

#include <exception>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/process_secrets.h"
#include "core/text.h"
#include "git/repo.h"

namespace sluice::cli {

int Main(int argc, char** argv) {
  // First, before any thread or child exists: the controller's secrets leave
  // its environment and argv, and the process becomes undumpable (SPEC 1.3
  // rule 5).
  std::vector<std::string> args = SealProcessSecrets(argc, argv);
  // Memory: a pass applies environments on threads of their own, and the
  // record's notes run to megabytes. glibc would give each thread an arena
  // of its own and, once a large buffer is freed, raise its mmap threshold
  // to that size, so that later megabyte buffers come from (and stay in)
  // the arenas. A fixed threshold hands every buffer of 1 MiB or more back
  // to the kernel when it is freed; two arenas are plenty for threads that
  // mostly wait for Git and adapters (docs/performance.md). A fixed mmap
  // threshold also fixes the trim threshold, at 128 KiB: every pass freed
  // the 30,000 advertised refs of its fetch, the heap's top went back to
  // the kernel, and the next pass faulted it in again (each fault and each
  // trim a TLB flush on every core). Up to 8 MiB of free top stays.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 8 << 20);
  ::mallopt(M_ARENA_MAX, 2);
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  arg_ptrs.push_back(nullptr);
  CLI::App app{
      "Sluice: a GitOps release controller. A Git environments repository says what runs "
      "where; promotion is a reviewed merge that pins an immutable digest; Sluice checks "
      "the policy in force, applies, verifies, and records everything back into Git.",
      "sluice"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 error, 2 usage, 3 blocked, 4 waiting.\n"
      "Run 'sluice COMMAND --help' for a command's flags and examples.");
  std::map<CLI::App*, Runner> runners;
  auto add = [&](Runner (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    Runner r = adder(app);
    runners[app.get_subcommands({})[before]] = std::move(r);
  };
  add(AddInitCommand);
  add(AddValidateCommand);
  add(AddPlanCommand);
  add(AddPromoteCommand);
  add(AddReconcileCommand);
  add(AddControllerCommand);
  add(AddStatusCommand);
  add(AddRollbackCommand);
  add(AddHistoryCommand);
  add(AddAuditCommand);
  add(AddReleaseNotesCommand);
  add(AddIncidentReportCommand);
  add(AddVersionCommand);

  try {
    app.parse(static_cast<int>(args.size()), arg_ptrs.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help or the error
    return code == 0 ? kExitOk : kExitUsage;
  }
  git::LibGit2 libgit2;
  for (auto& [cmd, run] : runners) {
    if (!cmd->parsed()) continue;
    // The last edge: a library that throws (nlohmann_json, yaml-cpp,
    // Boost.Process, std::) where no module caught it is an error with exit
    // code 1, never std::terminate and an abort after half the work.
    try {
      return run();
    } catch (const std::exception& e) {
      std::cerr << "error: " << StripControl(e.what()) << "\n";
    } catch (...) {
      std::cerr << "error: an unknown exception escaped the command\n";
    }
    return kExitError;
  }
  return kExitUsage;
}

}  // namespace sluice::cli
