#include "gates/incident.h"

namespace sluice::gates {

GateResult EvaluateNoActiveIncident(const std::optional<IncidentEvidence>& incidents) {
  GateResult r{"noActiveIncident", Verdict::kBlock, "", {}};
  if (!incidents) {
    r.reason = "open incidents were not checked; refusing to deploy (fail closed)";
    return r;
  }
  std::string ids;
  for (const auto& id : incidents->open) ids += (ids.empty() ? "" : ", ") + id;
  r.evidence["open"] = ids;
  if (!incidents->error.empty()) {
    r.evidence["error"] = incidents->error;
    r.reason = "cannot tell whether an incident is open: " + incidents->error;
    return r;
  }
  if (!incidents->open.empty()) {
    r.reason = std::string(incidents->open.size() == 1 ? "open incident: " : "open incidents: ") +
               ids + "; deploy after it is resolved";
    return r;
  }
  r.verdict = Verdict::kPass;
  r.reason = "no open incident";
  return r;
}

}  // namespace sluice::gates
