#pragma once

#include <optional>

#include "config/policy.h"
#include "gates/gate.h"

namespace sluice::gates {

// The `vulnerabilities` gate: compares the scan report's counts with the
// configured maxima (an unset maximum does not limit; a severity missing from
// the report counts 0). pass within every limit; block when over any limit
// ("3 critical > maxCritical 0"), when no report was found (the reason says
// where it was looked for), when the report does not parse, or when no scan
// evidence was gathered (fail closed). Never waits: a new scan needs a new
// build. Pure and thread-safe. Evidence: report, format, and each count.
GateResult EvaluateVulnerabilities(const config::VulnerabilityLimits& limits,
                                   const std::optional<ScanEvidence>& scan);

}  // namespace sluice::gates
