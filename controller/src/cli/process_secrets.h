#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/controller_secrets.h"
#include "core/result.h"
#include "git/credentials.h"
#include "notify/target.h"

// Secrets stay with the controller (SPEC 1.3 rule 5): what the process does
// at start so that no child, no /proc reader of the same user and no output
// ever sees the forge token, the Git password or a webhook secret.

namespace sluice::cli {

// The variables of the controller's own environment that carry its
// credentials. TakeSecretsFromEnvironment removes all of them; nothing
// after start reads them from the environment again.
inline constexpr const char* kSecretVariables[] = {
    "SLUICE_FORGE_TOKEN",       "SLUICE_GIT_USERNAME", "SLUICE_GIT_PASSWORD",
    "SLUICE_GIT_PASSWORD_FILE", "SLUICE_GIT_SSH_KEY",  "SLUICE_GIT_SSH_PASSPHRASE",
};

// What those variables held when the process started.
struct EnvironmentSecrets {
  std::string forge_token;  // SLUICE_FORGE_TOKEN
  git::Credentials git;     // SLUICE_GIT_* (a password file is read at once)
};

// Reads kSecretVariables, then removes them for real: unsetenv() drops them
// from `environ`, and the bytes they occupied are overwritten with zeros.
// /proc/<pid>/environ shows the memory the process started with (the block
// the kernel copied at exec), not `environ`, so without the overwrite a
// same-user child could read them at /proc/$PPID/environ. Values are
// registered as secrets. Not thread-safe: call first thing in main(), before
// any thread exists.
EnvironmentSecrets TakeSecretsFromEnvironment();

// `arg` with the password of every "scheme://user:password@" replaced by as
// many '*' (same length, so it can be written over argv in place). Pure.
std::string MaskUrlPassword(std::string_view arg);

// Overwrites, in place, the password of each URL in argv[1..argc): what
// /proc/<pid>/cmdline shows (to every user). The caller parses a copy.
void MaskUrlPasswordsInArgv(int argc, char** argv);

// prctl(PR_SET_DUMPABLE, 0): no core dumps, and processes of the same user
// (our children included) can no longer ptrace us or read /proc/<pid>/mem,
// environ, cmdline or fd. It does nothing against root (CAP_SYS_PTRACE).
// IOError when the call fails.
Status MakeUndumpable();

// All of the above, first thing in main(): takes the environment's secrets
// (kept for StartupSecrets and given to git::SetProcessCredentials), masks
// argv and makes the process undumpable. Returns copies of the original
// arguments for the command-line parser, URLs without their passwords (those
// are kept by git::AdoptUrlCredentials). A failure of MakeUndumpable is
// printed as a warning; nothing here fails the command.
std::vector<std::string> SealProcessSecrets(int argc, char** argv);

// What SealProcessSecrets took from the environment (empty before it ran).
const EnvironmentSecrets& StartupSecrets();

// The secrets of the controller's configuration, read at start.
struct ControllerSecrets {
  std::optional<config::ForgeSettings> forge;
  std::string forge_token;                                     // "" for anonymous access
  std::vector<std::shared_ptr<const notify::Target>> targets;  // notify:, by id
  // Problems with notification targets (a missing secret file): the other
  // targets still work, so they are reported, not fatal.
  std::string target_problems;
};

// Reads what `settings` names: the forge token (`forge_token_file` when not
// empty — a --forge-token-file flag —, else forge.tokenFile, else
// SLUICE_FORGE_TOKEN as found at start), the notification targets' files and
// gitPasswordFile; hands the Git credentials to git::SetProcessCredentials
// (the configuration wins over the environment) and registers every value as
// a secret. FailedPrecondition naming the file (never its content) when the
// token or the Git password file cannot be read.
Result<ControllerSecrets> LoadControllerSecrets(const config::SecretSettings& settings,
                                                const std::string& forge_token_file = "");

// Reads a --config file the way `sluice controller --config` does, but only
// its secret keys (forge, notify, gitUsername, gitPasswordFile) — for the
// commands that need the forge or Git credentials without running the
// daemon (reconcile, plan, promote --open-pr). Other keys are accepted and
// ignored here. InvalidArgument "path:line: message" on problems.
Result<config::SecretSettings> ReadSecretSettingsFile(const std::string& path);

}  // namespace sluice::cli
