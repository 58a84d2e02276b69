#include "gates/emergency.h"

namespace sluice::gates {

std::string EmergencyRefusal(const config::EnvironmentPolicy& policy,
                             const EmergencyEvidence& emergency) {
  if (!policy.emergency) {
    return "emergency override refused: the policy of " + policy.env + " has no emergency section";
  }
  if (policy.emergency->require_incident && emergency.incident.empty()) {
    return "emergency override refused: the policy requires an incident "
           "(Sluice-Incident: trailer) and none was named";
  }
  return "";
}

bool EmergencyAllowed(const config::EnvironmentPolicy& policy, const EmergencyEvidence& emergency) {
  return EmergencyRefusal(policy, emergency).empty();
}

GateResult SkipForEmergency(GateResult result, const EmergencyEvidence& emergency) {
  std::string by;
  for (const auto& a : emergency.approvers) by += (by.empty() ? "" : ", ") + a;
  result.evidence["overridden"] = std::string(VerdictName(result.verdict)) + ": " + result.reason;
  result.evidence["emergency"] = "true";
  if (!emergency.incident.empty()) result.evidence["incident"] = emergency.incident;
  if (!by.empty()) result.evidence["emergencyApprovers"] = by;
  result.verdict = Verdict::kPass;
  result.reason = "skipped: emergency" +
                  (emergency.incident.empty() ? std::string() : " " + emergency.incident) +
                  (by.empty() ? std::string() : " approved by " + by);
  return result;
}

}  // namespace sluice::gates
