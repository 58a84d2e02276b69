#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trust_config.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "engine/execute_rollback.h"
#include "engine/rollback.h"

namespace sluice::cli {
namespace {

// "Name <email>" -> Person; empty when it does not have that shape.
std::optional<git::Person> ParsePerson(const std::string& text) {
  auto lt = text.find('<');
  auto gt = text.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt || lt == 0) {
    return std::nullopt;
  }
  std::string name = text.substr(0, lt);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  return git::Person{name, text.substr(lt + 1, gt - lt - 1), {}};
}

// Who the rollback commit names: $GIT_AUTHOR_NAME/EMAIL, else git's own
// user.name/user.email (as `git commit` would), else the controller's
// identity with a warning, so the record still says a person did not sign it.
git::Person DefaultAuthor(const git::Repository& repo) {
  const char* name = std::getenv("GIT_AUTHOR_NAME");
  const char* email = std::getenv("GIT_AUTHOR_EMAIL");
  if (name && *name && email && *email) return git::Person{name, email, {}};
  if (auto configured = repo.DefaultIdentity(); configured.ok()) return *configured;
  std::cerr << "warning: no author for the rollback commit (set --author, $GIT_AUTHOR_NAME and "
               "$GIT_AUTHOR_EMAIL, or git config user.name/user.email); it is written as the "
               "controller, and the record will not name who rolled back\n";
  return record::Workspace::Identity();
}

}  // namespace

Runner AddRollbackCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "rollback",
      "Write one commit that restores ENV/APP's pin to its last-known-good (or --to a "
      "verified commit); the controller applies it on the fast path");
  cmd->footer(
      "The commit carries the trailers Sluice-Rollback: <commit> (and Sluice-Incident: with "
      "--incident). With --push it goes straight to the tracked branch; without, it is pushed "
      "to a branch sluice/rollback-ENV-APP-<short> for a pull request.\n"
      "Windows, freezes and soak do not hold a rollback; approval by the policy's rollback "
      "rule (default: one member of on-call where releases need approval) still applies.\n"
      "Example:\n  sluice rollback prod api --incident INC-123 --push --repo "
      "git://git.example.com/environments\n"
      "Exit codes: 0 committed, 1 nothing verified to go back to (or another error).");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto incident = std::make_shared<std::string>();
  auto author = std::make_shared<std::string>();
  auto push = std::make_shared<bool>(false);
  cmd->add_option("ENV", *env, "The environment")->required();
  cmd->add_option("APP", *app_name, "The app")->required();
  cmd->add_option("--to", *to, "A commit where ENV/APP was verified (default: the LKG)");
  cmd->add_option("--incident", *incident, "Incident id for the Sluice-Incident trailer");
  cmd->add_option(
      "--author", *author,
      "\"Name <email>\" of the commit (default: $GIT_AUTHOR_NAME/EMAIL, else git config "
      "user.name/user.email)");
  cmd->add_flag("--push", *push, "Push the commit to the tracked branch itself");
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  return [opts, env, app_name, to, incident, author, push] {
    ConfigureLogging(opts->log_level);
    std::optional<git::Person> given;
    if (!author->empty()) {
      given = ParsePerson(*author);
      if (!given) {
        PrintError("--author must look like \"Carol Oncall <carol@example.com>\"");
        return kExitUsage;
      }
    }
    auto ws = OpenWorkspace(*opts);
    if (!ws.ok()) {
      PrintError(ws.status().message());
      return kExitError;
    }
    engine::RollbackRequest request{
        *env, *app_name, *to, *incident, given ? *given : DefaultAuthor((*ws)->repo()), *push};
    auto done = engine::ExecuteRollback(**ws, request);
    if (!done.ok()) {
      PrintError(done.status().message());
      return kExitError;
    }
    const engine::RollbackPlan& plan = done->plan;
    const std::string& pushed_to = done->pushed_to;
    if (opts->format == "json") {
      std::cout << DumpJson(nlohmann::json{{"commit", done->commit},
                                           {"target", plan.target},
                                           {"digest", plan.digest},
                                           {"version", plan.version},
                                           {"pushedTo", pushed_to}})
                << "\n";
      return kExitOk;
    }
    std::cout << "rollback commit " << ShortId(done->commit) << " restores " << plan.pin_path
              << " to " << (plan.version.empty() ? plan.digest : plan.version) << " ("
              << ShortId(plan.target) << ", verified)\n";
    if (*push) {
      std::cout << "pushed to " << pushed_to
                << "; the controller applies it on its next pass (or at once on a webhook)\n";
    } else {
      std::cout << "pushed to branch " << pushed_to
                << "; open a pull request from it, or run again with --push\n";
    }
    return kExitOk;
  };
}

}  // namespace sluice::cli
