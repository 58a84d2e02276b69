#pragma once

#include <string>

#include "reports/audit.h"

namespace sluice::reports {

// Renderers of an AuditReport. Pure and deterministic: the same report gives
// the same bytes (golden files in tests/data/audit/ hold them).

// Markdown for people: the exceptions first ("None." when empty), then one
// table row per change, then the DORA figures with how each was computed.
std::string RenderAuditMarkdown(const AuditReport& report);

// JSON for tools, keys in a fixed order: {window, filters, requireApproval,
// exceptions, changes, dora}. Times are RFC 3339 UTC or null; durations are
// seconds. Ends with a newline.
std::string RenderAuditJson(const AuditReport& report);

// CSV, one row per change after a header row, quoted as RFC 4180 says
// (fields holding a comma, quote, CR or LF are quoted, quotes doubled; lines
// end with CRLF). Lists (approvers, gates) are joined with "; ".
std::string RenderAuditCsv(const AuditReport& report);

// One CSV field quoted as RFC 4180 requires (unchanged when it need not be).
std::string CsvField(const std::string& value);

}  // namespace sluice::reports
