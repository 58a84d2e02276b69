#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/pin.h"
#include "core/cancel.h"
#include "core/result.h"
#include "process/runner.h"

namespace sluice::adapters {

// One apply of one pin, in a checkout of the commit being applied.
struct ApplyRequest {
  std::string env;
  std::string app;
  std::string commit;  // 40 hex: the environments-repo commit applied
  const config::Pin* pin = nullptr;
  std::string checkout_dir;  // absolute path of the exported commit tree
  process::LineSink log;     // streamed, redacted output (may be empty)
  CancelToken* cancel = nullptr;
  // deploy.strategy (SPEC 1.4). A canary step's weight (0..100); unset means
  // 100 for a canary pin (a full apply: a rollback, a drift check). Exec:
  // SLUICE_WEIGHT; helm: --set <weightValue>=N; terraform: -var
  // <weightValue with '_' for '.'>=N. Only used when the pin has canary steps.
  std::optional<int> weight;
  // Blue-green: the slot (blue | green) and the action (deploy | switch);
  // exec: SLUICE_SLOT and SLUICE_ACTION.
  std::string slot;
  std::string action;
};

// The canary weight `req` applies: its weight, or 100 when unset; nullopt
// when the pin has no canary steps.
std::optional<int> CanaryWeight(const ApplyRequest& req);

struct ApplyResult {
  bool ok = false;  // the adapter reports the pin applied
  int exit_code = -1;
  bool timed_out = false;
  bool cancelled = false;
  std::chrono::milliseconds duration{0};
  std::string output_tail;  // last lines of output (stderr first when failing), redacted
  std::string summary;      // one line for the record ("exit 0 in 1.2s")
};

// What an adapter can tell about what really runs, used to resolve an apply
// interrupted by a crash and to detect drift.
enum class Observed {
  kUnknown,        // the adapter cannot tell (exec)
  kPinDeployed,    // what runs is the pin's digest
  kOtherDeployed,  // something else runs
};

// Observed, with what a human needs to act on it: for kOtherDeployed a
// one-line `detail` naming what differs ("helm release api: image.digest
// sha256:0123456789ab… ≠ pinned sha256:abcdef012345…", "terraform plan: 1 to
// change"), and the exit code and duration of the deciding command for the
// record.
struct Observation {
  Observed state = Observed::kUnknown;
  std::string detail;                     // empty unless kOtherDeployed; never holds a secret value
  int exit_code = -1;                     // of the last command run; -1 when none ran
  std::chrono::milliseconds duration{0};  // of every command run
};

// Adapter applies a pin through an external tool. Implementations are
// stateless apart from their CommandRunner and thread-safe.
class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view Name() const = 0;

  // Applies the pin. A failed apply is an ok Result with ok=false; an error
  // Status means the adapter could not even start (bad configuration, program
  // not found) and is recorded as a failure with that message.
  virtual Result<ApplyResult> Apply(const ApplyRequest& req) = 0;

  // Asks the tool what runs for (env, app). Default: kUnknown.
  virtual Result<Observed> Observe(const ApplyRequest& req);

  // Observe with a human detail of what differs (drift checks). Runs the
  // same commands as Observe; errors as Observe. Default: Observe() with no
  // detail and no exit code.
  virtual Result<Observation> Inspect(const ApplyRequest& req);
};

// Returns the adapter for `kind`, running processes through `runner`
// (not owned; must outlive the adapter). The helm and terraform adapters
// start their children from BaseEnvironment() and look their program up on
// its PATH. InvalidArgument for an unknown kind.
Result<std::unique_ptr<Adapter>> MakeAdapter(config::AdapterKind kind,
                                             process::CommandRunner& runner);

// How long one apply of `pin` can run at most, the kill grace after its
// timeout included: exec `timeout` + 10 s; helm 2 x `timeout` + min(`timeout`,
// 30 s) (helm --atomic's rollback) + 30 s; terraform `timeout` (the whole
// init/plan/apply sequence) + 60 s. Zero when the adapter's timeout is 0 (no
// bound). High availability: how long a new owner waits before resuming an
// apply another replica may still run (docs/operations.md). Pure.
std::chrono::milliseconds LongestApply(const config::Pin& pin);

// ---------------------------------------------------------------------------
// Helpers shared by the adapters. Pure apart from ResolveCheckoutPath, which
// looks at the filesystem (never runs anything).

// Resolves the repository path `rel` inside the checkout at `checkout_dir`
// (absolute), following symlinks, and returns the canonical absolute path.
// `what` names the pin field in messages ("environments/prod/apps/api.yaml:
// deploy.helm.values[0]"). Errors: InvalidArgument when `rel` is not a
// contained path (config::IsContainedPath: no "..", not absolute) or resolves
// outside the checkout through a symlink; NotFound when it does not exist.
Result<std::string> ResolveCheckoutPath(const std::string& checkout_dir, const std::string& rel,
                                        const std::string& what);

// Resolves argv[0] of a command that lives in the repository (an exec
// deploy, a custom gate): ResolveCheckoutPath's rules, and then it must be a
// regular, executable file. NotFound says "does not exist in commit
// <commit>"; a file without the exec bit says how to fix it in Git.
Result<std::string> ResolveCheckoutProgram(const std::string& checkout_dir, const std::string& rel,
                                           const std::string& what, const std::string& commit);

// A duration as Go's time.ParseDuration reads it, for CLI flags such as
// `helm --timeout` and `terraform -lock-timeout`: "5m", "1h30m", "1s500ms",
// "0s" (never days, which Go does not accept).
std::string GoDuration(std::chrono::milliseconds d);

namespace internal {

// The last `n` lines of `text`, each ending in '\n'.
std::string TailLines(std::string_view text, size_t n);

// The last non-blank line of `text`, trimmed and cut at 200 characters.
std::string LastLine(std::string_view text);

// "0.4s", "12.0s", "2m5s".
std::string Elapsed(std::chrono::milliseconds d);

}  // namespace internal

}  // namespace sluice::adapters
