#include "reports/markdown_template.h"

#include "core/strings.h"
#include "core/time_format.h"

namespace sluice::reports {

namespace mst = kainjow::mustache;

std::string TemplateFromRepository(const git::Repository& repo, const std::string& commit,
                                   const std::string& repo_path, std::string_view embedded,
                                   std::string* origin) {
  if (!commit.empty()) {
    if (auto text = repo.ReadFile(commit, repo_path); text.ok()) {
      if (origin) *origin = repo_path + " at " + ShortId(commit);
      return std::move(*text);
    }
  }
  if (origin) *origin = "built-in";
  return std::string(embedded);
}

Result<std::string> RenderMarkdownTemplate(std::string_view what, const std::string& tmpl,
                                           const mst::data& data) {
  mst::mustache view{tmpl};
  if (!view.is_valid()) {
    return Status::InvalidArgument(std::string(what) + " template: " + view.error_message());
  }
  // The output is Markdown, not HTML: no entity escaping.
  view.set_custom_escape([](const std::string& s) { return s; });
  std::string out = view.render(data);
  if (!view.is_valid()) {
    return Status::InvalidArgument(std::string(what) + " template: " + view.error_message());
  }
  return out;
}

void SetIfNotEmpty(mst::data& d, const std::string& key, const std::string& value) {
  d.set(key, value.empty() ? mst::data(false) : mst::data(value));
}

void SetTimeIfAny(mst::data& d, const std::string& key, const std::optional<TimePoint>& t) {
  SetIfNotEmpty(d, key, t ? FormatRfc3339(*t) : "");
}

}  // namespace sluice::reports
