#include "reports/incident_report_reader.h"

#include <set>

#include "config/repository_config.h"
#include "git/incremental.h"
#include "record/refs.h"
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
  IncidentReport built = BuildIncidentReport(report->changes, sides, options);
  if (built.failures.empty()) return built;
  // The apps of the environment this one held (deploy.dependsOn): one more
  // pass over the notes, only for a report with a failure, keeping only the
  // trusted lines of the environment.
  std::vector<record::Event> held;
  {
    std::lock_guard lock(ws.mutex());
    Status listed = git::ForEachNote(
        ws.repo(), record::kNotesRef, [&](const std::string& commit, std::string_view text) {
          std::string kept;
          text = TrustedNoteText(ws, commit, text, kept);
          if (text.find("\"dependsOn\"") == std::string_view::npos) return true;
          for (record::Event& e : ParseNoteFor(text, options.env, "")) {
            if (!HeldBy(e, options.env, options.app).empty()) held.push_back(std::move(e));
          }
          return true;
        });
    if (!listed.ok()) return listed.WithContext("list " + std::string(record::kNotesRef));
  }
  if (held.empty()) return built;
  return BuildIncidentReport(report->changes, sides, options, held);
}

}  // namespace sluice::reports
