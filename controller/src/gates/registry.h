#pragma once

#include <optional>

#include "gates/gate.h"

namespace sluice::gates {

// The `registry` gate (registry: {verifyDigest: true}): pass when the OCI
// registry has a manifest for the pinned digest; block when it says it does
// not ("digest not in registry"), when it could not be asked (the error is in
// the reason: a registry that is down blocks, it never lets a release
// through), or when no registry evidence was gathered (fail closed).
// Pure and thread-safe. Evidence: detail, error.
GateResult EvaluateRegistry(const std::optional<RegistryEvidence>& registry);

}  // namespace sluice::gates
