#pragma once

#include <map>
#include <string>

#include "adapters/adapter.h"
#include "config/pin.h"
#include "core/result.h"
#include "process/runner.h"

namespace sluice::adapters {

// Values substituted into exec arguments and terraform vars:
// {{digest}} {{image}} {{version}} {{source}} {{env}} {{app}} {{commit}}.
std::map<std::string, std::string> PinPlaceholders(const config::Pin& pin, const std::string& env,
                                                   const std::string& app,
                                                   const std::string& commit);

// Replaces each "{{name}}" (spaces inside the braces allowed) with its value.
// An unknown placeholder is InvalidArgument naming it; text is never
// evaluated any further (no shell, no recursion).
Result<std::string> SubstitutePlaceholders(const std::string& text,
                                           const std::map<std::string, std::string>& values);

// Builds the process for an exec apply, without running anything:
// argv[0] containing '/' must be a contained repo path and resolves inside
// `req.checkout_dir` (must exist and be a regular file); otherwise it is looked
// up on `base_env`'s PATH. Arguments get placeholder substitution. The
// environment is `base_env` plus SLUICE_ENV, SLUICE_APP, SLUICE_IMAGE,
// SLUICE_DIGEST, SLUICE_VERSION, SLUICE_COMMIT; cwd is the checkout.
Result<process::ProcessSpec> BuildExecProcess(const ApplyRequest& req,
                                              const std::map<std::string, std::string>& base_env);

// The exec adapter (SPEC section 4): exit 0 means applied.
class ExecAdapter final : public Adapter {
 public:
  explicit ExecAdapter(process::CommandRunner& runner) : runner_(runner) {}
  std::string_view Name() const override { return "exec"; }
  Result<ApplyResult> Apply(const ApplyRequest& req) override;

 private:
  process::CommandRunner& runner_;
};

}  // namespace sluice::adapters
