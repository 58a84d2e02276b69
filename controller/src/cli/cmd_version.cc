#include <git2.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "core/json_dump.h"
#include "core/version.h"

namespace sluice::cli {

Runner AddVersionCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the version of sluice and its libraries");
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "Output format")->check(CLI::IsMember({"text", "json"}));
  return [format] {
    int major = 0, minor = 0, rev = 0;
    git_libgit2_version(&major, &minor, &rev);
    std::string libgit2 =
        std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(rev);
    if (*format == "json") {
      std::cout << DumpJson(
                       nlohmann::json{{"version", std::string(Version())}, {"libgit2", libgit2}})
                << "\n";
    } else {
      std::cout << "sluice " << Version() << " (libgit2 " << libgit2 << ")\n";
    }
    return kExitOk;
  };
}

}  // namespace sluice::cli
