#pragma once

#include <map>
#include <string>

#include "config/pin.h"
#include "config/policy.h"
#include "core/cancel.h"
#include "core/result.h"
#include "gates/gate.h"
#include "process/runner.h"

namespace sluice::evidence {

// The candidate a custom gate command judges, and where it runs.
struct CustomGateRequest {
  std::string env;
  std::string app;
  std::string commit;                // the candidate commit (40 hex)
  const config::Pin* pin = nullptr;  // the candidate's pin; borrowed
  std::string checkout_dir;          // absolute path of the exported candidate commit
};

// The JSON object written to the command's stdin, one line:
// {"gate":"load-test","env":"prod","app":"api","commit":"<40 hex>",
//  "digest":"sha256:...","image":"registry.example.com/shop/api",
//  "version":"2.5.3","source":"<sha>"}. Pure.
std::string CustomGateInput(const config::CustomGate& gate, const CustomGateRequest& req);

// Builds the process for a custom gate without running it (like the exec
// adapter): command[0] containing '/' must be a contained repository path
// that resolves (symlinks included) to an executable regular file inside
// `req.checkout_dir`; otherwise it is looked up on `base_env`'s PATH.
// Arguments get {{digest}}-style placeholders (adapters::PinPlaceholders).
// The environment is `base_env` plus SLUICE_GATE, SLUICE_ENV, SLUICE_APP,
// SLUICE_COMMIT, SLUICE_DIGEST, SLUICE_IMAGE, SLUICE_VERSION; cwd is the
// checkout; stdin is CustomGateInput(); the timeout is the gate's.
// InvalidArgument for an empty command, an escaping or non-executable path,
// a missing pin or a relative checkout; NotFound for a program that does
// not exist.
Result<process::ProcessSpec> BuildCustomGateProcess(
    const config::CustomGate& gate, const CustomGateRequest& req,
    const std::map<std::string, std::string>& base_env);

// Runs one custom gate through `runner` and reports its outcome for the
// gates: exit code, timed_out, the first non-empty line of stdout (the
// reason), or `error` when it could not run (bad path, not found, runner
// failure, cancelled). The child environment starts from
// process::BaseEnvironment(). Never fails; blocks until the child is
// reaped.
gates::CustomGateEvidence RunCustomGate(const config::CustomGate& gate,
                                        const CustomGateRequest& req,
                                        process::CommandRunner& runner, CancelToken* cancel);

}  // namespace sluice::evidence
