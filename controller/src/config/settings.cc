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

// ---- Secrets stay with the controller (SPEC 1.3 rule 5) ----
// sluice.yaml may not name the forge, a secret, a secret file or a
// notification URL: whoever can push could otherwise point the controller at
// their own API (and have their own "reviews" count) or make it read a file
// of their choosing. Such keys are ignored and reported with the fix.

constexpr char kForgeIgnored[] =
    "forge: is ignored: the forge (type, api, repo, tokenFile) comes from the controller's "
    "configuration, never from the repository; move it to the --config file of `sluice "
    "controller` (forge: {type: github, api: ..., repo: owner/name, tokenFile: /etc/sluice/...}) "
    "and delete it here";

void IgnoreForge(MapReader& top, RepoSettings& s) {
  s.ignored.push_back({top.diags().path(), top.KeyLine("forge"), kForgeIgnored});
}

bool ParseNotify(MapReader& top, RepoSettings& s) {
  FileDiags& d = top.diags();
  const YAML::Node node = top.Get("notify");
  if (IsNullish(node)) return true;
  if (!node.IsSequence()) {
    d.Add(node,
          "notify must be a list of {target: NAME} entries naming targets of the "
          "controller's configuration, got " +
              internal::Describe(node));
    return false;
  }
  bool ok = true;
  size_t i = 0;
  for (const auto& item : node) {
    std::string w = Item("notify", i++);
    int line = LineOf(item) > 0 ? LineOf(item) : LineOf(node);
    MapReader m(d, item, w, line, {"target", "slack", "webhook"});
    if (!m.valid()) {
      ok = false;
      continue;
    }
    if (m.Present("slack") || m.Present("webhook")) {
      const char* kind = m.Present("slack") ? "slack" : "webhook";
      s.ignored.push_back(
          {d.path(), line,
           w + ": " + kind +
               ": is ignored: a notification's URL and secret files come from the controller's "
               "configuration, never from the repository; define the target there (notify: "
               "{team: {" +
               (std::string(kind) == "slack" ? "slackWebhookFile: /etc/sluice/slack-url"
                                             : "url: https://..., secretFile: /etc/sluice/...") +
               "}}) and write `- { target: team }` here"});
      if (!m.Present("target")) continue;
    }
    if (auto v = m.String("target", Req::kRequired)) {
      if (!IsValidName(*v)) {
        d.Add(m.Get("target"),
              m.Where("target") + " '" + Quote(*v) + "' is not a target name; " + kNameRule);
        ok = false;
        continue;
      }
      s.notify.push_back({*v, line});
    } else {
      ok = false;
    }
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
    if (top.Present("forge")) IgnoreForge(top, s);
    ParseNotify(top, s);
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
