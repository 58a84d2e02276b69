#include "adapters/exec.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/duration.h"

namespace sluice::adapters {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr size_t kTailLines = 20;

std::string PinPath(const ApplyRequest& req) {
  return "environments/" + req.env + "/apps/" + req.app + ".yaml";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::map<std::string, std::string> PinPlaceholders(const config::Pin& pin, const std::string& env,
                                                   const std::string& app,
                                                   const std::string& commit) {
  return {
      {"digest", pin.artifact.digest},
      {"image", pin.artifact.image},
      {"version", pin.artifact.version},
      {"source", pin.artifact.source},
      {"env", env},
      {"app", app},
      {"commit", commit},
  };
}

Result<std::string> SubstitutePlaceholders(const std::string& text,
                                           const std::map<std::string, std::string>& values) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out.append(text, pos, std::string::npos);
      return out;
    }
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return Status::InvalidArgument("unterminated placeholder in \"" + text +
                                     "\" (expected {{name}})");
    }
    std::string name(Trim(std::string_view(text).substr(open + 2, close - open - 2)));
    auto it = values.find(name);
    if (it == values.end()) {
      std::string known;
      for (const auto& [key, value] : values) {
        (void)value;
        known += (known.empty() ? "" : ", ") + ("{{" + key + "}}");
      }
      return Status::InvalidArgument("unknown placeholder {{" + name + "}} in \"" + text +
                                     "\" (known: " + known + ")");
    }
    out.append(text, pos, open - pos);
    out += it->second;  // Inserted verbatim: never scanned again.
    pos = close + 2;
  }
}

Result<process::ProcessSpec> BuildExecProcess(const ApplyRequest& req,
                                              const std::map<std::string, std::string>& base_env) {
  if (req.pin == nullptr) return Status::InvalidArgument("exec apply without a pin");
  const config::Pin& pin = *req.pin;
  if (!pin.deploy.exec.has_value()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.exec is missing");
  }
  const config::ExecDeploy& exec = *pin.deploy.exec;
  if (exec.command.empty() || exec.command[0].empty()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.exec.command is empty");
  }
  if (req.checkout_dir.empty() || req.checkout_dir[0] != '/') {
    return Status::InvalidArgument("exec apply needs an absolute checkout directory, got \"" +
                                   req.checkout_dir + "\"");
  }

  process::ProcessSpec spec;
  spec.repository_code = true;  // runs as runAs when configured
  const std::string& program = exec.command[0];
  if (program.find('/') != std::string::npos) {
    Result<std::string> resolved = ResolveCheckoutProgram(
        req.checkout_dir, program, PinPath(req) + ": deploy.exec.command[0]", req.commit);
    if (!resolved.ok()) return resolved.status();
    spec.argv.push_back(*resolved);
  } else {
    auto path_it = base_env.find("PATH");
    Result<std::string> found =
        process::FindOnPath(program, path_it == base_env.end() ? std::string() : path_it->second);
    if (!found.ok()) return found.status().WithContext(PinPath(req) + ": deploy.exec.command[0]");
    spec.argv.push_back(*found);
  }

  std::map<std::string, std::string> values = PinPlaceholders(pin, req.env, req.app, req.commit);
  for (size_t i = 1; i < exec.command.size(); ++i) {
    Result<std::string> arg = SubstitutePlaceholders(exec.command[i], values);
    if (!arg.ok()) {
      return arg.status().WithContext(PinPath(req) + ": deploy.exec.command[" + std::to_string(i) +
                                      "]");
    }
    spec.argv.push_back(std::move(*arg));
  }

  spec.env = base_env;
  spec.env["SLUICE_ENV"] = req.env;
  spec.env["SLUICE_APP"] = req.app;
  spec.env["SLUICE_IMAGE"] = pin.artifact.image;
  spec.env["SLUICE_DIGEST"] = pin.artifact.digest;
  spec.env["SLUICE_VERSION"] = pin.artifact.version;
  spec.env["SLUICE_COMMIT"] = req.commit;
  if (std::optional<int> weight = CanaryWeight(req)) {
    spec.env["SLUICE_WEIGHT"] = std::to_string(*weight);
  }
  if (!req.slot.empty()) {
    spec.env["SLUICE_SLOT"] = req.slot;
    spec.env["SLUICE_ACTION"] = req.action.empty() ? "deploy" : req.action;
  }
  spec.cwd = req.checkout_dir;
  spec.timeout = exec.timeout;
  spec.on_line = req.log;
  return spec;
}

Result<ApplyResult> ExecAdapter::Apply(const ApplyRequest& req) {
  Result<process::ProcessSpec> spec = BuildExecProcess(req, process::BaseEnvironment());
  if (!spec.ok()) return spec.status();
  Result<process::ProcessResult> run = runner_.Run(*spec, req.cancel);
  if (!run.ok()) return run.status().WithContext("exec apply of " + req.env + "/" + req.app);

  ApplyResult result;
  result.exit_code = run->exit_code;
  result.timed_out = run->timed_out;
  result.cancelled = run->cancelled;
  result.duration = run->duration;
  result.ok = run->exit_code == 0 && !run->timed_out && !run->cancelled;

  // The stream most likely to explain the outcome: stderr when failing.
  const std::string& primary = result.ok ? run->stdout_tail : run->stderr_tail;
  const std::string& secondary = result.ok ? run->stderr_tail : run->stdout_tail;
  result.output_tail = internal::TailLines(primary.empty() ? secondary : primary, kTailLines);

  if (run->timed_out) {
    result.summary = "timed out after " + FormatDuration(spec->timeout) + ", killed";
  } else if (run->cancelled) {
    result.summary = "cancelled after " + internal::Elapsed(run->duration) + ", killed";
  } else {
    result.summary =
        "exit " + std::to_string(run->exit_code) + " in " + internal::Elapsed(run->duration);
    if (!result.ok) {
      std::string last = internal::LastLine(run->stderr_tail);
      if (last.empty()) last = internal::LastLine(run->stdout_tail);
      if (!last.empty()) result.summary += ": " + last;
    }
  }
  return result;
}

}  // namespace sluice::adapters
