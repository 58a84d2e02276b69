#include "reports/incident_report_reader.h"

#include "config/repository_config.h"
#include "reports/audit_reader.h"

namespace sluice::reports {

Result<IncidentReport> ReadIncidentReport(record::Workspace& ws, const IncidentOptions& options) {
  AuditOptions audit;
  audit.filter.env = options.env;
  audit.filter.app = options.app;
  auto report = ReadAudit(ws, audit);
  if (!report.ok()) return report.status();

  std::map<std::string, ReleaseSide> sides;
  {
    std::lock_guard lock(ws.mutex());
    const git::Repository& repo = ws.repo();
    if (report->changes.empty()) {
      const std::string path = config::PinPath(options.env, options.app);
      auto head = repo.ResolveRef("refs/remotes/origin/" + ws.branch());
      if (!head.ok() || !repo.BlobId(*head, path).ok()) {
        return Status::NotFound(path + " does not exist on branch " + ws.branch() +
                                " and the record has no change for " + options.env + "/" +
                                options.app +
                                ": check the environment and app names "
                                "(`sluice status` lists them)");
      }
    }
    for (const Change& c : report->changes) {
      sides[c.commit] = ReadReleaseSide(repo, c.commit, options.env, options.app);
    }
  }
  return BuildIncidentReport(report->changes, sides, options);
}

}  // namespace sluice::reports
