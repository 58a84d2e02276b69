#include "evidence/custom_gate.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "adapters/adapter.h"
#include "adapters/exec.h"
#include "core/json_dump.h"
#include "core/text.h"

namespace sluice::evidence {

namespace fs = std::filesystem;

namespace {

constexpr size_t kFirstLineMax = 500;

std::string GateWhere(const config::CustomGate& gate) { return "custom gate '" + gate.name + "'"; }

std::string TrimLine(std::string_view line) {
  size_t b = line.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = line.find_last_not_of(" \t\r");
  std::string out(line.substr(b, e - b + 1));
  if (out.size() > kFirstLineMax) out = std::string(TruncateUtf8(out, kFirstLineMax));
  return out;
}

std::string FirstNonEmptyLine(std::string_view text) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = TrimLine(text.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    if (!line.empty()) return line;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return "";
}

}  // namespace

std::string CustomGateInput(const config::CustomGate& gate, const CustomGateRequest& req) {
  nlohmann::ordered_json j;
  j["gate"] = gate.name;
  j["env"] = req.env;
  j["app"] = req.app;
  j["commit"] = req.commit;
  const config::Artifact empty;
  const config::Artifact& a = req.pin != nullptr ? req.pin->artifact : empty;
  j["digest"] = a.digest;
  j["image"] = a.image;
  j["version"] = a.version;
  j["source"] = a.source;
  // Invalid UTF-8 in a pin is replaced rather than thrown on.
  return DumpJson(j) + "\n";
}

Result<process::ProcessSpec> BuildCustomGateProcess(
    const config::CustomGate& gate, const CustomGateRequest& req,
    const std::map<std::string, std::string>& base_env) {
  const std::string where = GateWhere(gate);
  if (req.pin == nullptr) return Status::InvalidArgument(where + ": no pin to judge");
  if (gate.command.empty() || gate.command[0].empty()) {
    return Status::InvalidArgument(where + ": command is empty");
  }
  if (req.checkout_dir.empty() || req.checkout_dir[0] != '/') {
    return Status::InvalidArgument(where + " needs an absolute checkout directory, got \"" +
                                   req.checkout_dir + "\"");
  }
  process::ProcessSpec spec;
  spec.repository_code = true;  // runs as runAs when configured
  const std::string& program = gate.command[0];
  if (program.find('/') != std::string::npos) {
    Result<std::string> resolved = adapters::ResolveCheckoutProgram(
        req.checkout_dir, program, GateWhere(gate) + ": command[0]", req.commit);
    if (!resolved.ok()) return resolved.status();
    spec.argv.push_back(*resolved);
  } else {
    auto path_it = base_env.find("PATH");
    Result<std::string> found =
        process::FindOnPath(program, path_it == base_env.end() ? std::string() : path_it->second);
    if (!found.ok()) return found.status().WithContext(where + ": command[0]");
    spec.argv.push_back(*found);
  }
  std::map<std::string, std::string> values =
      adapters::PinPlaceholders(*req.pin, req.env, req.app, req.commit);
  for (size_t i = 1; i < gate.command.size(); ++i) {
    Result<std::string> arg = adapters::SubstitutePlaceholders(gate.command[i], values);
    if (!arg.ok()) {
      return arg.status().WithContext(where + ": command[" + std::to_string(i) + "]");
    }
    spec.argv.push_back(std::move(*arg));
  }
  spec.env = base_env;
  spec.env["SLUICE_GATE"] = gate.name;
  spec.env["SLUICE_ENV"] = req.env;
  spec.env["SLUICE_APP"] = req.app;
  spec.env["SLUICE_COMMIT"] = req.commit;
  spec.env["SLUICE_DIGEST"] = req.pin->artifact.digest;
  spec.env["SLUICE_IMAGE"] = req.pin->artifact.image;
  spec.env["SLUICE_VERSION"] = req.pin->artifact.version;
  spec.cwd = req.checkout_dir;
  spec.stdin_data = CustomGateInput(gate, req);
  spec.timeout = gate.timeout;
  spec.kill_grace = std::chrono::seconds(5);
  spec.output_cap = 16 * 1024;
  return spec;
}

gates::CustomGateEvidence RunCustomGate(const config::CustomGate& gate,
                                        const CustomGateRequest& req,
                                        process::CommandRunner& runner, CancelToken* cancel) {
  gates::CustomGateEvidence ev;
  ev.name = gate.name;
  Result<process::ProcessSpec> spec = BuildCustomGateProcess(gate, req, process::BaseEnvironment());
  if (!spec.ok()) {
    ev.error = spec.status().message();
    return ev;
  }
  // The first line is caught as it streams: the kept tail of a chatty
  // command would have lost it.
  struct FirstLine {
    std::mutex mu;
    std::string line;
  };
  auto first = std::make_shared<FirstLine>();
  spec->on_line = [first](std::string_view line, bool is_stderr) {
    if (is_stderr) return;
    std::lock_guard lock(first->mu);
    if (first->line.empty()) first->line = TrimLine(line);
  };
  Result<process::ProcessResult> run = runner.Run(*spec, cancel);
  if (!run.ok()) {
    ev.error = run.status().message();
    return ev;
  }
  ev.exit_code = run->exit_code;
  ev.timed_out = run->timed_out;
  {
    std::lock_guard lock(first->mu);
    ev.first_line = first->line;
  }
  if (ev.first_line.empty() && !run->stdout_truncated) {
    ev.first_line = FirstNonEmptyLine(run->stdout_tail);
  }
  if (run->cancelled) ev.error = "cancelled (the controller is shutting down)";
  return ev;
}

}  // namespace sluice::evidence
