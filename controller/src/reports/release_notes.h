#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "reports/audit.h"
#include "reports/pin_side.h"

namespace sluice::reports {

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

// Where an environments repository may keep its own release-notes template.
inline constexpr char kReleaseNotesTemplatePath[] = "templates/release-notes.md";

// Renders `tmpl` (kainjow mustache, no HTML escaping: the output is
// Markdown) with the variables listed in templates/release-notes.md.
// InvalidArgument with the template's error when it does not parse. Pure.
Result<std::string> RenderReleaseNotes(const std::string& tmpl, const ReleaseNotesData& data);

}  // namespace sluice::reports
