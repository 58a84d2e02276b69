#include "gates/vulnerabilities.h"

namespace sluice::gates {

GateResult EvaluateVulnerabilities(const config::VulnerabilityLimits& limits,
                                   const std::optional<ScanEvidence>& scan) {
  GateResult r{"vulnerabilities", Verdict::kBlock, "", {}};
  if (!scan) {
    r.reason = "no scan evidence was gathered; refusing to deploy (fail closed)";
    return r;
  }
  r.evidence["report"] = scan->path;
  if (!scan->format.empty()) r.evidence["format"] = scan->format;
  if (!scan->found) {
    r.reason = "no scan report found in " +
               (scan->path.empty() ? "the artifact directory" : scan->path) +
               "; CI must store a trivy, grype or SARIF report there for this digest";
    return r;
  }
  if (!scan->error.empty()) {
    r.reason = "scan report " + scan->path + " cannot be read: " + scan->error;
    return r;
  }
  auto count = [&](const char* severity) {
    auto it = scan->counts.find(severity);
    return it == scan->counts.end() ? 0 : it->second;
  };
  for (const auto& [severity, n] : scan->counts) r.evidence[severity] = std::to_string(n);
  struct Limit {
    const char* severity;
    const char* key;
    const std::optional<int>& max;
  };
  const Limit checks[] = {{"critical", "maxCritical", limits.max_critical},
                          {"high", "maxHigh", limits.max_high},
                          {"medium", "maxMedium", limits.max_medium}};
  std::string over;
  std::string within;
  for (const Limit& l : checks) {
    if (!l.max) continue;
    int n = count(l.severity);
    std::string part = std::to_string(n) + " " + l.severity;
    if (n > *l.max) {
      over += (over.empty() ? "" : ", ") + part + " > " + l.key + " " + std::to_string(*l.max);
    } else {
      within += (within.empty() ? "" : ", ") + part + " <= " + l.key + " " + std::to_string(*l.max);
    }
  }
  const std::string source = scan->format.empty() ? scan->path : scan->format + " report";
  if (!over.empty()) {
    r.reason = over + " (" + source + ")";
    return r;
  }
  r.verdict = Verdict::kPass;
  r.reason = within.empty() ? "scan report present; no limit configured (" + source + ")"
                            : within + " (" + source + ")";
  return r;
}

}  // namespace sluice::gates
