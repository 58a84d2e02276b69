#pragma once

#include "core/result.h"
#include "record/workspace.h"
#include "reports/incident_report.h"

namespace sluice::reports {

// Reads the record of options.env/options.app from the workspace (call
// Workspace::Sync first) — the audit of that pair (audit_reader.h) plus the
// pin at each change's commit for versions and sources — and builds the
// incident report. NotFound when the pin does not exist at the branch head
// and the record has no change for the pair (a typo in ENV or APP). Takes
// the workspace mutex.
Result<IncidentReport> ReadIncidentReport(record::Workspace& ws, const IncidentOptions& options);

}  // namespace sluice::reports
