#include "engine/evidence_gatherer.h"

#include <stdlib.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "config/pin.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "evidence/custom_gate.h"
#include "evidence/incidents.h"
#include "evidence/scan_report.h"
#include "record/event.h"
#include "record/refs.h"

namespace sluice::engine {

namespace fs = std::filesystem;

namespace {

// A ref's commit, or nullopt when absent or unreadable. Caller holds the
// workspace mutex.
std::optional<std::string> RefLocked(git::Repository& repo, const std::string& name) {
  Result<std::string> id = repo.ResolveRef(name);
  if (!id.ok()) return std::nullopt;
  return *id;
}

// The digest pinned for (env, app) at `commit`, or nullopt when the pin is
// absent or does not parse. Caller holds the workspace mutex.
std::optional<std::string> PinnedDigestLocked(git::Repository& repo, const std::string& commit,
                                              const std::string& env, const std::string& app) {
  const std::string path = config::PinPath(env, app);
  Result<std::string> text = repo.ReadFile(commit, path);
  if (!text.ok()) return std::nullopt;
  config::Diagnostics diags;
  std::optional<config::Pin> pin = config::ParsePin(*text, path, diags);
  if (!pin) return std::nullopt;
  return pin->artifact.digest;
}

// "artifacts/<app>/<algo>-<hex>" for "<algo>:<hex>".
std::string ArtifactDir(const std::string& app, const std::string& digest) {
  std::string d = digest;
  std::replace(d.begin(), d.end(), ':', '-');
  return "artifacts/" + app + "/" + d;
}

// The scan evidence of the reports of one artifacts directory (path, text),
// as GatherScan documents it. Pure.
gates::ScanEvidence ParseScanReports(
    const std::string& dir, const std::vector<std::pair<std::string, std::string>>& reports) {
  gates::ScanEvidence scan;
  scan.path = dir;
  if (reports.empty()) return scan;

  scan.found = true;
  std::vector<std::string> paths;
  std::vector<std::string> formats;
  for (const auto& [path, text] : reports) {
    Result<evidence::ScanSummary> summary = evidence::DetectAndParseScanReport(path, text);
    if (!summary.ok()) {
      scan.path = path;
      scan.format = evidence::ScanFormatForFileName(path);
      scan.error = summary.status().message();
      scan.counts.clear();
      return scan;
    }
    paths.push_back(path);
    if (std::find(formats.begin(), formats.end(), summary->format) == formats.end()) {
      formats.push_back(summary->format);
    }
    for (const auto& [bucket, n] : summary->counts) {
      int& slot = scan.counts[bucket];
      slot = std::max(slot, n);
    }
  }
  scan.path.clear();
  for (const std::string& p : paths) scan.path += (scan.path.empty() ? "" : ", ") + p;
  for (const std::string& f : formats) scan.format += (scan.format.empty() ? "" : "+") + f;
  return scan;
}

// Removes a scratch directory when it goes out of scope.
class ScratchGuard {
 public:
  explicit ScratchGuard(std::string dir) : dir_(std::move(dir)) {}
  ~ScratchGuard() {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ScratchGuard(const ScratchGuard&) = delete;
  ScratchGuard& operator=(const ScratchGuard&) = delete;

 private:
  std::string dir_;
};

}  // namespace

EvidenceGatherer::EvidenceGatherer(record::Workspace& ws, net::HttpClient& http,
                                   process::CommandRunner& runner,
                                   evidence::RegistryClient& registry, size_t scan_cache_entries)
    : ws_(ws), http_(http), runner_(runner), registry_(registry), scan_cache_(scan_cache_entries) {
  (void)http_;  // kept for evidence sources that speak HTTP directly (forges)
}

gates::Evidence EvidenceGatherer::Gather(const gates::Candidate& c,
                                         const std::string& policy_commit, const std::string& head,
                                         CancelToken* cancel) {
  gates::Evidence ev;
  // Each part is fenced on its own: an exception in one (a bug, bad_alloc)
  // leaves the others gathered and turns into that part's error, so its
  // gate blocks with a reason.
  auto fenced = [](auto&& gather, auto&& on_error) {
    try {
      gather();
    } catch (const std::exception& e) {
      on_error(std::string("internal error: ") + e.what());
    } catch (...) {
      on_error("internal error: unknown exception");
    }
  };
  fenced([&] { GatherRefs(c, ev); }, [](const std::string&) {});
  if (c.policy == nullptr) return ev;
  const config::Gates& g = c.policy->gates;

  if (g.upstream_verified || g.soak) {
    // Absent upstream evidence makes upstreamVerified and soak block.
    fenced([&] { ev.upstream = GatherUpstream(c); },
           [&](const std::string&) { ev.upstream.reset(); });
  }
  if (g.vulnerabilities) {
    fenced([&] { ev.scan = GatherScan(c); },
           [&](const std::string& error) {
             ev.scan = gates::ScanEvidence{};
             ev.scan->found = true;
             ev.scan->error = error;
           });
  }
  if (g.registry_verify_digest) {
    fenced([&] { ev.registry = GatherRegistry(c, cancel); },
           [&](const std::string& error) {
             ev.registry = gates::RegistryEvidence{};
             ev.registry->error = error;
           });
  }
  if (g.no_active_incident) {
    fenced([&] { ev.incidents = GatherIncidents(c, head); },
           [&](const std::string& error) {
             ev.incidents = gates::IncidentEvidence{};
             ev.incidents->error = error;
           });
  }
  fenced([&] { ev.calendars = GatherCalendars(c, policy_commit); },
         [&](const std::string& error) {
           ev.calendars.clear();
           for (const config::Freeze& f : c.policy->freezes) {
             if (!f.calendar.empty()) ev.calendars.push_back({f.calendar, "", error});
           }
         });
  return ev;
}

std::vector<gates::CustomGateEvidence> EvidenceGatherer::RunCustomGates(
    const gates::Candidate& c, const std::string& policy_commit, CancelToken* cancel) {
  std::vector<gates::CustomGateEvidence> out;
  if (c.policy == nullptr || c.policy->gates.custom.empty()) return out;
  auto fail_all = [&](const std::string& error) {
    out.clear();
    for (const config::CustomGate& gate : c.policy->gates.custom) {
      gates::CustomGateEvidence e;
      e.name = gate.name;
      e.error = error;
      out.push_back(std::move(e));
    }
  };
  try {
    out = GatherCustom(c, policy_commit, cancel);
  } catch (const std::exception& e) {
    fail_all(std::string("internal error: ") + e.what());
  } catch (...) {
    fail_all("internal error: unknown exception");
  }
  return out;
}

void EvidenceGatherer::GatherRefs(const gates::Candidate& c, gates::Evidence& ev) {
  std::lock_guard lock(ws_.mutex());
  ev.lkg_commit = RefLocked(ws_.repo(), record::LkgRef(c.env, c.app));
  ev.ever_deployed = RefLocked(ws_.repo(), record::DeployedRef(c.env, c.app)).has_value();
}

gates::UpstreamEvidence EvidenceGatherer::GatherUpstream(const gates::Candidate& c) {
  gates::UpstreamEvidence u;
  u.env = c.policy->upstream.value_or("");
  if (u.env.empty() || c.pin == nullptr) return u;
  const std::string& digest = c.pin->artifact.digest;

  std::vector<record::Event> events;
  {
    std::lock_guard lock(ws_.mutex());
    git::Repository& repo = ws_.repo();
    if (std::optional<std::string> deployed = RefLocked(repo, record::DeployedRef(u.env, c.app))) {
      u.digest_deployed = PinnedDigestLocked(repo, *deployed, u.env, c.app) == digest;
    }
    std::optional<std::string> lkg = RefLocked(repo, record::LkgRef(u.env, c.app));
    if (lkg) {
      u.digest_verified = PinnedDigestLocked(repo, *lkg, u.env, c.app) == digest;
      if (u.digest_verified) {
        events = ws_.TrustedEventsForLocked(*lkg, u.env, c.app);
      }
    }
  }
  {
    // The last trusted `verified` event of (upstream, app) on the LKG
    // commit; an event that names another digest does not count.
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == record::EventKind::kVerified && it->env == u.env && it->app == c.app &&
          (it->digest.empty() || it->digest == digest)) {
        u.verified_at = it->time;
        break;
      }
    }
  }
  return u;
}

gates::ScanEvidence EvidenceGatherer::GatherScan(const gates::Candidate& c) {
  gates::ScanEvidence scan;
  if (c.pin == nullptr || !config::IsValidDigest(c.pin->artifact.digest)) {
    scan.path = "artifacts/" + c.app + "/";
    scan.found = false;
    return scan;
  }
  const std::string dir = ArtifactDir(c.app, c.pin->artifact.digest);
  scan.path = dir;

  std::string key;
  std::vector<std::pair<std::string, std::string>> reports;  // path, text
  {
    std::lock_guard lock(ws_.mutex());
    // The directory's tree id names its bytes: a pass that sees the same id
    // (at this commit or any later one) would parse the same reports.
    Result<std::string> tree = ws_.repo().TreeId(c.commit, dir);
    if (!tree.ok()) {
      if (tree.status().IsNotFound()) return scan;  // found=false, path=dir; not cached
      scan.found = true;
      scan.error =
          "cannot look up " + dir + " at " + ShortId(c.commit) + ": " + tree.status().message();
      return scan;
    }
    // The path is part of the key: the evidence names the files.
    key = *tree + "\n" + dir;
    if (std::optional<gates::ScanEvidence> hit = scan_cache_.Get(key)) return std::move(*hit);

    Result<std::vector<std::string>> names = ws_.repo().ListDir(c.commit, dir);
    if (!names.ok()) {
      if (names.status().IsNotFound()) return scan;  // found=false, path=dir
      scan.found = true;
      scan.error =
          "cannot list " + dir + " at " + ShortId(c.commit) + ": " + names.status().message();
      return scan;
    }
    for (const std::string& name : *names) {
      if (evidence::ScanFormatForFileName(name).empty()) continue;
      const std::string path = dir + "/" + name;
      Result<std::string> text = ws_.repo().ReadFile(c.commit, path);
      if (!text.ok()) {
        if (text.status().IsNotFound()) continue;  // a subdirectory so named
        // A read error says nothing about the bytes: not cached.
        scan.found = true;
        scan.path = path;
        scan.error = "cannot read: " + text.status().message();
        return scan;
      }
      reports.emplace_back(path, std::move(*text));
    }
  }
  // From here on the result follows from the bytes alone (a report that
  // does not parse never will), so every outcome is cached.
  ++scan_parses_;
  scan = ParseScanReports(dir, reports);
  scan_cache_.Put(key, scan);
  return scan;
}

gates::RegistryEvidence EvidenceGatherer::GatherRegistry(const gates::Candidate& c,
                                                         CancelToken* cancel) {
  gates::RegistryEvidence reg;
  if (c.pin == nullptr) {
    reg.error = "no pin to check";
    return reg;
  }
  if (c.pin->artifact.image.empty()) {
    reg.error = config::PinPath(c.env, c.app) +
                ": artifact.image is empty, so the registry cannot be asked";
    return reg;
  }
  if (cancel != nullptr && cancel->cancelled()) {
    reg.error = "cancelled before the registry was asked";
    return reg;
  }
  return registry_.Check(c.pin->artifact.image, c.pin->artifact.digest);
}

gates::IncidentEvidence EvidenceGatherer::GatherIncidents(const gates::Candidate& c,
                                                          const std::string& head) {
  const std::string at = head.empty() ? c.commit : head;
  std::vector<evidence::IncidentFile> files;
  {
    std::lock_guard lock(ws_.mutex());
    Result<std::vector<std::string>> names = ws_.repo().ListDir(at, evidence::kIncidentsDir);
    if (!names.ok()) {
      if (names.status().IsNotFound()) return {};
      gates::IncidentEvidence ev;
      ev.error = "cannot list " + std::string(evidence::kIncidentsDir) + "/ at " + ShortId(at) +
                 ": " + names.status().message();
      return ev;
    }
    for (const std::string& name : *names) {
      if (!evidence::IsIncidentFileName(name)) continue;
      const std::string path = std::string(evidence::kIncidentsDir) + "/" + name;
      Result<std::string> text = ws_.repo().ReadFile(at, path);
      if (!text.ok()) {
        if (text.status().IsNotFound()) continue;  // a directory named *.yaml
        gates::IncidentEvidence ev;
        ev.error = path + ": cannot read: " + text.status().message();
        return ev;
      }
      files.push_back({path, std::move(*text)});
    }
  }
  return evidence::OpenIncidentsFor(c.env, files);
}

std::vector<gates::CustomGateEvidence> EvidenceGatherer::GatherCustom(
    const gates::Candidate& c, const std::string& policy_commit, CancelToken* cancel) {
  const std::vector<config::CustomGate>& gates = c.policy->gates.custom;
  std::vector<gates::CustomGateEvidence> out;
  auto fail_all = [&](const std::string& error) {
    out.clear();
    for (const config::CustomGate& gate : gates) {
      gates::CustomGateEvidence e;
      e.name = gate.name;
      e.error = error;
      out.push_back(std::move(e));
    }
    return out;
  };
  if (c.pin == nullptr) return fail_all("no pin to judge");
  if (policy_commit.empty()) return fail_all("no policy commit to run the gate from");

  std::error_code ec;
  const std::string scratch = ws_.ScratchDir();
  fs::create_directories(scratch, ec);
  if (ec) return fail_all("cannot create " + scratch + ": " + ec.message());
  std::string templ = scratch + "/gate-" + ShortId(policy_commit) + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return fail_all("cannot create a checkout directory under " + scratch);
  }
  ScratchGuard guard(templ);
  const std::string checkout = fs::absolute(templ, ec).string();
  {
    std::lock_guard lock(ws_.mutex());
    // The gate's code comes from the policy in force, never from the
    // candidate: an unapproved edit of the script must not run.
    Status s = ws_.repo().ExportTree(policy_commit, checkout);
    if (!s.ok()) return fail_all("cannot check out " + ShortId(policy_commit) + ": " + s.message());
  }
  if (auto user = runner_.RepositoryCodeUser()) {
    // runAs: the gate runs as its own account and owns its checkout.
    Status given = process::HandOverTree(checkout, ws_.workdir(), *user);
    if (!given.ok()) return fail_all(given.message());
  }
  evidence::CustomGateRequest req;
  req.env = c.env;
  req.app = c.app;
  req.commit = c.commit;
  req.pin = c.pin;
  req.checkout_dir = checkout;
  for (const config::CustomGate& gate : gates) {
    if (cancel != nullptr && cancel->cancelled()) {
      gates::CustomGateEvidence e;
      e.name = gate.name;
      e.error = "cancelled before it ran";
      out.push_back(std::move(e));
      continue;
    }
    out.push_back(evidence::RunCustomGate(gate, req, runner_, cancel));
  }
  return out;
}

std::vector<gates::CalendarEvidence> EvidenceGatherer::GatherCalendars(
    const gates::Candidate& c, const std::string& policy_commit) {
  std::vector<gates::CalendarEvidence> out;
  for (const config::Freeze& freeze : c.policy->freezes) {
    if (freeze.calendar.empty()) continue;
    gates::CalendarEvidence cal;
    cal.path = freeze.calendar;
    if (!config::IsContainedPath(freeze.calendar)) {
      cal.error = "calendar path \"" + freeze.calendar + "\" is not inside the repository";
    } else if (policy_commit.empty()) {
      cal.error = "no policy commit to read " + freeze.calendar + " at";
    } else {
      std::lock_guard lock(ws_.mutex());
      Result<std::string> text = ws_.repo().ReadFile(policy_commit, freeze.calendar);
      if (text.ok()) {
        cal.text = std::move(*text);
      } else if (text.status().IsNotFound()) {
        cal.error = freeze.calendar + " does not exist at the policy commit " +
                    ShortId(policy_commit) + " (the calendar must be committed before the " +
                    "policy that names it takes effect)";
      } else {
        cal.error = "cannot read " + freeze.calendar + ": " + text.status().message();
      }
    }
    out.push_back(std::move(cal));
  }
  return out;
}

}  // namespace sluice::engine
