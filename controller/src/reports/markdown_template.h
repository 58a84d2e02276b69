#pragma once

#include <kainjow/mustache.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "git/repo.h"

namespace sluice::reports {

// Shared by the Markdown documents Sluice renders from kainjow mustache
// templates (release notes, incident report).

// The template to render: the file `repo_path` (e.g.
// "templates/incident-report.md") at `commit` of the environments repository
// when it exists there — a team's own wording, reviewed like any other file —
// else `embedded`. `origin` (optional) receives where it came from:
// "<repo_path> at <commit12>" or "built-in". The caller holds the workspace
// mutex when `repo` is the workspace's.
std::string TemplateFromRepository(const git::Repository& repo, const std::string& commit,
                                   const std::string& repo_path, std::string_view embedded,
                                   std::string* origin = nullptr);

// Renders `tmpl` with `data`, without HTML escaping (the output is Markdown).
// InvalidArgument "<what> template: <mustache error>" when it does not parse.
// Pure.
Result<std::string> RenderMarkdownTemplate(std::string_view what, const std::string& tmpl,
                                           const kainjow::mustache::data& data);

// Sets `key` to `value`, or to false when empty so {{#key}}...{{/key}} hides.
void SetIfNotEmpty(kainjow::mustache::data& d, const std::string& key, const std::string& value);

// Sets `key` to the RFC 3339 time, or to false when absent.
void SetTimeIfAny(kainjow::mustache::data& d, const std::string& key,
                  const std::optional<TimePoint>& t);

}  // namespace sluice::reports
