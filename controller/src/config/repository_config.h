#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "core/result.h"

namespace sluice::config {

// Reads a file of the environments repository by repository path ("a/b.yaml").
// Returns NotFound when absent; other errors as IOError. Implementations read
// a working tree (validate) or a Git commit (the controller).
using FileReader = std::function<Result<std::string>(const std::string& path)>;

// Lists the entries (names, not paths) of a directory of the repository, or
// NotFound if it does not exist.
using DirLister = std::function<Result<std::vector<std::string>>(const std::string& dir)>;

// Everything `sluice validate` checks, for a whole repository snapshot:
// sluice.yaml; for each pipeline environment its environment.yaml and every
// pin under apps/; cross-file rules (pipeline names have a directory;
// `upstream` is in the pipeline and earlier; approval groups exist in
// sluice.yaml; environment directories not in the pipeline are reported).
struct ValidationReport {
  std::optional<RepoSettings> settings;
  std::map<std::string, EnvironmentPolicy> policies;  // by env
  std::vector<Pin> pins;                              // all pins that parsed
  Diagnostics problems;                               // every problem found
};

ValidationReport ValidateRepository(const FileReader& read, const DirLister& list);

// Repository paths of the layout (SPEC section 1).
std::string SettingsPath();                                        // "sluice.yaml"
std::string PolicyPath(const std::string& env);                    // environments/<env>/environment.yaml
std::string AppsDir(const std::string& env);                       // environments/<env>/apps
std::string PinPath(const std::string& env, const std::string& app);  // .../apps/<app>.yaml

}  // namespace sluice::config
