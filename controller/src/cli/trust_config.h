#pragma once

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/common.h"
#include "core/status.h"

namespace sluice::cli {

// The record-signing part of the controller's own configuration (SPEC 1.3
// rule 4), kept apart from the rest of controller_config so the two evolve
// separately.

// Adds --controller-keys FILE (every command that reads the record) and,
// with `with_signing_key`, --signing-key FILE (the commands that write it:
// reconcile, controller) into opts.trust.
void AddTrustOptions(CLI::App& cmd, CommonOptions& opts, bool with_signing_key);

// The flags AddTrustOptions added that were given on the command line, for
// LoadControllerConfig's `explicit_flags`.
std::vector<std::string> GivenTrustFlags(const CLI::App& cmd);

// Reads the `trust:` mapping of a --config file (keys signingKey,
// controllerKeys: file paths) into opts.trust, keeping what
// `explicit_flags` says was given on the command line. Other keys of
// `trust:` known to another part of the configuration (bootstrap) are left
// to it. InvalidArgument "path:line: message" for an unknown key or a value
// that is not a single string.
Status LoadTrustConfig(const std::string& path, const YAML::Node& trust, CommonOptions& opts,
                       const std::vector<std::string>& explicit_flags);

}  // namespace sluice::cli
