#pragma once

#include "config/policy.h"
#include "gates/gate.h"

namespace sluice::gates {

// Whether an emergency may override gates under `policy`: the policy has an
// `emergency` section and, when it sets requireIncident, the emergency names
// an incident. The engine checks who approved it; this is the last guard so
// that a policy without an emergency path can never be overridden. Pure.
bool EmergencyAllowed(const config::EnvironmentPolicy& policy, const EmergencyEvidence& emergency);

// Why EmergencyAllowed refused, for the record; "" when it allows.
std::string EmergencyRefusal(const config::EnvironmentPolicy& policy,
                             const EmergencyEvidence& emergency);

// Turns the result of a gate an emergency may skip (window, freeze, soak)
// into a pass: "skipped: emergency INC-123 approved by alice, bob". The
// evidence keeps what the gate said (`overridden`: "wait: outside the
// deployment window; ...") and gains `emergency=true` and `incident`.
// Never apply it to approval, digest, vulnerabilities, registry,
// rollbackTarget, noActiveIncident or custom gates. Pure.
GateResult SkipForEmergency(GateResult result, const EmergencyEvidence& emergency);

}  // namespace sluice::gates
