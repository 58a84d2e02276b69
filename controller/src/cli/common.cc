#include "cli/common.h"

#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/app.h"
#include "git/stale_files.h"
#include "reports/audit.h"
#include "reports/markdown_template.h"

namespace sluice::cli {

void AddCommonOptions(CLI::App& cmd, CommonOptions& opts, bool with_format) {
  cmd.add_option("--repo", opts.repo,
                 "The environments repository: a URL libgit2 can fetch (file://, git://, "
                 "http(s)://, ssh://) or a local clone's path");
  cmd.add_option("--branch", opts.branch, "The tracked branch")->capture_default_str();
  cmd.add_option("--workdir", opts.workdir,
                 "The controller's own clone and cache (default: ~/.cache/sluice/<repo>)");
  if (with_format) {
    cmd.add_option("--format", opts.format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
  }
  cmd.add_option("--log-level", opts.log_level, "Log detail on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

void ConfigureLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("sluice");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

Result<std::unique_ptr<record::Workspace>> OpenWorkspace(const CommonOptions& opts) {
  auto workdir = WorkdirOf(opts);
  if (!workdir.ok()) return workdir.status();
  return record::Workspace::Open(*workdir, opts.repo, opts.branch, opts.trust);
}

Result<std::string> WorkdirOf(const CommonOptions& opts) {
  if (opts.repo.empty()) {
    return Status::InvalidArgument(
        "--repo is required: the environments repository URL or path (e.g. --repo "
        "git://git.example.com/environments or --repo ./environments)");
  }
  return opts.workdir.empty() ? record::DefaultWorkdir(opts.repo) : opts.workdir;
}

int WorkspaceFailure(const CommonOptions& opts, const Status& s) {
  PrintError(s.message());
  return opts.repo.empty() ? kExitUsage : kExitError;
}

namespace {
// The path of --repo when it names a working clone (a directory with a
// .git), else nullopt.
std::optional<std::string> WorkingClone(const CommonOptions& opts) {
  std::string path = opts.repo;
  if (path.rfind("file://", 0) == 0) {
    path = path.substr(strlen("file://"));
  } else if (path.find("://") != std::string::npos) {
    return std::nullopt;
  }
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(std::filesystem::path(path) / ".git", ec)) {
    return std::nullopt;
  }
  return path;
}
}  // namespace

Status CheckRecordCanBePushed(const CommonOptions& opts) {
  auto clone = WorkingClone(opts);
  if (!clone) return Status::Ok();
  const std::string& path = *clone;
  return Status::InvalidArgument(
      "--repo " + opts.repo +
      " is a working clone: the controller pushes its record (refs/notes/sluice, "
      "refs/sluice/*) to the repository it reads, and cannot push into a checked-out one. "
      "Point --repo at the repository the clone came from (git -C " +
      path + " remote get-url origin), or at a bare copy: git clone --bare " + path + " " + path +
      ".git, then --repo " + path +
      ".git. Read-only commands (status, plan, audit) take the clone as it is");
}

Result<std::unique_ptr<record::Workspace>> OpenSyncedWorkspace(const CommonOptions& opts) {
  auto ws = OpenWorkspace(opts);
  if (!ws.ok()) return ws.status();
  SLUICE_RETURN_IF_ERROR((*ws)->Sync(/*push=*/false));
  // A working clone holds the record as of its last fetch of the record's
  // refs, which a plain `git fetch` or `git pull` does not bring.
  if (auto clone = WorkingClone(opts)) {
    std::cerr << "sluice: note: reading the record from the working clone " << *clone
              << ": it is as fresh as that clone's last git fetch origin "
                 "'refs/notes/*:refs/notes/*' '+refs/sluice/*:refs/sluice/*' (a plain fetch or "
                 "pull does not bring it); for the live record, give --repo the URL of origin\n";
  }
  // A reader in a workdir of its own trusts only that workdir's key: the
  // controller's record would be left out without a word, and every report
  // would read as empty. Say so, and what to pass.
  if (size_t n = (*ws)->UntrustedCount(); n > 0) {
    std::cerr << "sluice: warning: " << n << " record " << (n == 1 ? "entry is" : "entries are")
              << " not signed by a key this command trusts and left out of what it reports";
    if (opts.trust.controller_keys_file.empty()) {
      std::cerr << ": pass --controller-keys FILE with the controller's public key (its log "
                   "prints it at start, \"its public half\"; <workdir>/controller-key.pub on "
                   "its host), or trust.controllerKeys in --config";
    } else {
      std::cerr << " (see `sluice audit`, \"Untrusted record entries\")";
    }
    std::cerr << "\n";
  }
  return std::move(*ws);
}

Status ParseTimeRange(const std::string& since, const std::string& until,
                      std::optional<TimePoint>* since_out, std::optional<TimePoint>* until_out) {
  for (auto [text, slot] : {std::pair{&since, since_out}, std::pair{&until, until_out}}) {
    if (text->empty()) continue;
    auto t = reports::ParseAuditTime(*text);
    if (!t.ok()) return t.status();
    *slot = *t;
  }
  return Status::Ok();
}

Result<std::string> ReadTemplateFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return Status::IOError("cannot read template " + path);
  return text.str();
}

Result<std::unique_ptr<WorkdirLock>> WorkdirLock::Acquire(const CommonOptions& opts) {
  auto workdir = WorkdirOf(opts);
  if (!workdir.ok()) return workdir.status();
  return Acquire(*workdir);
}

Result<std::unique_ptr<WorkdirLock>> WorkdirLock::Acquire(const std::string& workdir) {
  std::error_code ec;
  std::filesystem::create_directories(workdir, ec);
  if (ec) return Status::IOError("cannot create workdir " + workdir + ": " + ec.message());
  std::string path = workdir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open " + path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::FailedPrecondition("another sluice process is reconciling from workdir " +
                                      workdir + " (lock " + path +
                                      " is held); stop it or use another --workdir");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) (void)!write(fd, pid.data(), pid.size());
  auto lock = std::unique_ptr<WorkdirLock>(new WorkdirLock(fd));
  // A process of ours killed mid-fetch or mid-push (kill -9, OOM, power)
  // leaves lock files that would fail every later pass; we hold the lock, so
  // nothing of ours is writing them now.
  for (const char* repo : {"cache.git", "negotiate.git"}) {
    auto removed = git::RemoveStaleFiles(workdir + "/" + repo);
    if (!removed.ok()) return removed.status();
    for (const auto& f : *removed) {
      spdlog::warn("removed {}/{}/{}, left by a sluice process that did not finish", workdir, repo,
                   f);
    }
  }
  return lock;
}

WorkdirLock::~WorkdirLock() { ::close(fd_); }

std::string RepositoryTemplate(record::Workspace& ws, const std::string& repo_path,
                               std::string_view embedded) {
  std::lock_guard lock(ws.mutex());
  std::string head;
  if (auto h = ws.repo().ResolveRef("refs/remotes/origin/" + ws.branch()); h.ok()) head = *h;
  std::string origin;
  std::string text = reports::TemplateFromRepository(ws.repo(), head, repo_path, embedded, &origin);
  spdlog::debug("template: {}", origin);
  return text;
}

void PrintError(const std::string& message) { std::cerr << "sluice: " << message << "\n"; }

}  // namespace sluice::cli
