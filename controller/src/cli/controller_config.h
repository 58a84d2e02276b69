#pragma once

#include <chrono>
#include <string>

#include "cli/common.h"
#include "cli/ha_config.h"
#include "config/controller_secrets.h"
#include "core/result.h"
#include "process/runner.h"

namespace sluice::cli {

// Settings of `sluice controller`; every flag can also be given in the YAML
// file of --config (keys: repo, branch, workdir, interval, parallelism,
// logLevel, listen, webhookSecretFile, driftInterval, driftChecksPerPass,
// registryCacheTtl, the `trust:` section: bootstrap here, signingKey and
// controllerKeys in trust_config.h, and the HA keys of ha_config.h: etcd,
// leaseTtl, instanceId, etcdCacert, etcdCert, etcdKey, etcdUser,
// etcdPasswordFile).
// Flags given on the command line win over the file.
struct ControllerSettings {
  CommonOptions common;
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  size_t parallelism = 4;
  std::string listen;               // HOST:PORT of the HTTP server; empty: no server
  std::string webhook_secret_file;  // file holding the webhook secret; empty: hooks off
  // How often each in-sync Helm/Terraform pin is checked for drift; 0: never.
  std::chrono::milliseconds drift_interval{std::chrono::minutes(10)};
  size_t drift_checks_per_pass = 4;  // adapter runs for drift per pass, at most
  // How long a manifest the registry said exists is believed without asking
  // again; 0: always ask.
  std::chrono::milliseconds registry_cache_ttl{std::chrono::minutes(10)};
  // trust.bootstrap: the commit where trust starts (SPEC section 1.3, rule
  // 1); its policy files are in force as they are, and nothing before it
  // counts. Empty: each environment's first policy version is trusted.
  std::string trust_bootstrap;
  // runAs / --run-as: the account adapters and custom gates run as (the
  // controller must run as root to switch); empty: the controller's own.
  std::string run_as;
  // Secrets (SPEC 1.3 rule 5): forge, notify, gitUsername, gitPasswordFile;
  // only from this file, never from the repository (config/controller_secrets.h).
  config::SecretSettings secrets;
  // High availability: --etcd and its companions (cli/ha_config.h).
  HaSettings ha;
};

// Parses a --drift-interval value: a duration ("10m", "1h") or "0" to turn
// drift checks off; at least 1m otherwise. InvalidArgument with a fix.
Result<std::chrono::milliseconds> ParseDriftInterval(const std::string& text);

// The longest --registry-cache-ttl: a manifest deleted from the registry
// still passes the registry gate for up to this long.
inline constexpr std::chrono::hours kMaxRegistryCacheTtl{24};

// Parses a --registry-cache-ttl value: a duration ("10m", "1h") up to 24h,
// or "0" to turn the registry answer cache off. InvalidArgument with a fix.
Result<std::chrono::milliseconds> ParseRegistryCacheTtl(const std::string& text);

// Reads the webhook secret from `path`: the file's content without trailing
// whitespace, registered as a secret (core/secrets.h). FailedPrecondition
// naming the file when it cannot be read or is empty.
Result<std::string> ReadWebhookSecret(const std::string& path);

// Reads the --config file into `settings`, keeping values that `explicit_flags`
// says were set on the command line. InvalidArgument "path:line: message" for
// unknown keys, wrong types or a bad duration. The secret keys (forge,
// notify, gitUsername, gitPasswordFile) go to settings.secrets; the files they
// name are not read here (LoadControllerSecrets does). A `repo` URL with a
// password is kept without it (the password is held in memory only).
Status LoadControllerConfig(const std::string& path, const std::string& yaml_text,
                            ControllerSettings& settings,
                            const std::vector<std::string>& explicit_flags);

// The common flags (--repo, --branch, --workdir, --log-level) given on
// `cmd`'s command line, which win over a --config file.
std::vector<std::string> ExplicitCommonFlags(const CLI::App& cmd);

// For a one-shot command (reconcile, plan, status): reads the --config file
// at `config_path` ("" for none) into `settings`, starting from `opts` (the
// flags given on `cmd`'s command line win over the file), and gives the
// resulting common options back to `opts`. Errors as LoadControllerConfigFile.
Status LoadCommandConfig(const CLI::App& cmd, const std::string& config_path, CommonOptions& opts,
                         ControllerSettings& settings);

// The account of `settings.run_as` (process::LookUpRunAs), or nullopt
// when none is named. InvalidArgument naming the user.
Result<std::optional<process::RunAs>> ResolveRunAs(const ControllerSettings& settings);

// Reads the file of --config into `settings` (LoadControllerConfig); an
// empty `path` leaves them as they are. InvalidArgument "path:line:
// message", or IOError naming the file when it cannot be read.
Status LoadControllerConfigFile(const std::string& path, ControllerSettings& settings,
                                const std::vector<std::string>& explicit_flags);

}  // namespace sluice::cli
