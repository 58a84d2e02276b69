#include "evidence/incidents.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/text.h"
#include "core/time_format.h"

namespace sluice::evidence {

namespace {

constexpr size_t kMaxIncidentBytes = 256 * 1024;

const std::vector<std::string>& KnownKeys() {
  static const std::vector<std::string> keys = {"id",     "title",    "status", "severity",
                                                "opened", "resolved", "url",    "environments"};
  return keys;
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  const std::string_view head = TruncateUtf8(s, 60);  // never half a character
  for (size_t i = 0; i < head.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(head[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (s.size() > 60) out += "...";
  return out + "'";
}

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.line < 0 ? 0 : mark.line + 1;
}

Status Problem(const std::string& path, int line, const std::string& message) {
  return Status::InvalidArgument(path + (line > 0 ? ":" + std::to_string(line) : std::string()) +
                                 ": " + message);
}

std::string FileStem(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = name.find_last_of('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

bool IsIdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

}  // namespace

bool IsIncidentFileName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos) {
    return false;
  }
  auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

Result<Incident> ParseIncident(std::string_view text, const std::string& path) {
  if (text.size() > kMaxIncidentBytes) {
    return Problem(path, 0,
                   "file is " + std::to_string(text.size()) +
                       " bytes; an incident file may have at most 256 KiB");
  }
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + nul, '\n'));
    return Problem(path, line, "file contains a NUL byte; it is not a YAML text file");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Problem(path, e.mark.line < 0 ? 0 : e.mark.line + 1,
                   "YAML syntax error: " + (e.msg.empty() ? std::string("unparsable") : e.msg));
  } catch (const std::exception& e) {
    return Problem(path, 0, std::string("cannot parse YAML: ") + e.what());
  }
  if (!root.IsMap()) {
    return Problem(path, LineOf(root),
                   "an incident file must be a map with id, title, status, severity and opened");
  }

  try {
    // Unknown keys are errors: a typo ("enviroments") must not silently
    // widen or narrow what an incident stops.
    std::set<std::string> seen;
    for (const auto& entry : root) {
      const YAML::Node& key = entry.first;
      std::string name = key.IsScalar() ? key.Scalar() : std::string();
      const auto& known = KnownKeys();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return Problem(path, LineOf(key),
                       "unknown key " + Quote(name) +
                           " (known: id, title, status, severity, opened, resolved, "
                           "environments, url)");
      }
      if (!seen.insert(name).second) {
        return Problem(path, LineOf(key), "key " + Quote(name) + " appears twice");
      }
    }

    auto scalar = [&](const char* key, bool required) -> Result<std::string> {
      YAML::Node v = root[key];
      if (!v.IsDefined() || v.IsNull()) {
        if (required) {
          return Problem(path, LineOf(root), std::string(key) + " is required");
        }
        return std::string();
      }
      if (!v.IsScalar() || v.Scalar().empty()) {
        return Problem(path, LineOf(v), std::string(key) + " must be a non-empty string");
      }
      return v.Scalar();
    };
    auto time = [&](const char* key, const std::string& value) -> Result<TimePoint> {
      Result<TimePoint> t = ParseRfc3339(value);
      if (!t.ok()) {
        return Problem(path, LineOf(root[key]),
                       std::string(key) + " " + Quote(value) +
                           " is not an RFC 3339 time (e.g. 2026-11-22T10:00:00Z)");
      }
      return *t;
    };

    Incident inc;
    Result<std::string> id = scalar("id", true);
    if (!id.ok()) return id.status();
    if (!std::all_of(id->begin(), id->end(), IsIdChar)) {
      return Problem(path, LineOf(root["id"]),
                     "id " + Quote(*id) + " may only hold letters, digits, '.', '_' and '-'");
    }
    if (*id != FileStem(path)) {
      return Problem(path, LineOf(root["id"]),
                     "id " + Quote(*id) + " differs from the file name; name the file " +
                         std::string(kIncidentsDir) + "/" + *id + ".yaml");
    }
    inc.id = *id;

    Result<std::string> title = scalar("title", true);
    if (!title.ok()) return title.status();
    inc.title = *title;

    Result<std::string> status = scalar("status", true);
    if (!status.ok()) return status.status();
    if (*status == "open") {
      inc.status = IncidentStatus::kOpen;
    } else if (*status == "resolved") {
      inc.status = IncidentStatus::kResolved;
    } else {
      return Problem(path, LineOf(root["status"]),
                     "status must be open or resolved, got " + Quote(*status));
    }

    Result<std::string> severity = scalar("severity", true);
    if (!severity.ok()) return severity.status();
    inc.severity = *severity;

    Result<std::string> opened = scalar("opened", true);
    if (!opened.ok()) return opened.status();
    Result<TimePoint> opened_at = time("opened", *opened);
    if (!opened_at.ok()) return opened_at.status();
    inc.opened = *opened_at;

    Result<std::string> resolved = scalar("resolved", false);
    if (!resolved.ok()) return resolved.status();
    if (!resolved->empty()) {
      Result<TimePoint> resolved_at = time("resolved", *resolved);
      if (!resolved_at.ok()) return resolved_at.status();
      inc.resolved = *resolved_at;
    }

    Result<std::string> url = scalar("url", false);
    if (!url.ok()) return url.status();
    inc.url = *url;

    YAML::Node envs = root["environments"];
    if (envs.IsDefined() && !envs.IsNull()) {
      if (envs.IsScalar()) {
        return Problem(path, LineOf(envs),
                       "environments must be a list, e.g. [prod]; got " + Quote(envs.Scalar()));
      }
      if (!envs.IsSequence()) {
        return Problem(path, LineOf(envs), "environments must be a list of environment names");
      }
      for (size_t i = 0; i < envs.size(); ++i) {
        const YAML::Node item = envs[i];
        if (!item.IsScalar() || item.Scalar().empty()) {
          return Problem(path, LineOf(item),
                         "environments[" + std::to_string(i) + "] must be an environment name");
        }
        inc.environments.push_back(item.Scalar());
      }
    }
    return inc;
  } catch (const std::exception& e) {
    return Problem(path, 0, std::string("cannot read incident: ") + e.what());
  }
}

bool BlocksEnvironment(const Incident& incident, const std::string& env) {
  if (incident.status != IncidentStatus::kOpen) return false;
  if (incident.environments.empty()) return true;
  return std::find(incident.environments.begin(), incident.environments.end(), env) !=
         incident.environments.end();
}

gates::IncidentEvidence OpenIncidentsFor(const std::string& env,
                                         const std::vector<IncidentFile>& files) {
  gates::IncidentEvidence ev;
  std::string first_error;
  int errors = 0;
  for (const IncidentFile& file : files) {
    size_t slash = file.path.find_last_of('/');
    std::string_view name =
        std::string_view(file.path).substr(slash == std::string::npos ? 0 : slash + 1);
    if (!IsIncidentFileName(name)) continue;
    Result<Incident> inc = ParseIncident(file.text, file.path);
    if (!inc.ok()) {
      if (errors++ == 0) first_error = inc.status().message();
      continue;
    }
    if (BlocksEnvironment(*inc, env)) ev.open.push_back(inc->id);
  }
  std::sort(ev.open.begin(), ev.open.end());
  ev.open.erase(std::unique(ev.open.begin(), ev.open.end()), ev.open.end());
  if (errors > 0) {
    ev.error = first_error;
    if (errors > 1) ev.error += " (and " + std::to_string(errors - 1) + " more incident files)";
  }
  return ev;
}

}  // namespace sluice::evidence
