#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/templates.h"

namespace sluice::cli {
namespace fs = std::filesystem;

Runner AddInitCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "init",
      "Write a new environments repository layout (sluice.yaml, dev/staging/prod "
      "policies) into DIR");
  cmd->footer(
      "Example:\n  sluice init shop-environments && cd shop-environments && git init && "
      "git add -A && git commit -m 'Start environments'\n"
      "Existing files are never overwritten; use --force to replace them.");
  auto dir = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("DIR", *dir, "Directory to write (created if absent)")->required();
  cmd->add_flag("--force", *force, "Overwrite files that already exist");
  return [dir, force] {
    std::vector<std::string> conflicts;
    for (const auto& f : InitTemplates()) {
      if (!*force && fs::exists(fs::path(*dir) / f.path)) conflicts.emplace_back(f.path);
    }
    if (!conflicts.empty()) {
      PrintError("refusing to overwrite " + std::to_string(conflicts.size()) +
                 " existing file(s) in " + *dir + ", e.g. " + conflicts.front() +
                 " (use --force to replace them)");
      return kExitError;
    }
    for (const auto& f : InitTemplates()) {
      fs::path target = fs::path(*dir) / f.path;
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      std::ofstream out(target, std::ios::binary | std::ios::trunc);
      out.write(f.content.data(), static_cast<std::streamsize>(f.content.size()));
      if (!out) {
        PrintError("cannot write " + target.string());
        return kExitError;
      }
      std::cout << "wrote " << target.string() << "\n";
    }
    std::cout << "\nNext: pin an app in environments/dev/apps/<app>.yaml, check it with "
                 "'sluice validate --repo "
              << *dir
              << "', commit, and point a controller at the repository.\n"
                 "\nprod releases need a merge signed by a member of release-managers "
                 "(evidence: signed; no forge needed). To be that member:\n"
                 "  1. put your e-mail in groups.release-managers and groups.on-call of "
                 "sluice.yaml\n"
                 "  2. add your key under signers: in sluice.yaml, as printed by\n"
                 "       echo \"$(git config user.email) $(cat ~/.ssh/id_ed25519.pub)\"\n"
                 "  3. sign with it: git config gpg.format ssh && git config user.signingkey "
                 "~/.ssh/id_ed25519.pub, then merge with git merge -S\n"
                 "With a forge, switch prod to evidence: forge (docs/approvals.md).\n";
    return kExitOk;
  };
}

}  // namespace sluice::cli
