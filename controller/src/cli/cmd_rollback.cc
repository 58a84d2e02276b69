#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "approval/signature.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_parts.h"
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

// The signing setup of --signing-key FILE, else of git's configuration
// (--sign): that of --repo when it is a local clone (its own config, then
// the global and system ones), else the global and system ones as the
// workspace's cache sees them.
Result<approval::SshSigningSetup> SigningSetup(const std::string& key_file,
                                               const std::string& repo_arg,
                                               const git::Repository& cache) {
  if (!key_file.empty()) {
    approval::SshSigningSetup setup;
    std::error_code ec;
    setup.key = std::filesystem::absolute(key_file, ec).string();
    setup.origin = "--signing-key";
    if (!std::filesystem::exists(setup.key)) {
      return Status::InvalidArgument("--signing-key " + key_file +
                                     ": no such file (an SSH private key, or a public key whose "
                                     "private half is in the ssh-agent)");
    }
    return setup;
  }
  std::error_code ec;
  if (repo_arg.find("://") == std::string::npos && std::filesystem::is_directory(repo_arg, ec)) {
    if (auto clone = git::Repository::Open(repo_arg); clone.ok()) {
      return approval::SshSigningSetupFromGitConfig(**clone);
    }
  }
  return approval::SshSigningSetupFromGitConfig(cache);
}

}  // namespace

Runner AddRollbackCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "rollback",
      "Write one commit that restores ENV/APP's pin to its last-known-good (or --to a "
      "verified commit); the controller applies it on the fast path");
  cmd->footer(
      "Restores the pin as it was at the last-known-good (LKG); when the running release is "
      "itself the LKG (it passed verification but is bad), at the verified release before it. "
      "`sluice history ENV APP` lists the releases --to can name.\n"
      "The commit carries the trailers Sluice-Rollback: <commit> (and Sluice-Incident: with "
      "--incident). With --push it goes straight to the tracked branch; without, it is pushed "
      "to a branch sluice/rollback-ENV-APP-<short> for a pull request.\n"
      "Windows, freezes and soak do not hold a rollback; the policy's rollback rule still "
      "applies (rollback.approval; default: one member of on-call, with the release evidence "
      "kind, where releases need approval). Under signed evidence, --sign (your git SSH signing "
      "setup: gpg.format=ssh, user.signingkey) or --signing-key FILE signs the commit, and the "
      "signature of a member of the rule's group is the approval: one on-call engineer rolls "
      "back alone. The rule's separateAuthor does not apply: the restored release was approved "
      "and verified before. With --push, a commit the controller would block (unsigned, signer "
      "not in the group, forge evidence) is refused before anything is pushed, saying what is "
      "needed.\n"
      "Examples:\n"
      "  sluice rollback prod api --incident INC-123 --push --sign --repo "
      "git://git.example.com/environments\n"
      "  sluice rollback prod api --to 1a2b3c4d --push --signing-key ~/.ssh/oncall_ed25519 "
      "--repo ./environments\n"
      "Exit codes: 0 committed (or nothing to do: the head already pins the release to go back "
      "to), 3 refused (the controller would block the pushed commit: see the message), 2 usage, "
      "1 nothing verified to go back to (or another error).");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto incident = std::make_shared<std::string>();
  auto author = std::make_shared<std::string>();
  auto push = std::make_shared<bool>(false);
  auto sign = std::make_shared<bool>(false);
  auto signing_key = std::make_shared<std::string>();
  cmd->add_option("ENV", *env, "The environment")->required();
  cmd->add_option("APP", *app_name, "The app")->required();
  cmd->add_option("--to", *to, "A commit where ENV/APP was verified (default: the LKG)");
  cmd->add_option("--incident", *incident, "Incident id for the Sluice-Incident trailer");
  cmd->add_option(
      "--author", *author,
      "\"Name <email>\" of the commit (default: $GIT_AUTHOR_NAME/EMAIL, else git config "
      "user.name/user.email)");
  cmd->add_flag("--push", *push, "Push the commit to the tracked branch itself");
  auto* sign_flag = cmd->add_flag(
      "--sign", *sign,
      "Sign the commit with your git SSH signing setup (gpg.format=ssh, user.signingkey): "
      "your rollback approval under signed evidence");
  cmd->add_option("--signing-key", *signing_key,
                  "Sign the commit with this SSH key file (a private key, or a public key whose "
                  "private half is in the ssh-agent)")
      ->excludes(sign_flag);
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  return [opts, env, app_name, to, incident, author, push, sign, signing_key] {
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
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    engine::RollbackRequest request{
        *env,  *app_name, *to, *incident, given ? *given : DefaultAuthor((*ws)->repo()),
        *push, nullptr};
    EngineParts parts;
    std::optional<approval::SshCommitSigner> signer;
    if (*sign || !signing_key->empty()) {
      auto setup = SigningSetup(*signing_key, opts->repo, (*ws)->repo());
      if (!setup.ok()) {
        PrintError(setup.status().message());
        return setup.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitError;
      }
      signer.emplace(parts.runner, std::move(*setup));
      request.sign = [&signer](const std::string& payload) { return signer->Sign(payload); };
    }
    auto done = engine::ExecuteRollback(**ws, request,
                                        {parts.runner, parts.verifier, parts.http, parts.clock});
    if (!done.ok()) {
      // The head already pins the release to go back to: nothing to do is
      // a success, as `sluice promote` with nothing to promote.
      if (engine::IsNothingToDo(done.status())) {
        if (opts->format == "json") {
          std::cout << DumpJson(nlohmann::json{{"result", "nothing-to-do"},
                                               {"env", *env},
                                               {"app", *app_name},
                                               {"reason", done.status().message()}})
                    << "\n";
        } else {
          std::cout << done.status().message() << "\n";
        }
        return kExitOk;
      }
      PrintError(done.status().message());
      return kExitError;
    }
    if (!done->refused.empty()) {
      PrintError("refused, nothing pushed: " + done->refused);
      return kExitBlocked;
    }
    const engine::RollbackPlan& plan = done->plan;
    const std::string& pushed_to = done->pushed_to;
    if (opts->format == "json") {
      std::cout << DumpJson(nlohmann::json{{"commit", done->commit},
                                           {"target", plan.target},
                                           {"digest", plan.digest},
                                           {"version", plan.version},
                                           {"pushedTo", pushed_to},
                                           {"note", plan.note},
                                           {"signed", static_cast<bool>(signer)},
                                           {"needs", done->needs},
                                           {"approval", done->approval}})
                << "\n";
      return kExitOk;
    }
    if (!plan.note.empty()) std::cout << plan.note << "\n";
    std::cout << "rollback commit " << ShortId(done->commit) << (signer ? " (signed)" : "")
              << " restores " << plan.pin_path << " to "
              << (plan.version.empty() ? plan.digest : plan.version) << " (" << ShortId(plan.target)
              << ", verified)\n";
    if (*push) {
      if (!done->approval.empty()) std::cout << "approval: " << done->approval << "\n";
      std::cout << "pushed to " << pushed_to
                << "; the controller applies it on its next pass (or at once on a webhook)\n";
    } else {
      std::cout << "pushed to branch " << pushed_to
                << "; open a pull request from it, or run again with --push\n";
      if (done->approval_required) {
        std::cout << "the controller applies it once approved: " << *env
                  << "'s rollback rule needs " << done->needs << "\n";
      }
    }
    if (!done->policy_error.empty()) {
      std::cerr << "warning: the rollback rule of " << *env
                << " could not be read (the controller will block the rollback too): "
                << done->policy_error << "\n";
    }
    return kExitOk;
  };
}

}  // namespace sluice::cli
