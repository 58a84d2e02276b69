#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/bounded_cache.h"
#include "core/cancel.h"
#include "evidence/registry.h"
#include "gates/gate.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "record/workspace.h"

namespace sluice::engine {

// EvidenceGatherer does the I/O the gates need (SPEC section 2: gates are
// pure, evidence is gathered first): the record in Git (refs/sluice/*,
// notes), files of the environments repository (scan reports, incidents,
// calendars), the OCI registry, and custom gate commands.
//
// Scan evidence is cached across calls, keyed by the git tree id of the
// artifacts directory (same id, same bytes, same evidence): a gatherer that
// lives as long as the controller parses each set of reports once. A
// missing directory and read errors are not cached. Registry answers are
// cached by the RegistryClient (evidence/registry.h).
//
// All dependencies are borrowed and must outlive the gatherer. Thread-safe
// as far as its dependencies are: it holds ws.mutex() only around
// repository reads, never across network calls or child processes.
class EvidenceGatherer {
 public:
  // The default bound of the scan cache.
  static constexpr size_t kDefaultScanCacheEntries = 10000;

  // `scan_cache_entries` bounds the scan cache (least recently used entries
  // are dropped); 0 turns it off.
  EvidenceGatherer(record::Workspace& ws, net::HttpClient& http, process::CommandRunner& runner,
                   evidence::RegistryClient& registry,
                   size_t scan_cache_entries = kDefaultScanCacheEntries);

  // Gathers every fact the gates of `c.policy` need for candidate `c`
  // (whose policy/settings are the policy in force, read at
  // `policy_commit`); `head` is the branch head, where incidents are read
  // (an incident declared now stops releases now; "" falls back to
  // c.commit).
  //
  //  - lkg_commit / ever_deployed: refs/sluice/{lkg,deployed}/<env>/<app>.
  //  - upstream (gates.upstreamVerified or soak): for policy.upstream, whether
  //    the pin at refs/sluice/deployed/<upstream>/<app> and at
  //    refs/sluice/lkg/<upstream>/<app> has c's digest, and the time of the
  //    last `verified` event of (upstream, app) in the note on that LKG
  //    commit (set only when the LKG has the digest).
  //  - scan (gates.vulnerabilities): trivy*.json, grype*.json and *.sarif
  //    reports in artifacts/<app>/<algo>-<hex>/ at c.commit; with several
  //    reports, each severity counts the largest number any report gives
  //    (they describe the same image), and one unreadable report is an
  //    error. None: found=false with the directory in `path`.
  //  - registry (gates.registry.verifyDigest): the pin's image and digest.
  //  - incidents (gates.noActiveIncident): incidents/*.yaml at `head`.
  //  - custom (gates.custom): not here: custom gates run code from the
  //    repository, so they run only after the approval gate passed, through
  //    RunCustomGates (trust rule 3).
  //  - calendars: each freezes[].calendar read at `policy_commit`.
  //
  // Never throws and never fails: a fact that cannot be gathered lands in
  // its evidence's error field (or stays absent), so the gates block with a
  // reason. Without a pin or policy only the refs are gathered.
  gates::Evidence Gather(const gates::Candidate& c, const std::string& policy_commit,
                         const std::string& head, CancelToken* cancel);

  // The custom gates of `c.policy` (trust rule, SPEC section 1.3, rule 3):
  // `policy_commit` (the commit of the policy in force, never the
  // candidate) exported under ws.ScratchDir(), each gate run there in policy
  // order with the candidate's pin in its environment, the directory removed
  // afterwards. Call only once the approval gate passed. Never fails: a gate
  // that could not run carries its error (and blocks).
  std::vector<gates::CustomGateEvidence> RunCustomGates(const gates::Candidate& c,
                                                        const std::string& policy_commit,
                                                        CancelToken* cancel);

  // Hits, misses and entries of the scan cache.
  CacheStats ScanCacheStatistics() const { return scan_cache_.Stats(); }
  // How many times scan reports were parsed (tests check that a cache hit
  // parses nothing).
  uint64_t scan_parses() const { return scan_parses_.load(); }

 private:
  void GatherRefs(const gates::Candidate& c, gates::Evidence& ev);
  gates::UpstreamEvidence GatherUpstream(const gates::Candidate& c);
  gates::ScanEvidence GatherScan(const gates::Candidate& c);
  gates::RegistryEvidence GatherRegistry(const gates::Candidate& c, CancelToken* cancel);
  gates::IncidentEvidence GatherIncidents(const gates::Candidate& c, const std::string& head);
  std::vector<gates::CustomGateEvidence> GatherCustom(const gates::Candidate& c,
                                                      const std::string& policy_commit,
                                                      CancelToken* cancel);
  std::vector<gates::CalendarEvidence> GatherCalendars(const gates::Candidate& c,
                                                       const std::string& policy_commit);

  record::Workspace& ws_;
  net::HttpClient& http_;
  process::CommandRunner& runner_;
  evidence::RegistryClient& registry_;
  BoundedCache<std::string, gates::ScanEvidence> scan_cache_;
  std::atomic<uint64_t> scan_parses_{0};
};

}  // namespace sluice::engine
