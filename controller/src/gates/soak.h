#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.h"
#include "gates/gate.h"

namespace sluice::gates {

// The `upstreamVerified` gate: pass when the upstream environment's
// last-known-good pin carries `digest`; block otherwise ("promote what staging
// verified"), and block when no upstream evidence was gathered (fail closed).
// Pure and thread-safe. Evidence: upstream, digest, verifiedAt.
GateResult EvaluateUpstreamVerified(const std::optional<UpstreamEvidence>& upstream,
                                    const std::string& digest);

// The `soak` gate: pass when the digest was verified upstream at least `soak`
// before `now` and is still deployed there; wait, with the time remaining,
// while it has not soaked long enough; block when it was never verified
// upstream, is no longer deployed there (replaced or rolled back: its soak
// never completes), or when no upstream evidence was gathered (fail closed).
// Pure and thread-safe. Evidence: upstream, verifiedAt, soak, soakedFor.
GateResult EvaluateSoak(const std::optional<UpstreamEvidence>& upstream,
                        std::chrono::milliseconds soak, TimePoint now);

}  // namespace sluice::gates
