#include "cli/process_secrets.h"

#include <sys/prctl.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "approval/forge.h"
#include "core/secrets.h"

extern char** environ;

namespace sluice::cli {
namespace {

EnvironmentSecrets& Startup() {
  static EnvironmentSecrets* secrets = new EnvironmentSecrets();  // used until exit
  return *secrets;
}

// Trailing newlines off: a file written with `echo` ends in one.
std::string TrimEnd(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

// The whole file without trailing whitespace, or FailedPrecondition naming
// it (never its content).
Result<std::string> ReadSecretFile(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::FailedPrecondition("cannot read " + what + " " + path + ": " +
                                      std::strerror(errno) +
                                      " (a file on the controller's host, readable by its user)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string value = TrimEnd(ss.str());
  if (value.empty()) return Status::FailedPrecondition(what + " " + path + " is empty");
  return value;
}

}  // namespace

EnvironmentSecrets TakeSecretsFromEnvironment() {
  EnvironmentSecrets out;
  std::vector<char*> originals;  // the "NAME=value" strings to overwrite
  auto take = [&](const char* name) -> std::string {
    std::string value;
    const size_t n = std::strlen(name);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      if (std::strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
        if (value.empty()) value = *e + n + 1;
        originals.push_back(*e);
      }
    }
    return value;
  };
  out.forge_token = TrimEnd(take("SLUICE_FORGE_TOKEN"));
  out.git.username = take("SLUICE_GIT_USERNAME");
  out.git.password = take("SLUICE_GIT_PASSWORD");
  out.git.password_source = "SLUICE_GIT_PASSWORD";
  std::string password_file = take("SLUICE_GIT_PASSWORD_FILE");
  out.git.ssh_key = take("SLUICE_GIT_SSH_KEY");
  out.git.ssh_passphrase = take("SLUICE_GIT_SSH_PASSPHRASE");
  if (out.git.password.empty() && !password_file.empty()) {
    // Read now: a failure is reported when a remote asks for the password.
    if (auto pw = ReadSecretFile("SLUICE_GIT_PASSWORD_FILE", password_file); pw.ok()) {
      out.git.password = *pw;
    }
    out.git.password_source = "SLUICE_GIT_PASSWORD_FILE " + password_file;
  }
  for (const char* name : kSecretVariables) ::unsetenv(name);
  // unsetenv only drops the pointers from `environ`; the strings stay where
  // exec put them, and that block is what /proc/<pid>/environ reads.
  for (char* s : originals) ::explicit_bzero(s, std::strlen(s));
  RegisterSecret(out.forge_token);
  RegisterSecret(out.git.password);
  RegisterSecret(out.git.ssh_passphrase);
  return out;
}

std::string MaskUrlPassword(std::string_view arg) {
  std::string out(arg);
  for (size_t scheme = out.find("://"); scheme != std::string::npos;
       scheme = out.find("://", scheme + 3)) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?# \t\n", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);
    if (at == std::string::npos || at < start) continue;
    size_t colon = out.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    for (size_t i = colon + 1; i < at; ++i) out[i] = '*';
  }
  return out;
}

void MaskUrlPasswordsInArgv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == nullptr || std::strstr(argv[i], "://") == nullptr) continue;
    std::string masked = MaskUrlPassword(argv[i]);
    std::memcpy(argv[i], masked.data(), masked.size());  // same length
  }
}

Status MakeUndumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return Status::IOError(std::string("prctl(PR_SET_DUMPABLE, 0) failed: ") +
                           std::strerror(errno));
  }
  return Status::Ok();
}

std::vector<std::string> SealProcessSecrets(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  Startup() = TakeSecretsFromEnvironment();
  // From here on the Git credentials come from memory only (the
  // configuration may add to them); the environment is not read again.
  git::SetProcessCredentials(Startup().git);
  // Passwords in URL arguments (--repo URL, --repo=URL) are remembered in
  // memory and removed from what the parser sees, so no option value, log
  // line or message carries them.
  for (std::string& a : args) {
    if (a.find("://") == std::string::npos) continue;
    size_t value = a.rfind("--", 0) == 0 && a.find('=') != std::string::npos ? a.find('=') + 1 : 0;
    a = a.substr(0, value) + git::AdoptUrlCredentials(a.substr(value));
  }
  MaskUrlPasswordsInArgv(argc, argv);
  if (Status s = MakeUndumpable(); !s.ok()) {
    std::cerr << "sluice: warning: " << s.message()
              << "; processes of the same user may read this one's memory\n";
  }
  return args;
}

const EnvironmentSecrets& StartupSecrets() { return Startup(); }

Result<ControllerSecrets> LoadControllerSecrets(const config::SecretSettings& settings,
                                                const std::string& forge_token_file) {
  ControllerSecrets out;
  out.forge = settings.forge;
  {
    config::ForgeSettings token_from = settings.forge.value_or(config::ForgeSettings{});
    if (!forge_token_file.empty()) token_from.token_file = forge_token_file;
    auto token = approval::LoadForgeToken(token_from, StartupSecrets().forge_token);
    if (!token.ok()) return Status::FailedPrecondition(token.status().message());
    out.forge_token = *token;
  }

  if (!settings.git_username.empty() || !settings.git_password_file.empty()) {
    git::Credentials creds = StartupSecrets().git;
    if (!settings.git_username.empty()) creds.username = settings.git_username;
    if (!settings.git_password_file.empty()) {
      auto pw = ReadSecretFile("gitPasswordFile", settings.git_password_file);
      if (!pw.ok()) return pw.status();
      creds.password = *pw;
      creds.password_source = "gitPasswordFile " + settings.git_password_file;
    }
    git::SetProcessCredentials(std::move(creds));
  }

  if (Status s = notify::LoadTargets(settings.notify, out.targets); !s.ok()) {
    out.target_problems = s.message();
  }
  return out;
}

Result<config::SecretSettings> ReadSecretSettingsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::FailedPrecondition("cannot read --config " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(ss.str());
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  config::SecretSettings out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) return Status::InvalidArgument(path + ":1: expected a mapping of settings");
  config::Diagnostics diags;
  for (const auto& kv : root) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!config::IsSecretSettingsKey(key)) continue;
    config::ParseSecretSettingsKey(path, key, kv.first, kv.second, out, diags);
  }
  if (!diags.empty()) return Status::InvalidArgument(config::FormatDiagnostics(diags));
  return out;
}

}  // namespace sluice::cli
