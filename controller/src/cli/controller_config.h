#pragma once

#include <chrono>
#include <string>

#include "cli/common.h"
#include "core/result.h"

namespace sluice::cli {

// Settings of `sluice controller`; every flag can also be given in the YAML
// file of --config (keys: repo, branch, workdir, interval, parallelism,
// logLevel, listen, webhookSecretFile). Flags given on the command line win
// over the file.
struct ControllerSettings {
  CommonOptions common;
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  size_t parallelism = 4;
  std::string listen;               // HOST:PORT of the HTTP server; empty: no server
  std::string webhook_secret_file;  // file holding the webhook secret; empty: hooks off
};

// Reads the webhook secret from `path`: the file's content without trailing
// whitespace. FailedPrecondition naming the file when it cannot be read or is
// empty.
Result<std::string> ReadWebhookSecret(const std::string& path);

// Reads the --config file into `settings`, keeping values that `explicit_flags`
// says were set on the command line. InvalidArgument "path:line: message" for
// unknown keys, wrong types or a bad duration.
Status LoadControllerConfig(const std::string& path, const std::string& yaml_text,
                            ControllerSettings& settings,
                            const std::vector<std::string>& explicit_flags);

}  // namespace sluice::cli
