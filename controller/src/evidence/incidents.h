#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "gates/gate.h"

namespace sluice::evidence {

// The incidents directory of the environments repository (docs/incidents.md).
inline constexpr char kIncidentsDir[] = "incidents";

enum class IncidentStatus { kOpen, kResolved };

// incidents/<id>.yaml:
//
//   id: INC-123                      # required; equals the file name's stem
//   title: Checkout errors after 2.5.3
//   status: open                     # open | resolved
//   severity: sev1                   # required, free text (sev1, critical, P2, ...)
//   opened: 2026-11-22T10:00:00Z     # RFC 3339
//   resolved: 2026-11-22T12:30:00Z   # optional, RFC 3339
//   environments: [prod]             # optional; absent or [] = every environment
//   url: https://status.example.com/INC-123   # optional, informative
struct Incident {
  std::string id;
  std::string title;
  IncidentStatus status = IncidentStatus::kOpen;
  std::string severity;
  TimePoint opened{};
  std::optional<TimePoint> resolved;
  std::vector<std::string> environments;  // empty: all environments
  std::string url;
};

// One incident file as read from the repository.
struct IncidentFile {
  std::string path;  // "incidents/INC-123.yaml"
  std::string text;
};

// Parses one incident file. `path` is its repository path, used in messages
// and to check `id` against the file name. InvalidArgument "path:line:
// message" (line omitted when the problem concerns the whole file) for a
// YAML syntax error, a document that is not a map, an unknown key, a missing
// required key, a status other than open|resolved, a timestamp that is not
// RFC 3339, an id that is not [A-Za-z0-9._-]+ or differs from the file
// name. Pure; never throws.
Result<Incident> ParseIncident(std::string_view text, const std::string& path);

// True when `name` (a file name, not a path) is an incident file: *.yaml
// or *.yml, not hidden.
bool IsIncidentFileName(std::string_view name);

// True when `incident` is open and applies to `env`.
bool BlocksEnvironment(const Incident& incident, const std::string& env);

// The noActiveIncident gate's evidence for `env`: the ids of open incidents
// that apply to it (sorted), and `error` naming the first file that does not
// parse (a broken incident file must block, not be ignored: it may declare
// an incident) with the number of such files. Files that are not incident
// files by name are skipped. Pure.
gates::IncidentEvidence OpenIncidentsFor(const std::string& env,
                                         const std::vector<IncidentFile>& files);

}  // namespace sluice::evidence
