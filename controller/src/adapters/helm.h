#pragma once

// The Helm adapter (SPEC section 4): `helm upgrade --install --atomic --wait`
// with the pin's digest set through values, `helm status` / `helm get values`
// / `helm history` with `-o json` to ask what runs. Written against Helm 3
// (3.8 or later: OCI charts without HELM_EXPERIMENTAL_OCI).
//
// Builders and parsers are pure functions tested with strings; HelmAdapter
// runs them through a CommandRunner. Documentation the shapes come from:
//   https://helm.sh/docs/helm/helm_upgrade/
//   https://helm.sh/docs/helm/helm_status/   (cmd/helm/status.go: the release
//     as JSON without its chart: name, info{status, description, ...},
//     config, manifest, version, namespace)
//   https://helm.sh/docs/helm/helm_history/  (cmd/helm/history.go: array of
//     revision, updated, status, chart, app_version, description)
//   https://helm.sh/docs/helm/helm_get_values/ (the user-supplied values)

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "config/pin.h"
#include "core/result.h"
#include "process/runner.h"

namespace sluice::adapters {

enum class HelmMode {
  kApply,   // the real upgrade
  kDryRun,  // the same command with --dry-run: renders and validates, changes nothing
};

// The namespace used for the release: the pin's, or "default" (never the
// kubeconfig's current namespace, so that upgrade and status always look at
// the same place).
std::string HelmNamespace(const config::HelmDeploy& helm);

// SIGTERM -> SIGKILL grace of `helm upgrade`: helm --atomic rolls back.
inline constexpr std::chrono::milliseconds kHelmKillGrace = std::chrono::seconds(30);

// The process timeout of `helm upgrade --atomic --timeout T`: helm waits up
// to T itself and as long again for the rollback, plus min(T, 30 s); 0 for
// T = 0. Pure.
std::chrono::milliseconds HelmUpgradeProcessTimeout(std::chrono::milliseconds helm_timeout);

// Arguments (after the program name) of
//   helm upgrade --install <release> <chart> [--version <v>] --namespace <ns>
//     --atomic --wait --timeout <t> [-f <values>...]
//     --set-string <digestKey>=<digest> [--set-string <repositoryKey>=<image>]
//     [--kube-context <ctx>] [--dry-run]
// Values files are resolved inside req.checkout_dir (ResolveCheckoutPath:
// contained, symlinks followed, must exist) and passed as absolute paths. A
// chart that names a path of the checkout ("charts/api", "./charts/api") is
// passed as its absolute resolved path; one that looks like a path but is not
// contained ("../x", "/x") is rejected; anything else ("oci://...", "repo/name")
// is passed as written. Errors: InvalidArgument (no helm block, escaping path,
// a digestKey/repositoryKey that is not a dotted name of letters, digits, '_'
// and '-'), NotFound (a values file missing from the commit). Reads the
// filesystem, runs nothing.
Result<std::vector<std::string>> BuildHelmUpgradeArgs(const ApplyRequest& req,
                                                      HelmMode mode = HelmMode::kApply);

// helm status <release> --namespace <ns> -o json [--kube-context <ctx>]
std::vector<std::string> BuildHelmStatusArgs(const config::HelmDeploy& helm);
// helm get values <release> --namespace <ns> -o json [--kube-context <ctx>]
std::vector<std::string> BuildHelmGetValuesArgs(const config::HelmDeploy& helm);
// helm history <release> --namespace <ns> -o json --max <max> [--kube-context <ctx>]
std::vector<std::string> BuildHelmHistoryArgs(const config::HelmDeploy& helm, int max);

// What `helm status -o json` (or the table printed by a successful
// `helm upgrade`) says about a release.
struct HelmRelease {
  std::string name;
  std::string namespace_;
  int revision = 0;    // "version" in the JSON, "REVISION:" in the table
  std::string status;  // deployed, failed, pending-upgrade, superseded, ...
  std::string description;
  std::string last_deployed;  // RFC 3339 as helm prints it; may be empty
};

// Parses `helm status -o json`. InvalidArgument for malformed JSON or a
// document without "name" or "info.status".
Result<HelmRelease> ParseHelmStatusJson(std::string_view json);

// Parses the NAME/NAMESPACE/STATUS/REVISION lines that `helm upgrade` prints
// on success (the status table). Missing lines leave fields empty; never fails.
HelmRelease ParseHelmReleaseTable(std::string_view text);

struct HelmRevision {
  int revision = 0;
  std::string updated;
  std::string status;
  std::string chart;  // "<name>-<version>"
  std::string app_version;
  std::string description;
};

// Parses `helm history -o json` (oldest first, as helm prints it).
// InvalidArgument for malformed JSON or a non-array.
Result<std::vector<HelmRevision>> ParseHelmHistoryJson(std::string_view json);

// The digest and repository a release was given, read from the user-supplied
// values (`helm get values -o json`) at the dotted keys `digest_key` and
// `repository_key` ("image.digest" looks up {"image": {"digest": ...}}).
struct HelmValues {
  std::optional<std::string> digest;      // absent, or not a string: nullopt
  std::optional<std::string> repository;  // likewise; nullopt when the key is empty
};

// Parses `helm get values -o json`; "null" (a release without user values)
// gives empty HelmValues. InvalidArgument for malformed JSON.
Result<HelmValues> ParseHelmValuesJson(std::string_view json, std::string_view digest_key,
                                       std::string_view repository_key);

// True if helm's stderr says the release does not exist
// ("Error: release: not found", printed with exit 1 by status, get, history).
bool IsHelmReleaseNotFound(std::string_view stderr_text);

// The Helm adapter. Apply runs one `helm upgrade --install`; it is ok iff
// helm exits 0. The process runs with `base_env` (KUBECONFIG and cloud
// credentials come through SLUICE_PASS_ENV) in the checkout, is killed after
// 2 x timeout + min(timeout, 30s) (helm's own --timeout bounds its wait, and
// --atomic may wait that long again for the rollback), with 30s between
// SIGTERM and SIGKILL so that helm can roll back on cancellation.
// Thread-safe: holds no state but the runner and the environment.
class HelmAdapter final : public Adapter {
 public:
  // `runner` is not owned and must outlive the adapter. `base_env` is every
  // child's environment; "helm" is looked up on its PATH.
  explicit HelmAdapter(process::CommandRunner& runner,
                       std::map<std::string, std::string> base_env = process::BaseEnvironment())
      : runner_(runner), base_env_(std::move(base_env)) {}

  std::string_view Name() const override { return "helm"; }

  // Errors (Status): the pin has no helm block, a values path escapes the
  // repository or is missing (checked before anything runs), helm is not on
  // PATH. A failing, timed-out or cancelled upgrade is an ok Result with
  // ok=false, the exit code and helm's stderr tail.
  Result<ApplyResult> Apply(const ApplyRequest& req) override;

  // The same command with --dry-run: nothing changes in the cluster.
  Result<ApplyResult> Preview(const ApplyRequest& req);

  // kPinDeployed when `helm status` says "deployed" and `helm get values`
  // holds the pin's digest at digestKey (and, when set there, the pin's image
  // at repositoryKey); kOtherDeployed when the release does not exist, is in
  // another state (failed, pending-upgrade, ...) or holds another digest.
  // IOError when helm fails otherwise (cluster unreachable, ...).
  Result<Observed> Observe(const ApplyRequest& req) override;

  // Observe with a detail for the drift record: "helm release api (namespace
  // shop): image.digest sha256:0123456789ab… ≠ pinned sha256:abcdef012345…",
  // "... not found", "... status failed at revision 7 (<description>)".
  // Runs `helm status` and `helm get values` (BuildHelmStatusArgs,
  // BuildHelmGetValuesArgs), nothing else.
  Result<Observation> Inspect(const ApplyRequest& req) override;

  // The last `max` revisions of the release (oldest first); empty when the
  // release does not exist. IOError when helm fails otherwise.
  Result<std::vector<HelmRevision>> History(const ApplyRequest& req, int max = 10);

 private:
  Result<ApplyResult> Upgrade(const ApplyRequest& req, HelmMode mode);
  Result<process::ProcessResult> Query(const ApplyRequest& req, std::vector<std::string> args);

  process::CommandRunner& runner_;
  const std::map<std::string, std::string> base_env_;
};

}  // namespace sluice::adapters
