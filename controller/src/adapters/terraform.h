#pragma once

// The Terraform / OpenTofu adapter (SPEC section 4): in the checkout's
// deploy.terraform.dir, with the pin's binary (terraform | tofu):
//
//   init -input=false -no-color
//   workspace select <ws>            (on "doesn't exist": workspace new <ws>)
//   plan -input=false -no-color -lock-timeout=<t> -out=<plan> -detailed-exitcode -var k=v...
//   show -json <plan>                (only when the plan has changes)
//   apply -input=false -no-color -lock-timeout=<t> <plan>
//
// `workspace select -or-create` exists only from Terraform 1.4, so select and
// new are run separately. `plan -detailed-exitcode` exits 0 for no changes
// (nothing is applied), 2 for changes, 1 for an error. Applying the saved
// plan file applies exactly what was planned and shown, never a re-plan.
// Documentation:
//   https://developer.hashicorp.com/terraform/cli/commands/plan
//   https://developer.hashicorp.com/terraform/cli/commands/apply
//   https://developer.hashicorp.com/terraform/cli/commands/workspace/select
//   https://developer.hashicorp.com/terraform/internals/json-format
//   https://opentofu.org/docs/cli/commands/plan/

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "config/pin.h"
#include "core/result.h"
#include "process/runner.h"

namespace sluice::adapters {

// SIGTERM -> SIGKILL grace of a terraform command: it releases its state
// lock when it stops cleanly.
inline constexpr std::chrono::milliseconds kTerraformKillGrace = std::chrono::seconds(60);

// The workspace of a pin: deploy.terraform.workspace, or the environment
// name when it is empty.
std::string TerraformWorkspace(const ApplyRequest& req);

// The checkout's deploy.terraform.dir, resolved (ResolveCheckoutPath) and
// checked to be a directory. InvalidArgument / NotFound as ResolveCheckoutPath.
Result<std::string> ResolveTerraformDir(const ApplyRequest& req);

// How long terraform waits for the state lock: half the pin's timeout, at
// most 5 minutes, so that a held lock ends in terraform's own "Error
// acquiring the state lock" (naming who holds it) rather than a kill.
std::chrono::milliseconds TerraformLockTimeout(std::chrono::milliseconds timeout);

// {"init", "-input=false", "-no-color"}
std::vector<std::string> BuildTerraformInitArgs();
// {"workspace", "select", ws} / {"workspace", "new", ws}
std::vector<std::string> BuildTerraformWorkspaceSelectArgs(const std::string& workspace);
std::vector<std::string> BuildTerraformWorkspaceNewArgs(const std::string& workspace);

// "-var", "k=v" pairs in key order, values after placeholder substitution
// ({{digest}}, {{image}}, ... as for exec). InvalidArgument for an unknown
// placeholder, naming the variable.
Result<std::vector<std::string>> BuildTerraformVarArgs(const ApplyRequest& req);

// plan -input=false -no-color -lock-timeout=<t> [-out=<plan_file>]
//   -detailed-exitcode -var k=v...
// An empty `plan_file` gives the drift check (no -out). Errors as
// BuildTerraformVarArgs, or InvalidArgument without a terraform block.
Result<std::vector<std::string>> BuildTerraformPlanArgs(const ApplyRequest& req,
                                                        const std::string& plan_file);

// {"show", "-json", plan_file}
std::vector<std::string> BuildTerraformShowArgs(const std::string& plan_file);

// apply -input=false -no-color -lock-timeout=<t> <plan_file>
std::vector<std::string> BuildTerraformApplyArgs(const config::TerraformDeploy& tf,
                                                 const std::string& plan_file);

// What a plan does, from `show -json <plan>` (resource_changes[].change.actions):
// ["create"] adds, ["update"] changes, ["delete"] destroys, a replacement
// (["delete","create"] or ["create","delete"]) adds and destroys, as
// terraform's own "Plan: X to add, Y to change, Z to destroy" counts them.
// "no-op", "read" and "forget" change nothing that exists.
struct TerraformPlanSummary {
  int adds = 0;
  int changes = 0;
  int destroys = 0;
  std::vector<std::string> destroyed;  // addresses of every destroyed object, in plan order
  std::vector<std::string> replaced;   // the subset of `destroyed` that is re-created
  std::vector<std::string> unknown;    // "address: action" for actions this build does not know
};

// Parses the JSON plan representation. InvalidArgument for malformed JSON,
// a missing or unsupported format_version (major version above 1), or a
// resource change without "address" or "change.actions".
Result<TerraformPlanSummary> ParseTerraformPlanJson(std::string_view json);

// "1 to add, 1 to change, 2 to destroy (destroys: a.b, c.d [replaced])",
// at most 10 addresses listed.
std::string DescribeTerraformPlan(const TerraformPlanSummary& plan);

// The counts of terraform's (or tofu's) plan summary line, "Plan: 1 to add,
// 0 to change, 0 to destroy." → "1 to add, 0 to change, 0 to destroy" (the
// last such line; "changes to outputs only" when the plan prints only
// "Changes to Outputs:"); empty when neither is printed. Pure.
std::string TerraformPlanCounts(std::string_view plan_output);

// True if `workspace select`'s stderr says the workspace does not exist
// (`Workspace "x" doesn't exist.`, exit 1).
bool IsTerraformWorkspaceMissing(std::string_view stderr_text);

// The Terraform / OpenTofu adapter. Each run of the sequence above is bounded
// by the pin's timeout as a whole (each step gets what is left); on timeout
// or cancellation the step gets SIGTERM, then SIGKILL after 60s, the time
// terraform needs to stop gracefully and release its state lock. Children
// get `base_env` (state backend credentials come through SLUICE_PASS_ENV)
// plus TF_IN_AUTOMATION=1 and TF_INPUT=0; TF_WORKSPACE and TF_CLI_ARGS* are
// removed, as they would change which workspace or what arguments run. The
// plan file is deleted when Apply returns.
// Thread-safe: holds no state but the runner and the environment.
class TerraformAdapter final : public Adapter {
 public:
  // `runner` is not owned and must outlive the adapter; the binary is looked
  // up on `base_env`'s PATH.
  explicit TerraformAdapter(
      process::CommandRunner& runner,
      std::map<std::string, std::string> base_env = process::BaseEnvironment())
      : runner_(runner), base_env_(std::move(base_env)) {}

  std::string_view Name() const override { return "terraform"; }

  // Errors (Status), before anything runs: no terraform block, dir escaping
  // the repository or missing, unknown placeholder in vars, binary not on
  // PATH. A failing step, timeout or cancellation is an ok Result with
  // ok=false naming the step; a plan without changes is ok and applies nothing.
  Result<ApplyResult> Apply(const ApplyRequest& req) override;

  // init, workspace select, then `plan -detailed-exitcode` with the pin's
  // vars: exit 0 → kPinDeployed; exit 2 (drift) or a workspace that does not
  // exist → kOtherDeployed. IOError when a step fails, Timeout / Cancelled.
  Result<Observed> Observe(const ApplyRequest& req) override;

  // Observe with a detail for the drift record: "terraform plan (workspace
  // prod): 0 to add, 1 to change, 0 to destroy" for exit 2 (the counts of
  // the plan's own summary line), "terraform workspace prod does not exist".
  // Same commands as Observe: init, workspace select, plan without -out.
  Result<Observation> Inspect(const ApplyRequest& req) override;

 private:
  process::CommandRunner& runner_;
  const std::map<std::string, std::string> base_env_;
};

}  // namespace sluice::adapters
