#pragma once

// Internal to the config module: the parsers in a form that keeps going
// after errors and reports where each value was, for ValidateRepository's
// cross-file checks.

#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostic.h"
#include "config/policy.h"
#include "config/settings.h"
#include "config/verification.h"
#include "config/yaml_reader.h"

namespace sluice::config::internal {

// "" if IsContainedPath(path); otherwise a message naming `where`, the
// path, and the reason, ending "paths must be relative to the repository
// root and stay inside it".
std::string PathProblem(const std::string& where, std::string_view path);

// The environment named by a repository path "environments/<env>/...", or
// "" when the path does not have that shape.
std::string EnvFromPath(std::string_view path);

// The line where "X is required" problems of a document's top level go.
int RootLine(const YAML::Node& root);

// Parses a `verification:` block found at `where` (its key on `owner_line`).
// Returns nullopt after reporting on any problem.
std::optional<Verification> ParseVerification(FileDiags& d, const YAML::Node& node,
                                              const std::string& where, int owner_line);

// Like ParseRepoSettings, but fills `out` as far as the file allows even
// when there are problems, and records value lines in `lines` (may be null).
// Returns true when no diagnostic was added.
bool ParseRepoSettingsInto(std::string_view yaml_text, const std::string& path, Diagnostics& diags,
                           RepoSettings& out, LineIndex* lines);

// Like ParseEnvironmentPolicy, with the same best-effort contract.
bool ParseEnvironmentPolicyInto(std::string_view yaml_text, const std::string& path,
                                Diagnostics& diags, EnvironmentPolicy& out, LineIndex* lines);

}  // namespace sluice::config::internal
