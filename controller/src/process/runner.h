#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.h"
#include "core/result.h"

namespace sluice::process {

// Receives each line of a child's output as it arrives (without the
// newline), already redacted. Called from the runner's thread.
using LineSink = std::function<void(std::string_view line, bool is_stderr)>;

// What to run. The child gets exactly `env` as its environment (nothing is
// inherited implicitly: use BaseEnvironment() to start from PATH/HOME/LANG),
// runs in `cwd`, in its own process group so that a timeout or cancellation
// kills its children too. Never through a shell.
struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0]: absolute path or a program on env's PATH
  std::map<std::string, std::string> env;
  std::string cwd;         // empty: the controller's cwd
  std::string stdin_data;  // written to the child's stdin, then closed
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};     // <= 0: no timeout
  std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};  // SIGTERM -> SIGKILL
  size_t output_cap = 64 * 1024;     // bytes of each stream's tail kept in the result
  std::vector<std::string> secrets;  // extra strings to redact (values of credentials)
  LineSink on_line;                  // optional streaming of output
  // Runs code or tools on the repository's content (adapters, custom
  // gates): started as the runner's RepositoryCodeUser() when it has one.
  bool repository_code = false;
};

// The account that repository code (adapters, custom gates) runs as when
// the controller's configuration names one (`runAs`), so that a deploy
// script cannot read what the controller's own user can (its secret files,
// its workdir) nor signal it. SPEC 1.3 rule 5.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  std::string home;
};

// The account named `user` (getpwnam_r). InvalidArgument naming it when
// there is none, and when it is root (running as root is no separation).
Result<RunAs> LookUpRunAs(const std::string& user);

// Gives the checkout `dir` (and everything below it) to `user`, and lets it
// reach `dir`: every directory from `dir`'s parent up to `root` gets the
// search bit for others (o+x: enter, not list). IOError naming the path.
Status HandOverTree(const std::string& dir, const std::string& root, const RunAs& user);

struct ProcessResult {
  int exit_code = -1;  // the child's exit status; 128+N when killed by signal N
  bool timed_out = false;
  bool cancelled = false;
  std::chrono::milliseconds duration{0};
  std::string stdout_tail;  // last `output_cap` bytes, redacted
  std::string stderr_tail;  // last `output_cap` bytes, redacted
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

// CommandRunner is the one way Sluice starts processes (exec adapter, helm,
// terraform, command gates, ssh-keygen). Run() returns once the child is
// reaped and no process of its group is left running: on timeout or
// cancellation the group gets SIGTERM, then SIGKILL after `kill_grace`;
// processes still in the group when the child exits (background jobs) are
// killed with SIGKILL. If the controller dies meanwhile (kill -9 included),
// the child and its group die with it: PR_SET_PDEATHSIG (SIGKILL) on the
// child, bound to the thread blocked in Run(), and a guard process per run
// that kills the group when the controller's end of a pipe closes. A
// non-zero exit is not an error: it is in the result.
// Errors: NotFound when argv[0] or the working directory cannot be found or
// executed, InvalidArgument for an empty argv (or a NUL byte in it, or a bad
// environment name), IOError for pipe/fork failures and exceptions from Boost
// or from `on_line` (the child is killed and reaped first).
//
// Thread-safe: Run() may be called concurrently.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual Result<ProcessResult> Run(const ProcessSpec& spec, CancelToken* cancel) = 0;
  // The account repository code runs as (ProcessSpec::repository_code), or
  // nullopt: the controller's own. Callers hand checkouts over to it.
  virtual std::optional<RunAs> RepositoryCodeUser() const { return std::nullopt; }
};

// The real runner, on Boost.Process (Linux). Each Run() uses its own
// io_context on the calling thread; the child's exit is observed with
// waitid(WNOWAIT) so that its group is killed before its pid is released.
// SIGPIPE is blocked on the calling thread during Run(); the child starts
// with default signal dispositions and an empty signal mask.
class BoostCommandRunner final : public CommandRunner {
 public:
  BoostCommandRunner() = default;
  // Repository code (ProcessSpec::repository_code) starts as `run_as`: its
  // groups, gid and uid are set in the child before execve, and HOME, USER
  // and LOGNAME are that account's. Needs a controller running as root.
  explicit BoostCommandRunner(std::optional<RunAs> run_as) : run_as_(std::move(run_as)) {}
  Result<ProcessResult> Run(const ProcessSpec& spec, CancelToken* cancel) override;
  std::optional<RunAs> RepositoryCodeUser() const override { return run_as_; }

 private:
  std::optional<RunAs> run_as_;
};

// PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, USER from the controller's own
// environment (those that are set), plus the variables named in the
// comma-separated SLUICE_PASS_ENV (e.g. "KUBECONFIG,AWS_PROFILE"). The
// starting point of every child's env; nothing else is inherited.
std::map<std::string, std::string> BaseEnvironment();

// Replaces every occurrence of each secret in `text` with "***" (longer
// secrets first). Secrets shorter than 4 characters are left alone to avoid
// redacting noise. The runner redacts with spec.secrets plus
// SecretsFromEnvironment(spec.env) plus every secret the process registered
// (core/secrets.h); a secret spanning several lines is also
// redacted line by line in streamed output.
std::string Redact(std::string_view text, const std::vector<std::string>& secrets);

// Secrets implied by an environment: the values of *_TOKEN, *_PASSWORD,
// *_SECRET, *_KEY variables.
std::vector<std::string> SecretsFromEnvironment(const std::map<std::string, std::string>& env);

// Finds `program` on the colon-separated `path_var`; returns the absolute
// path or NotFound.
Result<std::string> FindOnPath(const std::string& program, const std::string& path_var);

}  // namespace sluice::process
