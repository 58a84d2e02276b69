#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "record/workspace.h"
#include "reports/audit.h"

namespace sluice::reports {

// Reads the record of the workspace (call Workspace::Sync first) into an
// AuditReport: streams the notes under refs/notes/sluice once, parses only
// the event lines that can pass the env/app filter (ParseNoteFor), groups
// and filters the events (CollectChanges), and only then reads the
// commits of the changes that remain (their landing commit: author, time,
// message, rollback trailers). Cost: one pass over the notes plus a bounded
// first-parent walk per selected change. Takes the workspace mutex.
// Errors: the notes cannot be listed (a commit that cannot be read leaves
// its change's source unknown instead).
Result<AuditReport> ReadAudit(record::Workspace& ws, const AuditOptions& options);

// `text`, the note on `commit`, without the lines the workspace found
// untrusted (SPEC 1.3 rule 4): `text` itself when none are, else a copy
// kept in `storage`. Call with the workspace mutex held.
std::string_view TrustedNoteText(record::Workspace& ws, const std::string& commit,
                                 std::string_view text, std::string& storage);

}  // namespace sluice::reports
