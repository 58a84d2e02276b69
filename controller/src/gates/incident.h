#pragma once

#include <optional>

#include "gates/gate.h"

namespace sluice::gates {

// The `noActiveIncident` gate: pass when no incident is open; block naming
// the open incidents, when an incident file cannot be read (an incident we
// cannot see may be open), or when no incident evidence was gathered (fail
// closed). Not skipped by an emergency. Pure and thread-safe.
// Evidence: open (comma-separated ids).
GateResult EvaluateNoActiveIncident(const std::optional<IncidentEvidence>& incidents);

}  // namespace sluice::gates
