#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "core/clock.h"

namespace sluice::gates {

// pass: nothing stands in the way. wait: will pass by itself later (window
// closed, soak not met). block: needs a human or a new commit.
enum class Verdict { kPass, kWait, kBlock };

std::string_view VerdictName(Verdict v);  // "pass" | "wait" | "block"

// One gate's verdict with a one-line human reason and the evidence it used.
struct GateResult {
  std::string name;
  Verdict verdict = Verdict::kBlock;
  std::string reason;
  std::map<std::string, std::string> evidence;
  // A waiting gate that knows when its wait can end (a window opens, a soak
  // completes, a freeze ends, a rate limit resets): the controller wakes
  // then instead of at its next interval. Empty otherwise.
  std::optional<TimePoint> until;
};

// The earliest `until` of the waiting results, if any has one.
std::optional<TimePoint> EarliestWaitEnd(const std::vector<GateResult>& results);

// The change being judged, with the policy in force (trust rule: never the
// policy the change itself brings).
struct Candidate {
  std::string env;
  std::string app;
  std::string commit;
  const config::Pin* pin = nullptr;
  const config::EnvironmentPolicy* policy = nullptr;
  const config::RepoSettings* settings = nullptr;
};

// What the record says about the candidate's digest in the upstream
// environment (gathered from refs/sluice/* and notes of `env`).
struct UpstreamEvidence {
  std::string env;                       // the upstream environment
  bool digest_deployed = false;          // its deployed pin has this digest now
  bool digest_verified = false;          // its last-known-good pin has this digest
  std::optional<TimePoint> verified_at;  // when that verification was recorded
};

// The scan report CI stored under artifacts/<app>/<algo>-<hex>/.
struct ScanEvidence {
  std::string path;  // the report read, or the directory looked in
  bool found = false;
  std::string format;                 // trivy | grype | sarif
  std::string error;                  // set when the report exists but does not parse
  std::map<std::string, int> counts;  // critical, high, medium, low, unknown
};

// The OCI registry's answer for the pinned digest.
struct RegistryEvidence {
  bool exists = false;
  std::string error;   // registry unreachable, auth refused, ...
  std::string detail;  // e.g. the manifest media type, the URL asked
};

// Open incidents declared in the repository (incidents/*.yaml).
struct IncidentEvidence {
  std::vector<std::string> open;  // ids of open incidents
  std::string error;              // an incident file that does not parse
};

// The outcome of one custom command gate.
struct CustomGateEvidence {
  std::string name;
  int exit_code = -1;  // 0 pass, 75 wait, anything else block
  bool timed_out = false;
  std::string first_line;  // first line of stdout: the reason
  std::string error;       // could not run (not found, bad path)
};

// A freeze calendar file read at the policy commit.
struct CalendarEvidence {
  std::string path;   // repository path from `freezes: [{calendar: ...}]`
  std::string text;   // its content
  std::string error;  // could not be read
};

// An emergency release the engine has accepted: the commit names its
// incident (trailer `Sluice-Incident:`) and is approved by the policy's
// `emergency.approvers`. Validating that is the engine's job; the gates only
// apply the override (see emergency.h): window, freeze and soak pass,
// nothing else changes.
struct EmergencyEvidence {
  std::string incident;                // "INC-123"; may be empty when not required
  std::vector<std::string> approvers;  // who approved the emergency
};

// A rollback (SPEC section 5): the candidate restores the pin of `target`,
// a commit verified in this environment (the LKG, or an older verified one).
// The engine establishes it from the record; it skips windows, freezes, soak
// and upstreamVerified, never approval, the digest check or other gates.
struct RollbackEvidence {
  std::string target;  // the verified commit whose pin is restored
  std::string digest;  // that pin's digest
};

// Facts gathered by the engine (I/O) before the gates run; gates themselves
// do no I/O. Absent facts make the gates that need them block.
struct Evidence {
  std::optional<std::string> lkg_commit;       // refs/sluice/lkg/<env>/<app>
  bool ever_deployed = false;                  // refs/sluice/deployed/<env>/<app> exists
  std::optional<UpstreamEvidence> upstream;    // when upstreamVerified or soak is set
  std::optional<ScanEvidence> scan;            // when vulnerabilities is set
  std::optional<RegistryEvidence> registry;    // when registry.verifyDigest is set
  std::optional<IncidentEvidence> incidents;   // when noActiveIncident is set
  std::vector<CustomGateEvidence> custom;      // one per custom gate, same order
  std::vector<CalendarEvidence> calendars;     // one per calendar freeze
  std::optional<RollbackEvidence> rollback;    // set when the candidate is a rollback
  std::optional<EmergencyEvidence> emergency;  // set only for an accepted emergency
  // The approval gate as the approval module judged it (approval/
  // approval_gate.h: forge reviews, signatures, groups of the settings in
  // force), and trust rule 2's coverage of every edit of what the deploy
  // reads since the last apply (trust/coverage.h). Judged outside: they need
  // history, the forge and the signers.
  std::optional<GateResult> approval;
  std::optional<GateResult> coverage;
};

// Runs every gate the policy configures, in a fixed order, and returns all
// results (never stops at the first failure). Pure: no I/O, no clock.
// Order and names: digest, approval, coverage, upstreamVerified, soak,
// vulnerabilities, registry, rollbackTarget, noActiveIncident,
// custom:<name> (in policy order), window, freeze.
// A gate whose evidence is absent blocks (the engine forgot to gather it:
// fail closed); so does an approval the policy asks for without
// `ev.approval`. `ev.approval` and `ev.coverage` are placed as given, after
// the digest, even where only a rollback rule asked for approval.
// With `ev.emergency` set and allowed by the policy's `emergency` section,
// window, freeze and soak pass as "skipped: emergency ..." (emergency.h).
std::vector<GateResult> EvaluateGates(const Candidate& c, const Evidence& ev, TimePoint now);

// "sha256:0123456789ab…": a digest shortened for one-line reasons.
std::string ShortDigest(const std::string& digest);

// Turns the result of a gate a rollback skips (window, freeze, soak,
// upstreamVerified) into a pass naming the rollback target; what the gate
// said is kept in evidence["overridden"]. Pure.
GateResult SkipForRollback(GateResult result, const RollbackEvidence& rollback);

// block if any gate blocks, else wait if any waits, else pass.
Verdict Overall(const std::vector<GateResult>& results);

}  // namespace sluice::gates
