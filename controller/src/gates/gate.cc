#include "gates/gate.h"

#include "core/strings.h"
#include "gates/custom.h"
#include "gates/emergency.h"
#include "gates/freeze.h"
#include "gates/incident.h"
#include "gates/registry.h"
#include "gates/soak.h"
#include "gates/vulnerabilities.h"
#include "gates/window.h"

namespace sluice::gates {
namespace {

GateResult DigestGate(const config::Pin& pin) {
  // ParsePin already refused tags and malformed digests; this records it.
  return GateResult{"digest",
                    Verdict::kPass,
                    ShortDigest(pin.artifact.digest) + " is an immutable digest",
                    {{"digest", pin.artifact.digest}}};
}

GateResult RollbackTargetGate(const config::Gates& g, const Evidence& ev) {
  GateResult r{"rollbackTarget", Verdict::kPass, "", {}};
  if (ev.lkg_commit) {
    r.reason = "last known good is " + ShortId(*ev.lkg_commit);
    r.evidence["lkg"] = *ev.lkg_commit;
  } else if (g.rollback_allow_first && !ev.ever_deployed) {
    r.reason = "first release: no last known good yet, allowed by allowFirst";
  } else {
    r.verdict = Verdict::kBlock;
    r.reason = "no verified release to roll back to" +
               std::string(ev.ever_deployed ? "" : " (first release: set allowFirst: true)");
  }
  return r;
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kWait:
      return "wait";
    case Verdict::kBlock:
      return "block";
  }
  return "block";
}

std::string ShortDigest(const std::string& digest) {
  // "sha256:" plus 12 hex digits identifies a digest for humans.
  size_t colon = digest.find(':');
  size_t keep = (colon == std::string::npos ? 0 : colon + 1) + 12;
  return digest.size() <= keep ? digest : digest.substr(0, keep) + "…";
}

GateResult SkipForRollback(GateResult result, const RollbackEvidence& rollback) {
  if (result.verdict != Verdict::kPass) {
    result.evidence["overridden"] = std::string(VerdictName(result.verdict)) + ": " + result.reason;
  }
  result.verdict = Verdict::kPass;
  result.reason = "skipped: rollback to verified " + ShortId(rollback.target) + " (" +
                  ShortDigest(rollback.digest) + ")";
  result.evidence["rollback"] = rollback.target;
  return result;
}

std::vector<GateResult> EvaluateGates(const Candidate& c, const Evidence& ev, TimePoint now) {
  std::vector<GateResult> out;
  out.push_back(DigestGate(*c.pin));
  const config::EnvironmentPolicy& p = *c.policy;
  const std::string& digest = c.pin->artifact.digest;

  // An emergency skips window, freeze and soak; only when the policy in
  // force has an emergency path (the engine validated who approved it).
  const bool emergency = ev.emergency && EmergencyAllowed(p, *ev.emergency);
  auto skippable = [&](GateResult r) {
    if (ev.rollback) return SkipForRollback(std::move(r), *ev.rollback);
    if (emergency) return SkipForEmergency(std::move(r), *ev.emergency);
    if (ev.emergency) r.evidence["emergency"] = EmergencyRefusal(p, *ev.emergency);
    return r;
  };

  if (ev.approval) {
    out.push_back(*ev.approval);
  } else if (p.approval && p.approval->required > 0) {
    out.push_back(GateResult{"approval",
                             Verdict::kBlock,
                             "approval evidence (" + std::to_string(p.approval->required) +
                                 " approver(s) required) was not gathered; refusing to deploy "
                                 "(fail closed)",
                             {}});
  }
  if (ev.coverage) out.push_back(*ev.coverage);
  const config::Gates& g = p.gates;
  if (g.upstream_verified) {
    // A rollback restores what this environment verified; what upstream runs
    // today does not matter for going back.
    GateResult r = EvaluateUpstreamVerified(ev.upstream, digest);
    out.push_back(ev.rollback ? SkipForRollback(std::move(r), *ev.rollback) : std::move(r));
  }
  if (g.soak) out.push_back(skippable(EvaluateSoak(ev.upstream, *g.soak, now)));
  if (g.vulnerabilities) out.push_back(EvaluateVulnerabilities(*g.vulnerabilities, ev.scan));
  if (g.registry_verify_digest) {
    GateResult r = EvaluateRegistry(ev.registry);
    r.evidence["digest"] = digest;
    out.push_back(std::move(r));
  }
  if (g.rollback_target_required) out.push_back(RollbackTargetGate(g, ev));
  if (g.no_active_incident) out.push_back(EvaluateNoActiveIncident(ev.incidents));
  for (const auto& custom : g.custom) {
    const CustomGateEvidence* outcome = nullptr;
    for (const auto& e : ev.custom) {
      if (e.name == custom.name) outcome = &e;
    }
    if (outcome == nullptr) {
      out.push_back(GateResult{
          "custom:" + custom.name,
          Verdict::kBlock,
          "custom gate '" + custom.name + "' was not run; refusing to deploy (fail closed)",
          {}});
      continue;
    }
    out.push_back(EvaluateCustomGate(custom, *outcome));
  }
  if (p.windows && !p.windows->allow.empty()) {
    out.push_back(skippable(EvaluateWindow(*p.windows, now)));
  }
  if (!p.freezes.empty()) {
    const std::string zone = p.windows ? p.windows->timezone : "UTC";
    out.push_back(skippable(EvaluateFreezes(p.freezes, ev.calendars, zone, now)));
  }
  return out;
}

Verdict Overall(const std::vector<GateResult>& results) {
  Verdict v = Verdict::kPass;
  for (const auto& r : results) {
    if (r.verdict == Verdict::kBlock) return Verdict::kBlock;
    if (r.verdict == Verdict::kWait) v = Verdict::kWait;
  }
  return v;
}

std::optional<TimePoint> EarliestWaitEnd(const std::vector<GateResult>& results) {
  std::optional<TimePoint> earliest;
  for (const auto& r : results) {
    if (r.verdict != Verdict::kWait || !r.until) continue;
    if (!earliest || *r.until < *earliest) earliest = r.until;
  }
  return earliest;
}

}  // namespace sluice::gates
