#include "cli/controller_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/trust_config.h"
#include "core/duration.h"

namespace sluice::cli {

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
    if (key == "trust") {  // record signing keys: trust_config.cc
      SLUICE_RETURN_IF_ERROR(LoadTrustConfig(path, kv.second, settings.common, explicit_flags));
      continue;
    }
    if (!kv.second.IsScalar()) {
      return Status::InvalidArgument(where + key + " must be a single value");
    }
    std::string value = kv.second.Scalar();
    if (key == "repo") {
      if (!given("--repo")) settings.common.repo = value;
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
    } else {
      return Status::InvalidArgument(where + "unknown key '" + key +
                                     "' (known: repo, branch, workdir, interval, parallelism, "
                                     "logLevel, listen, webhookSecretFile, driftInterval, "
                                     "driftChecksPerPass, registryCacheTtl, trust)");
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
  return secret;
}

}  // namespace sluice::cli
