#include "gates/registry.h"

namespace sluice::gates {

GateResult EvaluateRegistry(const std::optional<RegistryEvidence>& registry) {
  GateResult r{"registry", Verdict::kBlock, "", {}};
  if (!registry) {
    r.reason = "the registry was not asked about the digest; refusing to deploy (fail closed)";
    return r;
  }
  if (!registry->detail.empty()) r.evidence["detail"] = registry->detail;
  if (!registry->error.empty()) {
    r.evidence["error"] = registry->error;
    r.reason = "cannot confirm the digest is in the registry: " + registry->error;
    return r;
  }
  if (!registry->exists) {
    r.reason = "digest not in registry" +
               (registry->detail.empty() ? std::string() : " (" + registry->detail + ")") +
               "; push the image or pin a digest that exists";
    return r;
  }
  r.verdict = Verdict::kPass;
  r.reason = "digest found in registry" +
             (registry->detail.empty() ? std::string() : " (" + registry->detail + ")");
  return r;
}

}  // namespace sluice::gates
