#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/verification.h"

namespace sluice::config {

// The artifact a pin deploys. `digest` is immutable content addressing:
// "sha256:<64 hex>" or "sha512:<128 hex>". The rest is informative.
struct Artifact {
  std::string image;
  std::string digest;
  std::string version;
  std::string source;         // commit sha of the app's source
  std::string promoted_from;  // `promotedFrom:` set by `sluice promote`; informative
};

enum class AdapterKind { kHelm, kTerraform, kExec };

// "helm" | "terraform" | "exec".
std::string_view AdapterName(AdapterKind kind);

struct HelmDeploy {
  std::string release;
  std::string chart;
  std::string version;
  std::string namespace_;
  std::vector<std::string> values;  // repo-relative paths, contained in the repo
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::string digest_key = "image.digest";          // `digestKey:`
  std::string repository_key = "image.repository";  // `repositoryKey:`
  std::string kube_context;                         // `kubeContext:`
};

struct TerraformDeploy {
  std::string dir;                          // repo-relative, contained in the repo
  std::string workspace;                    // default: the environment name
  std::string binary = "terraform";         // terraform | tofu
  std::map<std::string, std::string> vars;  // -var k=v; values may use {{digest}} etc.
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

struct ExecDeploy {
  // argv; command[0] is a repo-relative path (contains '/') or a program on
  // PATH. Arguments may contain {{digest}}, {{image}}, {{version}}, {{env}},
  // {{app}}, {{commit}}, {{source}} placeholders.
  std::vector<std::string> command;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // 1-based line of command[0] in the pin file when it names a repository
  // path (for validate's "not an executable file" problem); 0 otherwise.
  int program_line = 0;
};

// One entry of `deploy.dependsOn`: an app of the same environment that is
// applied (and verified) before this one. `line` is its 1-based line in the
// pin file (0 when unknown), for validate's order problems.
struct Dependency {
  std::string app;
  int line = 0;
};

// One step of `deploy.strategy.canary.steps`: a weight (1..100, the share of
// traffic the new release gets) or a pause. `line` is its 1-based line in the
// pin file (0 when unknown).
struct CanaryStep {
  int weight = 0;                                  // set iff !pause
  std::optional<std::chrono::milliseconds> pause;  // `pause: 5m`
  int line = 0;
};

// The default of `deploy.strategy.canary.weightValue`: helm `--set
// canary.weight=N`, terraform `-var canary_weight=N` ('.' becomes '_').
inline constexpr char kDefaultWeightValue[] = "canary.weight";

enum class StrategyKind { kAllAtOnce, kCanary, kBlueGreen };

// `deploy.strategy` (SPEC 1.4). Absent: the adapter runs once (kAllAtOnce).
struct Strategy {
  StrategyKind kind = StrategyKind::kAllAtOnce;
  // Canary: weights strictly increasing, the last weight step 100, pauses
  // anywhere between them.
  std::vector<CanaryStep> steps;
  std::string weight_value = kDefaultWeightValue;
};

// The terraform variable a canary weight is passed in: `weightValue` with
// every '.' turned into '_' ("canary.weight" -> "canary_weight").
std::string TerraformWeightVar(const std::string& weight_value);

struct Deploy {
  AdapterKind adapter = AdapterKind::kExec;
  // `strategy:` (SPEC 1.4): canary steps or blue-green.
  Strategy strategy;
  // `dependsOn:` (SPEC 1.4): valid app names, none twice, never the app
  // itself. Whether they exist and form no cycle is a check of the whole
  // environment (config/app_order.h).
  std::vector<Dependency> depends_on;
  std::optional<HelmDeploy> helm;            // set iff adapter == kHelm
  std::optional<TerraformDeploy> terraform;  // set iff adapter == kTerraform
  std::optional<ExecDeploy> exec;            // set iff adapter == kExec
};

// environments/<env>/apps/<app>.yaml.
struct Pin {
  std::string env;
  std::string app;
  Artifact artifact;
  Deploy deploy;
  std::optional<Verification> verification;  // overrides the environment's
};

// True if `digest` matches ^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$.
bool IsValidDigest(std::string_view digest);

// True if `path` is relative, non-empty, and never climbs above its start
// (no "..", no leading "/", no backslash tricks, no NUL): it resolves inside
// the repository whatever the checkout location.
bool IsContainedPath(std::string_view path);

// Parses a pin file. `path` is its repository path
// ("environments/prod/apps/api.yaml"), used in diagnostics and to derive
// `env` and `app`. Returns the pin, or nullopt with at least one diagnostic
// appended to `diags`. Unknown keys, a missing or malformed digest (a tag
// such as "latest" is named as a tag), a deploy block that does not match
// its adapter, and paths escaping the repository are all errors.
std::optional<Pin> ParsePin(std::string_view yaml_text, const std::string& path,
                            Diagnostics& diags);

}  // namespace sluice::config
