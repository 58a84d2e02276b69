#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// Whether `path` is an executable regular file of the snapshot (an exec
// deploy's command[0]): Ok; NotFound when absent; InvalidArgument with the
// reason otherwise ("is not executable", "is a directory").
using ProgramChecker = std::function<Status(const std::string& path)>;

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

// Never throws; every problem, including unreadable files, is a diagnostic.
// A missing sluice.yaml is reported at "sluice.yaml" line 0 and the
// environment directories that exist are still checked on their own.
// With `check_program`, an exec deploy's command[0] that names a repository
// path must be an executable file of the snapshot (reported on its line).
ValidationReport ValidateRepository(const FileReader& read, const DirLister& list,
                                    const ProgramChecker& check_program = nullptr);

// A FileReader over a plain directory tree (a working tree) rooted at
// `root`. Paths that are not IsContainedPath, or that resolve outside `root`
// through a symlink, are refused with InvalidArgument; absent files are
// NotFound; directories, unreadable or oversized (> 16 MiB) files are
// IOError. The returned function copies `root` and is thread-safe.
FileReader WorkTreeReader(const std::string& root);

// A DirLister over the same tree: entry names of `dir` (sorted, without "."
// and ".."); "" or "." lists `root` itself. Same refusals as WorkTreeReader;
// NotFound when absent, IOError when `dir` is not a directory.
DirLister WorkTreeLister(const std::string& root);

// A ProgramChecker over the same tree: the file (symlinks followed, never
// outside `root`) must be a regular file with an execute bit.
ProgramChecker WorkTreeProgramChecker(const std::string& root);

// Repository paths of the layout (SPEC section 1).
std::string SettingsPath();                      // "sluice.yaml"
std::string PolicyPath(const std::string& env);  // environments/<env>/environment.yaml
std::string AppsDir(const std::string& env);     // environments/<env>/apps
std::string PinPath(const std::string& env, const std::string& app);  // .../apps/<app>.yaml
// Whether `path` (relative to the repository root) is the pin of an app
// other than `app` in `env`, or of any app in another environment: what an
// adapter's checkout leaves out (docs/adapters.md), so that its cost follows
// what the app reads rather than the size of the fleet.
bool IsOtherAppsPin(std::string_view path, const std::string& env, const std::string& app);

}  // namespace sluice::config
