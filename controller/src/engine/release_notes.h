#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "engine/audit.h"

namespace sluice::engine {

// One side of a release: the pin at an environments-repository commit.
struct ReleaseSide {
  std::string commit;   // "" when there is none (a first release)
  std::string version;  // artifact.version
  std::string digest;   // artifact.digest
  std::string source;   // artifact.source: the app's source commit
};

// What `sluice release-notes ENV APP` tells: the pending change (the pin at
// the branch head differs from the deployed one) or else the last one.
struct ReleaseNotesData {
  std::string env;
  std::string app;
  bool pending = false;
  ReleaseSide from;  // deployed before the change
  ReleaseSide to;    // the change
  // The change as the record tells it; nullopt when the controller has not
  // evaluated it yet.
  std::optional<Change> change;
};

// The embedded default template (templates/release-notes.md).
std::string_view DefaultReleaseNotesTemplate();

// Renders `tmpl` (kainjow mustache, no HTML escaping: the output is
// Markdown) with the variables listed in templates/release-notes.md.
// InvalidArgument with the template's error when it does not parse. Pure.
Result<std::string> RenderReleaseNotes(const std::string& tmpl, const ReleaseNotesData& data);

}  // namespace sluice::engine
