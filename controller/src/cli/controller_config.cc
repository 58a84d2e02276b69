#include "cli/controller_config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/trust_config.h"
#include "core/duration.h"
#include "core/secrets.h"
#include "git/credentials.h"

namespace sluice::cli {
namespace {

// ---- Secrets (SPEC 1.3 rule 5): forge, notify, gitUsername, gitPasswordFile ----
Status LoadSecretKey(const std::string& path, const std::string& key, const YAML::Node& key_node,
                     const YAML::Node& value, config::SecretSettings& secrets) {
  config::Diagnostics diags;
  if (!config::ParseSecretSettingsKey(path, key, key_node, value, secrets, diags)) {
    return Status::InvalidArgument(config::FormatDiagnostics(diags));
  }
  return Status::Ok();
}

}  // namespace

namespace {

// The `trust:` section (SPEC section 1.3): where trust starts.
Status LoadTrustSection(const std::string& path, const YAML::Node& node,
                        ControllerSettings& settings) {
  auto where = [&](const YAML::Node& n) {
    return path + ":" + std::to_string(n.Mark().line + 1) + ": ";
  };
  if (!node.IsMap()) {
    return Status::InvalidArgument(
        where(node) + "trust must be a mapping (bootstrap, signingKey, controllerKeys)");
  }
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>("");
    if (key == "signingKey" || key == "controllerKeys") continue;  // trust_config.cc
    if (key == "bootstrap") {
      std::string value = kv.second.IsScalar() ? kv.second.Scalar() : "";
      bool hex = value.size() == 40 && std::all_of(value.begin(), value.end(), [](unsigned char c) {
                   return std::isdigit(c) || (c >= 'a' && c <= 'f');
                 });
      if (!hex) {
        return Status::InvalidArgument(
            where(kv.second) +
            "trust.bootstrap must be a full 40-character commit id (git rev-parse main)");
      }
      settings.trust_bootstrap = value;
    } else {
      return Status::InvalidArgument(where(kv.first) + "unknown key 'trust." + key +
                                     "' (known: bootstrap, signingKey, controllerKeys)");
    }
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string> ExplicitCommonFlags(const CLI::App& cmd) {
  std::vector<std::string> out;
  for (const char* f : {"--repo", "--branch", "--workdir", "--log-level"}) {
    if (cmd.count(f) > 0) out.emplace_back(f);
  }
  for (auto& f : GivenTrustFlags(cmd)) out.push_back(std::move(f));
  try {
    if (cmd.count("--run-as") > 0) out.emplace_back("--run-as");
  } catch (const CLI::Error&) {
    // Not an option of this command.
  }
  return out;
}

Result<std::optional<process::RunAs>> ResolveRunAs(const ControllerSettings& settings) {
  if (settings.run_as.empty()) return std::optional<process::RunAs>();
  auto user = process::LookUpRunAs(settings.run_as);
  if (!user.ok()) return user.status();
  if (::geteuid() != 0) {
    return Status::InvalidArgument("runAs " + settings.run_as +
                                   ": the controller must run as root to start adapters as "
                                   "another user (or drop runAs and run it as that user)");
  }
  return std::optional<process::RunAs>(std::move(*user));
}

Status LoadCommandConfig(const CLI::App& cmd, const std::string& config_path, CommonOptions& opts,
                         ControllerSettings& settings) {
  settings.common = opts;
  SLUICE_RETURN_IF_ERROR(LoadControllerConfigFile(config_path, settings, ExplicitCommonFlags(cmd)));
  opts = settings.common;
  return Status::Ok();
}

Status LoadControllerConfigFile(const std::string& path, ControllerSettings& settings,
                                const std::vector<std::string>& explicit_flags) {
  if (path.empty()) return Status::Ok();
  std::ifstream f(path);
  if (!f) return Status::IOError("cannot read --config " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return LoadControllerConfig(path, ss.str(), settings, explicit_flags);
}

Status LoadControllerConfig(const std::string& path, const std::string& yaml_text,
                            ControllerSettings& settings,
                            const std::vector<std::string>& explicit_flags) {
  auto given = [&](const std::string& flag) {
    return std::find(explicit_flags.begin(), explicit_flags.end(), flag) != explicit_flags.end();
  };
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) {
    return Status::InvalidArgument(path + ":1: expected a mapping of controller settings");
  }
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>("");
    std::string where = path + ":" + std::to_string(kv.first.Mark().line + 1) + ": ";
    if (key == "trust") {
      // trust.bootstrap (the policy chain of custody) here; the record's
      // signing keys in trust_config.cc.
      SLUICE_RETURN_IF_ERROR(LoadTrustSection(path, kv.second, settings));
      SLUICE_RETURN_IF_ERROR(LoadTrustConfig(path, kv.second, settings.common, explicit_flags));
      continue;
    }
    if (IsHaConfigKey(key)) {
      SLUICE_RETURN_IF_ERROR(
          LoadHaConfigKey(path, key, kv.first, kv.second, settings.ha, explicit_flags));
      continue;
    }
    if (config::IsSecretSettingsKey(key)) {
      if (Status s = LoadSecretKey(path, key, kv.first, kv.second, settings.secrets); !s.ok()) {
        return s;
      }
      continue;
    }
    if (!kv.second.IsScalar()) {
      return Status::InvalidArgument(where + key + " must be a single value");
    }
    std::string value = kv.second.Scalar();
    if (key == "repo") {
      if (!given("--repo")) settings.common.repo = git::AdoptUrlCredentials(value);
    } else if (key == "branch") {
      if (!given("--branch")) settings.common.branch = value;
    } else if (key == "workdir") {
      if (!given("--workdir")) settings.common.workdir = value;
    } else if (key == "logLevel") {
      if (!given("--log-level")) settings.common.log_level = value;
    } else if (key == "interval") {
      auto d = ParseDuration(value);
      if (!d.ok()) return Status::InvalidArgument(where + "interval: " + d.status().message());
      if (d->count() < 1000) return Status::InvalidArgument(where + "interval must be at least 1s");
      if (!given("--interval")) settings.interval = *d;
    } else if (key == "parallelism") {
      try {
        int n = std::stoi(value);
        if (n < 1 || n > 64) throw std::out_of_range("range");
        if (!given("--parallelism")) settings.parallelism = static_cast<size_t>(n);
      } catch (const std::exception&) {
        return Status::InvalidArgument(where + "parallelism must be a whole number from 1 to 64");
      }
    } else if (key == "driftInterval") {
      auto d = ParseDriftInterval(value);
      if (!d.ok()) return Status::InvalidArgument(where + "driftInterval: " + d.status().message());
      if (!given("--drift-interval")) settings.drift_interval = *d;
    } else if (key == "driftChecksPerPass") {
      try {
        int n = std::stoi(value);
        if (n < 1 || n > 1000) throw std::out_of_range("range");
        if (!given("--drift-checks-per-pass"))
          settings.drift_checks_per_pass = static_cast<size_t>(n);
      } catch (const std::exception&) {
        return Status::InvalidArgument(where +
                                       "driftChecksPerPass must be a whole number from 1 to 1000");
      }
    } else if (key == "registryCacheTtl") {
      auto d = ParseRegistryCacheTtl(value);
      if (!d.ok()) {
        return Status::InvalidArgument(where + "registryCacheTtl: " + d.status().message());
      }
      if (!given("--registry-cache-ttl")) settings.registry_cache_ttl = *d;
    } else if (key == "listen") {
      if (!given("--listen")) settings.listen = value;
    } else if (key == "webhookSecretFile") {
      if (!given("--webhook-secret-file")) settings.webhook_secret_file = value;
    } else if (key == "runAs") {
      if (!given("--run-as")) settings.run_as = value;
    } else {
      return Status::InvalidArgument(where + "unknown key '" + key +
                                     "' (known: repo, branch, workdir, interval, parallelism, "
                                     "logLevel, listen, webhookSecretFile, driftInterval, "
                                     "driftChecksPerPass, registryCacheTtl, runAs, trust, "
                                     "forge, notify, gitUsername, gitPasswordFile, etcd, "
                                     "leaseTtl, instanceId, etcdCacert, etcdCert, etcdKey, "
                                     "etcdUser, etcdPasswordFile)");
    }
  }
  return Status::Ok();
}

Result<std::chrono::milliseconds> ParseDriftInterval(const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status();
  if (d->count() != 0 && *d < std::chrono::minutes(1)) {
    return Status::InvalidArgument(
        "'" + text +
        "' is shorter than 1m: each check runs helm or terraform against the cluster or state; "
        "use 1m or more, or 0 to turn drift checks off");
  }
  return *d;
}

Result<std::chrono::milliseconds> ParseRegistryCacheTtl(const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status();
  if (*d > kMaxRegistryCacheTtl) {
    return Status::InvalidArgument(
        "'" + text +
        "' is longer than 24h: a manifest deleted from the registry would pass the registry "
        "gate for that long; use 24h or less, or 0 to ask the registry on every pass");
  }
  return *d;
}

Result<std::string> ReadWebhookSecret(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Status::FailedPrecondition("cannot read --webhook-secret-file " + path + ": " +
                                      std::strerror(errno));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.empty()) {
    return Status::FailedPrecondition("--webhook-secret-file " + path +
                                      " is empty: put the shared webhook secret in it");
  }
  // Inbound hooks are verified with it: redacted from any output too.
  RegisterSecret(secret);
  return secret;
}

}  // namespace sluice::cli
