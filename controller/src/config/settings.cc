#include "config/settings.h"

#include <algorithm>
#include <exception>
#include <set>

#include "config/parse_internal.h"
#include "config/yaml_reader.h"

namespace sluice::config {

using internal::FileDiags;
using internal::Item;
using internal::LineOf;
using internal::MapReader;
using internal::Quote;
using internal::Req;

namespace {

bool IsNullish(const YAML::Node& v) { return !v.IsDefined() || v.IsNull(); }

const char kNameRule[] =
    "use lowercase letters, digits, '.', '_' and '-' (at most 63), starting with a letter or "
    "digit";

bool ParsePipeline(MapReader& top, std::vector<std::string>& out) {
  FileDiags& d = top.diags();
  const char kHint[] =
      "list the environments in promotion order, e.g. pipeline: [dev, staging, "
      "prod]";
  if (!top.Present("pipeline")) {
    top.Missing("pipeline", kHint);
    return false;
  }
  const YAML::Node node = top.Get("pipeline");
  if (IsNullish(node) || (node.IsSequence() && node.size() == 0)) {
    d.Add(top.KeyLine("pipeline"), std::string("pipeline is empty; ") + kHint);
    return false;
  }
  if (!node.IsSequence()) {
    d.Add(node, "pipeline must be a list of environment names (e.g. [dev, staging, prod]), got " +
                    internal::Describe(node));
    return false;
  }
  bool ok = true;
  std::set<std::string> seen;
  size_t i = 0;
  for (const auto& item : node) {
    std::string w = Item("pipeline", i++);
    int line = LineOf(item) > 0 ? LineOf(item) : LineOf(node);
    if (IsNullish(item) || !item.IsScalar()) {
      d.Add(line, w + " must be an environment name, got " + internal::Describe(item));
      ok = false;
      continue;
    }
    const std::string& name = item.Scalar();
    if (!IsValidName(name)) {
      d.Add(line, w + " '" + Quote(name) + "' is not a valid environment name; " + kNameRule);
      ok = false;
      continue;
    }
    if (!seen.insert(name).second) {
      d.Add(line, w + ": environment '" + name +
                      "' appears twice in the pipeline; list each environment once");
      ok = false;
      continue;
    }
    d.Record(w, line);
    out.push_back(name);
  }
  return ok;
}

bool ParseGroups(MapReader& top, std::map<std::string, std::vector<std::string>>& out) {
  FileDiags& d = top.diags();
  const YAML::Node node = top.Get("groups");
  if (IsNullish(node)) return true;
  if (!node.IsMap()) {
    d.Add(node,
          "groups must be a map of group name to a list of members (forge logins or "
          "commit emails), got " +
              internal::Describe(node));
    return false;
  }
  bool ok = true;
  for (const auto& kv : node) {
    if (IsNullish(kv.first) || !kv.first.IsScalar() || kv.first.Scalar().empty()) {
      d.Add(LineOf(kv.first) > 0 ? LineOf(kv.first) : LineOf(node),
            "groups has the key " + internal::Describe(kv.first) +
                "; group names must be plain names such as release-managers");
      ok = false;
      continue;
    }
    const std::string& name = kv.first.Scalar();
    d.Record(internal::Child("groups", name), LineOf(kv.first));
    // Keep the name even if its members are malformed, so that references to
    // the group are not reported as unknown as well.
    std::vector<std::string>& members = out[name];
    if (auto v = internal::AsStringList(d, kv.second, internal::Child("groups", name))) {
      members = *v;
    } else {
      ok = false;
    }
  }
  return ok;
}

bool ParseForge(MapReader& top, std::optional<ForgeSettings>& out) {
  FileDiags& d = top.diags();
  MapReader m(d, top.Get("forge"), "forge", top.KeyLine("forge"),
              {"type", "api", "repo", "tokenFile"});
  if (!m.valid()) return false;
  ForgeSettings f;
  bool ok = true;
  if (auto v = m.Enum("type", {"github", "gitlab"}, Req::kRequired))
    f.type = *v;
  else
    ok = false;
  if (m.Present("api")) {
    if (auto v = m.String("api")) {
      if (!internal::IsHttpUrl(*v)) {
        d.Add(m.Get("api"),
              "forge.api must be an http:// or https:// URL (e.g. "
              "https://api.github.com), got '" +
                  Quote(*v) + "'");
        ok = false;
      }
      f.api = *v;
    } else {
      ok = false;
    }
  } else if (f.type == "github") {
    f.api = "https://api.github.com";
  } else if (f.type == "gitlab") {
    f.api = "https://gitlab.com/api/v4";
  }
  if (auto v = m.String("repo", Req::kRequired)) {
    f.repo = *v;
    if (v->find('/') == std::string::npos || v->front() == '/' || v->back() == '/') {
      d.Add(m.Get("repo"),
            "forge.repo '" + Quote(*v) + "' must be owner/name (GitHub) or group/project (GitLab)");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (!m.Read("tokenFile", f.token_file)) ok = false;
  out = f;
  return ok;
}

bool ParseNotify(MapReader& top, std::vector<Notification>& out) {
  FileDiags& d = top.diags();
  const YAML::Node node = top.Get("notify");
  if (IsNullish(node)) return true;
  if (!node.IsSequence()) {
    d.Add(node, "notify must be a list of {slack: {...}} or {webhook: {...}} entries, got " +
                    internal::Describe(node));
    return false;
  }
  bool ok = true;
  size_t i = 0;
  for (const auto& item : node) {
    std::string w = Item("notify", i++);
    int line = LineOf(item) > 0 ? LineOf(item) : LineOf(node);
    MapReader m(d, item, w, line, {"slack", "webhook"});
    if (!m.valid()) {
      ok = false;
      continue;
    }
    bool slack = m.Present("slack");
    bool webhook = m.Present("webhook");
    if (slack == webhook) {
      d.Add(line, w + (slack ? " has both slack and webhook" : " names no target") +
                      "; each entry must have exactly one of: slack, webhook");
      ok = false;
      continue;
    }
    Notification n;
    n.line = line;
    if (slack) {
      n.kind = "slack";
      MapReader s(d, m.Get("slack"), m.Where("slack"), m.KeyLine("slack"), {"webhookFile"});
      if (!s.valid()) {
        ok = false;
        continue;
      }
      if (auto v = s.String("webhookFile", Req::kRequired))
        n.url_file = *v;
      else
        ok = false;
    } else {
      n.kind = "webhook";
      MapReader h(d, m.Get("webhook"), m.Where("webhook"), m.KeyLine("webhook"),
                  {"url", "secretFile"});
      if (!h.valid()) {
        ok = false;
        continue;
      }
      if (auto v = h.String("url", Req::kRequired)) {
        if (!internal::IsHttpUrl(*v)) {
          d.Add(h.Get("url"),
                h.Where("url") + " must be an http:// or https:// URL, got '" + Quote(*v) + "'");
          ok = false;
        }
        n.url = *v;
      } else {
        ok = false;
      }
      if (!h.Read("secretFile", n.secret_file)) ok = false;
    }
    out.push_back(std::move(n));
  }
  return ok;
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

namespace internal {

bool ParseRepoSettingsInto(std::string_view yaml_text, const std::string& path, Diagnostics& diags,
                           RepoSettings& s, LineIndex* lines) {
  FileDiags d(path, diags, lines);
  try {
    std::optional<YAML::Node> doc = LoadDocument(yaml_text, d);
    if (!doc) return false;
    MapReader top(d, *doc, "", RootLine(*doc),
                  {"pipeline", "groups", "signers", "forge", "notify"});
    if (!top.valid()) return false;
    ParsePipeline(top, s.pipeline);
    ParseGroups(top, s.groups);
    if (top.Present("signers")) {
      if (auto v = top.StringList("signers")) s.signers = *v;
    }
    if (top.Has("forge")) ParseForge(top, s.forge);
    ParseNotify(top, s.notify);
  } catch (const std::exception& e) {
    d.Add(0, std::string("internal error while reading the settings: ") + Quote(e.what()));
  }
  d.SortByLine();
  return d.ok();
}

}  // namespace internal

std::optional<RepoSettings> ParseRepoSettings(std::string_view yaml_text, const std::string& path,
                                              Diagnostics& diags) {
  RepoSettings s;
  if (!internal::ParseRepoSettingsInto(yaml_text, path, diags, s, nullptr)) return std::nullopt;
  return s;
}

}  // namespace sluice::config
