#include "adapters/terraform.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "adapters/exec.h"
#include "core/json_dump.h"
#include "core/text.h"

namespace sluice::adapters {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr size_t kTailLines = 20;
constexpr size_t kMaxListedAddresses = 10;
// `show -json` prints the whole plan on one line; it is parsed, not shown.
constexpr size_t kShowOutputCap = 64 * 1024 * 1024;
constexpr milliseconds kKillGrace = kTerraformKillGrace;
constexpr milliseconds kMaxLockTimeout = std::chrono::minutes(5);
constexpr char kPlanFileName[] = "sluice.tfplan";

std::string PinPath(const ApplyRequest& req) {
  return "environments/" + req.env + "/apps/" + req.app + ".yaml";
}

Result<const config::TerraformDeploy*> TerraformBlock(const ApplyRequest& req) {
  if (req.pin == nullptr) return Status::InvalidArgument("terraform apply without a pin");
  if (!req.pin->deploy.terraform.has_value()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.terraform is missing");
  }
  return &*req.pin->deploy.terraform;
}

std::map<std::string, std::string> TerraformEnvironment(std::map<std::string, std::string> env) {
  // TF_WORKSPACE overrides the selected workspace and TF_CLI_ARGS* add
  // arguments to every command: either would make the run differ from what
  // the pin says.
  std::erase_if(env, [](const auto& kv) {
    return kv.first == "TF_WORKSPACE" || kv.first.rfind("TF_CLI_ARGS", 0) == 0;
  });
  env["TF_IN_AUTOMATION"] = "1";
  env["TF_INPUT"] = "0";
  return env;
}

bool Failed(const process::ProcessResult& run) {
  return run.exit_code != 0 || run.timed_out || run.cancelled;
}

// Runs the steps of one apply or observe, in `cwd`, all bounded together by
// one deadline.
class Sequence {
 public:
  Sequence(process::CommandRunner& runner, const ApplyRequest& req, std::string program,
           std::map<std::string, std::string> env, std::string cwd, milliseconds timeout)
      : runner_(runner),
        req_(req),
        program_(std::move(program)),
        env_(std::move(env)),
        cwd_(std::move(cwd)),
        start_(steady_clock::now()),
        timeout_(timeout) {}

  // Runs one step. A step that has no time left is not started and comes
  // back timed out. Errors: the runner's (program missing, pipes).
  Result<process::ProcessResult> Step(const std::vector<std::string>& args, bool stream,
                                      size_t output_cap = 64 * 1024) {
    process::ProcessSpec spec;
    spec.repository_code = true;  // runs as runAs when configured
    spec.argv.push_back(program_);
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env_;
    spec.cwd = cwd_;
    spec.kill_grace = kKillGrace;
    spec.output_cap = output_cap;
    if (stream) spec.on_line = req_.log;
    if (timeout_.count() > 0) {
      auto left = std::chrono::duration_cast<milliseconds>(start_ + timeout_ - steady_clock::now());
      if (left.count() <= 0) {
        process::ProcessResult none;
        none.timed_out = true;
        return none;
      }
      spec.timeout = left;
    } else {
      spec.timeout = milliseconds(0);
    }
    return runner_.Run(spec, req_.cancel);
  }

  milliseconds Elapsed() const {
    return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start_);
  }

 private:
  process::CommandRunner& runner_;
  const ApplyRequest& req_;
  const std::string program_;
  const std::map<std::string, std::string> env_;
  const std::string cwd_;
  const steady_clock::time_point start_;
  const milliseconds timeout_;
};

// Deletes the plan file (it may hold sensitive values) when it goes out of scope.
class PlanFileGuard {
 public:
  explicit PlanFileGuard(std::string path) : path_(std::move(path)) { Remove(); }
  ~PlanFileGuard() { Remove(); }
  PlanFileGuard(const PlanFileGuard&) = delete;
  PlanFileGuard& operator=(const PlanFileGuard&) = delete;

 private:
  void Remove() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  std::string path_;
};

// The member `key` of `obj`, or nullptr (also when `obj` is not an object).
const json* Member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// The major version of "1.2"; -1 if it is not a version.
int MajorVersion(std::string_view v) {
  int major = -1;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
  if (ec != std::errc() || (end != v.data() + v.size() && *end != '.')) return -1;
  return major;
}

}  // namespace

std::string TerraformWorkspace(const ApplyRequest& req) {
  if (req.pin != nullptr && req.pin->deploy.terraform.has_value() &&
      !req.pin->deploy.terraform->workspace.empty()) {
    return req.pin->deploy.terraform->workspace;
  }
  return req.env;
}

Result<std::string> ResolveTerraformDir(const ApplyRequest& req) {
  Result<const config::TerraformDeploy*> tf = TerraformBlock(req);
  if (!tf.ok()) return tf.status();
  std::string what = PinPath(req) + ": deploy.terraform.dir";
  Result<std::string> dir = ResolveCheckoutPath(req.checkout_dir, (*tf)->dir, what);
  if (!dir.ok()) return dir.status();
  std::error_code ec;
  if (!fs::is_directory(*dir, ec)) {
    return Status::InvalidArgument(what + " \"" + (*tf)->dir + "\" is not a directory");
  }
  return dir;
}

milliseconds TerraformLockTimeout(milliseconds timeout) {
  if (timeout.count() <= 0) return kMaxLockTimeout;
  return std::min(timeout / 2, kMaxLockTimeout);
}

std::vector<std::string> BuildTerraformInitArgs() { return {"init", "-input=false", "-no-color"}; }

std::vector<std::string> BuildTerraformWorkspaceSelectArgs(const std::string& workspace) {
  return {"workspace", "select", workspace};
}

std::vector<std::string> BuildTerraformWorkspaceNewArgs(const std::string& workspace) {
  return {"workspace", "new", workspace};
}

Result<std::vector<std::string>> BuildTerraformVarArgs(const ApplyRequest& req) {
  Result<const config::TerraformDeploy*> tf = TerraformBlock(req);
  if (!tf.ok()) return tf.status();
  std::map<std::string, std::string> values =
      PinPlaceholders(*req.pin, req.env, req.app, req.commit);
  std::vector<std::string> args;
  for (const auto& [name, raw] : (*tf)->vars) {
    Result<std::string> value = SubstitutePlaceholders(raw, values);
    if (!value.ok()) {
      return value.status().WithContext(PinPath(req) + ": deploy.terraform.vars." + name);
    }
    args.push_back("-var");
    args.push_back(name + "=" + *value);
  }
  if (std::optional<int> weight = CanaryWeight(req)) {
    args.push_back("-var");
    args.push_back(config::TerraformWeightVar(req.pin->deploy.strategy.weight_value) + "=" +
                   std::to_string(*weight));
  }
  return args;
}

Result<std::vector<std::string>> BuildTerraformPlanArgs(const ApplyRequest& req,
                                                        const std::string& plan_file) {
  Result<const config::TerraformDeploy*> tf = TerraformBlock(req);
  if (!tf.ok()) return tf.status();
  Result<std::vector<std::string>> vars = BuildTerraformVarArgs(req);
  if (!vars.ok()) return vars.status();
  std::vector<std::string> args = {
      "plan", "-input=false", "-no-color",
      "-lock-timeout=" + GoDuration(TerraformLockTimeout((*tf)->timeout))};
  if (!plan_file.empty()) args.push_back("-out=" + plan_file);
  args.push_back("-detailed-exitcode");
  args.insert(args.end(), vars->begin(), vars->end());
  return args;
}

std::vector<std::string> BuildTerraformShowArgs(const std::string& plan_file) {
  return {"show", "-json", plan_file};
}

std::vector<std::string> BuildTerraformApplyArgs(const config::TerraformDeploy& tf,
                                                 const std::string& plan_file) {
  return {"apply", "-input=false", "-no-color",
          "-lock-timeout=" + GoDuration(TerraformLockTimeout(tf.timeout)), plan_file};
}

Result<TerraformPlanSummary> ParseTerraformPlanJson(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("plan JSON: not a JSON object");
  }
  auto version = doc.find("format_version");
  if (version == doc.end() || !version->is_string()) {
    return Status::InvalidArgument("plan JSON: no format_version");
  }
  // Minor versions only add properties; a new major version may change what
  // the existing ones mean (JSON Output Format, "format_version").
  int major = MajorVersion(version->get<std::string>());
  if (major < 0 || major > 1) {
    return Status::InvalidArgument("plan JSON: unsupported format_version \"" +
                                   version->get<std::string>() +
                                   "\" (this build reads 0.x and 1.x)");
  }
  TerraformPlanSummary plan;
  auto changes = doc.find("resource_changes");
  if (changes == doc.end() || changes->is_null()) return plan;
  if (!changes->is_array())
    return Status::InvalidArgument("plan JSON: resource_changes is not an array");
  for (const json& rc : *changes) {
    const json* address = Member(rc, "address");
    if (address == nullptr || !address->is_string()) {
      return Status::InvalidArgument("plan JSON: a resource change has no address");
    }
    std::string addr = address->get<std::string>();
    const json* change = Member(rc, "change");
    const json* actions = change == nullptr ? nullptr : Member(*change, "actions");
    if (actions == nullptr || !actions->is_array()) {
      return Status::InvalidArgument("plan JSON: " + addr + " has no change.actions");
    }
    bool create = false, destroy = false;
    for (const json& a : *actions) {
      std::string action = a.is_string() ? a.get<std::string>() : DumpJson(a);
      if (action == "create") {
        create = true;
      } else if (action == "delete") {
        destroy = true;
      } else if (action == "update") {
        ++plan.changes;
      } else if (action != "no-op" && action != "read" && action != "forget") {
        plan.unknown.push_back(addr + ": " + action);
      }
    }
    if (create) ++plan.adds;
    if (destroy) {
      ++plan.destroys;
      plan.destroyed.push_back(addr);
      if (create) plan.replaced.push_back(addr);
    }
  }
  return plan;
}

std::string DescribeTerraformPlan(const TerraformPlanSummary& plan) {
  std::string out = std::to_string(plan.adds) + " to add, " + std::to_string(plan.changes) +
                    " to change, " + std::to_string(plan.destroys) + " to destroy";
  if (!plan.destroyed.empty()) {
    out += " (destroys: ";
    for (size_t i = 0; i < plan.destroyed.size() && i < kMaxListedAddresses; ++i) {
      if (i > 0) out += ", ";
      out += plan.destroyed[i];
      if (std::find(plan.replaced.begin(), plan.replaced.end(), plan.destroyed[i]) !=
          plan.replaced.end()) {
        out += " [replaced]";
      }
    }
    if (plan.destroyed.size() > kMaxListedAddresses) {
      out += " and " + std::to_string(plan.destroyed.size() - kMaxListedAddresses) + " more";
    }
    out += ")";
  }
  if (!plan.unknown.empty()) {
    out += "; unknown actions: ";
    for (size_t i = 0; i < plan.unknown.size() && i < kMaxListedAddresses; ++i) {
      out += (i > 0 ? ", " : "") + plan.unknown[i];
    }
  }
  return out;
}

bool IsTerraformWorkspaceMissing(std::string_view stderr_text) {
  return stderr_text.find("doesn't exist") != std::string_view::npos;
}

namespace {

// Everything checked before the first process starts.
struct Prepared {
  const config::TerraformDeploy* tf = nullptr;
  std::string dir;
  std::string workspace;
  std::string program;
};

Result<Prepared> Prepare(const ApplyRequest& req, const std::map<std::string, std::string>& env) {
  Prepared p;
  Result<const config::TerraformDeploy*> tf = TerraformBlock(req);
  if (!tf.ok()) return tf.status();
  p.tf = *tf;
  Result<std::string> dir = ResolveTerraformDir(req);
  if (!dir.ok()) return dir.status();
  p.dir = *dir;
  p.workspace = TerraformWorkspace(req);
  if (p.workspace.empty() || p.workspace[0] == '-') {
    return Status::InvalidArgument(PinPath(req) + ": deploy.terraform.workspace \"" + p.workspace +
                                   "\" is not a workspace name");
  }
  if (p.tf->binary != "terraform" && p.tf->binary != "tofu") {
    return Status::InvalidArgument(PinPath(req) + ": deploy.terraform.binary \"" + p.tf->binary +
                                   "\" must be terraform or tofu");
  }
  auto path = env.find("PATH");
  Result<std::string> program =
      process::FindOnPath(p.tf->binary, path == env.end() ? std::string() : path->second);
  if (!program.ok()) return program.status().WithContext(PinPath(req) + ": terraform adapter");
  p.program = *program;
  return p;
}

std::string StepName(const Prepared& p, const std::vector<std::string>& args) {
  std::string name = p.tf->binary + " " + args[0];
  if (args[0] == "workspace" && args.size() > 1) name += " " + args[1];
  return name;
}

}  // namespace

Result<ApplyResult> TerraformAdapter::Apply(const ApplyRequest& req) {
  std::map<std::string, std::string> env = TerraformEnvironment(base_env_);
  Result<Prepared> prep = Prepare(req, env);
  if (!prep.ok()) return prep.status();
  const Prepared& p = *prep;
  const std::string plan_file = (fs::path(p.dir) / kPlanFileName).string();
  Result<std::vector<std::string>> plan_args = BuildTerraformPlanArgs(req, plan_file);
  if (!plan_args.ok()) return plan_args.status();

  PlanFileGuard guard(plan_file);
  Sequence seq(runner_, req, p.program, std::move(env), p.dir, p.tf->timeout);
  const std::string ws = "workspace " + p.workspace + ": ";
  ApplyResult result;

  // Fills `result` from the last step run; `ok` only when it succeeded.
  auto finish = [&](const process::ProcessResult& run, const std::string& step, bool ok,
                    const std::string& success_summary) {
    result.ok = ok;
    result.exit_code = run.exit_code;
    result.timed_out = run.timed_out;
    result.cancelled = run.cancelled;
    result.duration = seq.Elapsed();
    const std::string& primary = ok ? run.stdout_tail : run.stderr_tail;
    const std::string& secondary = ok ? run.stderr_tail : run.stdout_tail;
    result.output_tail = internal::TailLines(primary.empty() ? secondary : primary, kTailLines);
    if (ok) {
      result.summary = ws + success_summary;
    } else if (run.timed_out) {
      result.summary = ws + "timed out during " + step + " after " +
                       internal::Elapsed(result.duration) + " (timeout " +
                       GoDuration(p.tf->timeout) + "), killed";
    } else if (run.cancelled) {
      result.summary = ws + "cancelled during " + step + " after " +
                       internal::Elapsed(result.duration) + ", killed";
    } else {
      result.summary = ws + step + " failed: exit " + std::to_string(run.exit_code) + " in " +
                       internal::Elapsed(run.duration);
      std::string last = internal::LastLine(run.stderr_tail);
      if (last.empty()) last = internal::LastLine(run.stdout_tail);
      if (!last.empty()) result.summary += ": " + last;
    }
    return result;
  };
  auto run_step = [&](const std::vector<std::string>& args, bool stream,
                      size_t cap = 64 * 1024) -> Result<process::ProcessResult> {
    Result<process::ProcessResult> run = seq.Step(args, stream, cap);
    if (!run.ok())
      return run.status().WithContext(StepName(p, args) + " in " + req.env + "/" + req.app);
    return run;
  };

  std::vector<std::string> init_args = BuildTerraformInitArgs();
  Result<process::ProcessResult> init = run_step(init_args, true);
  if (!init.ok()) return init.status();
  if (Failed(*init)) return finish(*init, StepName(p, init_args), false, "");

  std::vector<std::string> select_args = BuildTerraformWorkspaceSelectArgs(p.workspace);
  Result<process::ProcessResult> select = run_step(select_args, true);
  if (!select.ok()) return select.status();
  if (Failed(*select)) {
    if (select->timed_out || select->cancelled ||
        !IsTerraformWorkspaceMissing(select->stderr_tail)) {
      return finish(*select, StepName(p, select_args), false, "");
    }
    std::vector<std::string> new_args = BuildTerraformWorkspaceNewArgs(p.workspace);
    Result<process::ProcessResult> created = run_step(new_args, true);
    if (!created.ok()) return created.status();
    if (Failed(*created)) return finish(*created, StepName(p, new_args), false, "");
  }

  Result<process::ProcessResult> plan = run_step(*plan_args, true);
  if (!plan.ok()) return plan.status();
  const std::string plan_step = StepName(p, *plan_args);
  if (plan->timed_out || plan->cancelled || (plan->exit_code != 0 && plan->exit_code != 2)) {
    return finish(*plan, plan_step, false, "");
  }
  if (plan->exit_code == 0) {
    return finish(
        *plan, plan_step, true,
        "no changes, nothing applied (plan exit 0 in " + internal::Elapsed(seq.Elapsed()) + ")");
  }

  std::vector<std::string> show_args = BuildTerraformShowArgs(plan_file);
  Result<process::ProcessResult> show = run_step(show_args, false, kShowOutputCap);
  if (!show.ok()) return show.status();
  if (Failed(*show)) return finish(*show, StepName(p, show_args), false, "");
  Result<TerraformPlanSummary> summary =
      show->stdout_truncated ? Result<TerraformPlanSummary>(Status::InvalidArgument(
                                   "plan JSON larger than " + std::to_string(kShowOutputCap)))
                             : ParseTerraformPlanJson(show->stdout_tail);
  if (!summary.ok()) {
    // Never apply a plan whose destroys could not be read.
    finish(*show, StepName(p, show_args), false, "");
    result.ok = false;
    result.summary =
        ws + "cannot read the plan (" + summary.status().message() + "), nothing applied";
    return result;
  }
  std::string described = DescribeTerraformPlan(*summary);
  if (req.log) req.log("sluice: plan: " + described, false);

  std::vector<std::string> apply_args = BuildTerraformApplyArgs(*p.tf, plan_file);
  Result<process::ProcessResult> apply = run_step(apply_args, true);
  if (!apply.ok()) return apply.status();
  if (Failed(*apply)) {
    finish(*apply, StepName(p, apply_args), false, "");
    result.summary += " (plan: " + described + ")";
    return result;
  }
  return finish(*apply, StepName(p, apply_args), true,
                "applied " + described + " in " + internal::Elapsed(seq.Elapsed()));
}

std::string TerraformPlanCounts(std::string_view plan_output) {
  std::string found;
  size_t pos = 0;
  while (pos < plan_output.size()) {
    size_t nl = plan_output.find('\n', pos);
    if (nl == std::string_view::npos) nl = plan_output.size();
    std::string_view line = plan_output.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    constexpr std::string_view kPrefix = "Plan: ";
    if (line.substr(0, kPrefix.size()) == kPrefix) {
      line.remove_prefix(kPrefix.size());
      if (!line.empty() && line.back() == '.') line.remove_suffix(1);
      found = std::string(TruncateUtf8(line, 200));
    } else if (found.empty() && line == "Changes to Outputs:") {
      found = "changes to outputs only";
    }
    pos = nl + 1;
  }
  return found;
}

Result<Observed> TerraformAdapter::Observe(const ApplyRequest& req) {
  Result<Observation> o = Inspect(req);
  if (!o.ok()) return o.status();
  return o->state;
}

Result<Observation> TerraformAdapter::Inspect(const ApplyRequest& req) {
  std::map<std::string, std::string> env = TerraformEnvironment(base_env_);
  Result<Prepared> prep = Prepare(req, env);
  if (!prep.ok()) return prep.status();
  const Prepared& p = *prep;
  Result<std::vector<std::string>> plan_args = BuildTerraformPlanArgs(req, "");
  if (!plan_args.ok()) return plan_args.status();
  Sequence seq(runner_, req, p.program, std::move(env), p.dir, p.tf->timeout);
  Observation o;

  auto error = [&](const std::string& step, const process::ProcessResult& run) {
    if (run.timed_out) {
      return Status::Timeout(step + " timed out (timeout " + GoDuration(p.tf->timeout) + ")");
    }
    if (run.cancelled) return Status::Cancelled(step + " cancelled");
    std::string last = internal::LastLine(run.stderr_tail);
    return Status::IOError(step + ": exit " + std::to_string(run.exit_code) +
                           (last.empty() ? "" : ": " + last));
  };
  auto finish = [&](const process::ProcessResult& run, Observed state, std::string detail) {
    o.state = state;
    o.detail = std::move(detail);
    o.exit_code = run.exit_code;
    o.duration = seq.Elapsed();
    return o;
  };

  std::vector<std::string> init_args = BuildTerraformInitArgs();
  Result<process::ProcessResult> init = seq.Step(init_args, true);
  if (!init.ok()) return init.status();
  if (Failed(*init)) return error(StepName(p, init_args), *init);

  std::vector<std::string> select_args = BuildTerraformWorkspaceSelectArgs(p.workspace);
  Result<process::ProcessResult> select = seq.Step(select_args, true);
  if (!select.ok()) return select.status();
  if (Failed(*select)) {
    // Nothing was ever applied in a workspace that does not exist; observing
    // must not create it.
    if (!select->timed_out && !select->cancelled &&
        IsTerraformWorkspaceMissing(select->stderr_tail)) {
      return finish(*select, Observed::kOtherDeployed,
                    p.tf->binary + " workspace " + p.workspace + " does not exist");
    }
    return error(StepName(p, select_args), *select);
  }

  Result<process::ProcessResult> plan = seq.Step(*plan_args, true);
  if (!plan.ok()) return plan.status();
  if (!plan->timed_out && !plan->cancelled) {
    if (plan->exit_code == 0) return finish(*plan, Observed::kPinDeployed, "");
    if (plan->exit_code == 2) {
      std::string counts = TerraformPlanCounts(plan->stdout_tail);
      return finish(*plan, Observed::kOtherDeployed,
                    p.tf->binary + " plan (workspace " + p.workspace +
                        "): " + (counts.empty() ? "changes pending (exit 2)" : counts));
    }
  }
  return error(StepName(p, *plan_args), *plan);
}

}  // namespace sluice::adapters
