#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "record/workspace.h"

namespace sluice::cli {

// Flags shared by the commands that read the environments repository
// (SPEC section 7): --repo, --branch, --workdir, --format, --log-level.
struct CommonOptions {
  std::string repo;
  std::string branch = "main";
  std::string workdir;
  std::string format = "text";
  std::string log_level = "info";
  // Record signing keys (--signing-key, --controller-keys; trust_config.h).
  record::TrustOptions trust;
};

// Adds the common flags to `cmd`. `with_format` adds --format text|json.
void AddCommonOptions(CLI::App& cmd, CommonOptions& opts, bool with_format);

// Sets spdlog's level and sends logs to stderr ("off" silences them).
void ConfigureLogging(const std::string& level);

// Opens the workspace of opts.repo (default workdir when none given).
// InvalidArgument when --repo is missing.
Result<std::unique_ptr<record::Workspace>> OpenWorkspace(const CommonOptions& opts);

// OpenWorkspace, then a fetch of the branch and the record without pushing:
// what every read-only command (status, audit, release notes, incident
// report) starts from.
Result<std::unique_ptr<record::Workspace>> OpenSyncedWorkspace(const CommonOptions& opts);

// Parses --since/--until (reports::ParseAuditTime: RFC 3339, or YYYY-MM-DD) into
// the slots; an empty text leaves its slot unset. InvalidArgument naming the
// bad value (a usage error).
Status ParseTimeRange(const std::string& since, const std::string& until,
                      std::optional<TimePoint>* since_out, std::optional<TimePoint>* until_out);

// The whole text of the template file `path` (a --template flag); IOError
// naming the file when it cannot be read.
Result<std::string> ReadTemplateFile(const std::string& path);

// For the commands that write the record (reconcile, controller): OK when
// --repo is a URL or a bare repository; InvalidArgument saying what to run
// instead when it is a working clone (a directory with a .git), into which
// libgit2 cannot push.
Status CheckRecordCanBePushed(const CommonOptions& opts);

// The workdir a command uses: --workdir, or DefaultWorkdir(--repo);
// InvalidArgument when --repo is missing.
Result<std::string> WorkdirOf(const CommonOptions& opts);

// An exclusive lock on <workdir>/lock held for the object's lifetime, so that
// two controllers never reconcile from one workdir at once. Acquire creates
// the workdir if needed. Once it holds the lock, no other process of ours
// writes the workdir's repositories: it removes what a killed one left in
// them (git::RemoveStaleFiles on cache.git and negotiate.git: lock files,
// half-written packs) and logs each at warn. Take it before the workspace is
// opened. Errors: FailedPrecondition when another process holds the lock;
// IOError when the workdir cannot be created or a stale file not removed.
class WorkdirLock {
 public:
  static Result<std::unique_ptr<WorkdirLock>> Acquire(const std::string& workdir);
  // Acquire on the workdir of `opts` (WorkdirOf).
  static Result<std::unique_ptr<WorkdirLock>> Acquire(const CommonOptions& opts);
  ~WorkdirLock();
  WorkdirLock(const WorkdirLock&) = delete;
  WorkdirLock& operator=(const WorkdirLock&) = delete;

 private:
  explicit WorkdirLock(int fd) : fd_(fd) {}
  int fd_;
};

// The template a document command renders: `repo_path` at the head of the
// tracked branch in the (synced) workspace when the environments repository
// has it, else `embedded`. Logs which one at debug level.
std::string RepositoryTemplate(record::Workspace& ws, const std::string& repo_path,
                               std::string_view embedded);

// Prints "sluice: <message>" to stderr.
void PrintError(const std::string& message);

// Prints why the workspace of `opts` could not be opened (`s`) and returns
// the exit code: 2 (usage) when --repo was not given, 1 otherwise.
int WorkspaceFailure(const CommonOptions& opts, const Status& s);

}  // namespace sluice::cli
