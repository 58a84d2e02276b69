#include "reports/history.h"

#include <algorithm>
#include <tuple>

#include "record/refs.h"
#include "reports/audit_reader.h"

namespace sluice::reports {

std::vector<Release> ReleasesOf(const std::vector<Change>& changes, const std::string& deployed,
                                const std::string& lkg) {
  std::vector<Release> out;
  for (const Change& c : changes) {
    if (!c.applying) continue;  // blocked or waiting: never ran
    Release r;
    r.commit = c.commit;
    r.digest = c.digest;
    r.version = c.version;
    r.subject = c.source.subject;
    r.when = *c.applying;
    r.verified = c.verified.has_value();
    r.verified_at = c.verified;
    r.failed_at = c.failed;
    r.outcome = c.outcome;
    r.proposer = c.source.author;
    r.approvers = c.approvers;
    r.approval = c.approval_method;
    r.rolls_back = c.rolls_back;
    r.rolled_back_by = c.rolled_back_by;
    r.reason = c.reason;
    r.running = !deployed.empty() && c.commit == deployed;
    r.lkg = !lkg.empty() && c.commit == lkg;
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const Release& a, const Release& b) {
    return std::tie(a.when, a.commit) > std::tie(b.when, b.commit);
  });
  return out;
}

Result<std::vector<Release>> ReadHistory(record::Workspace& ws, const std::string& env,
                                         const std::string& app) {
  AuditOptions options;
  options.filter.env = env;
  options.filter.app = app;
  auto audit = ReadAudit(ws, options);
  if (!audit.ok()) return audit.status();
  std::string deployed, lkg;
  {
    std::lock_guard lock(ws.mutex());
    if (auto d = ws.repo().ResolveRef(record::DeployedRef(env, app)); d.ok()) deployed = *d;
    if (auto l = ws.repo().ResolveRef(record::LkgRef(env, app)); l.ok()) lkg = *l;
  }
  return ReleasesOf(audit->changes, deployed, lkg);
}

}  // namespace sluice::reports
