#include "config/controller_secrets.h"

#include <exception>
#include <set>

#include "config/yaml_reader.h"

namespace sluice::config {

using internal::FileDiags;
using internal::LineOf;
using internal::MapReader;
using internal::Quote;
using internal::Req;

namespace {

bool ParseForge(FileDiags& d, const YAML::Node& value, int key_line,
                std::optional<ForgeSettings>& out) {
  MapReader m(d, value, "forge", key_line,
              {"type", "api", "repo", "tokenFile", "statuses", "dashboardUrl"});
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
              "forge.api must be an http:// or https:// URL (e.g. https://api.github.com), got '" +
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
  if (m.Present("statuses")) {
    if (auto v = m.Bool("statuses"))
      f.statuses = *v;
    else
      ok = false;
  }
  if (m.Present("dashboardUrl")) {
    if (auto v = m.String("dashboardUrl")) {
      if (!internal::IsHttpUrl(*v)) {
        d.Add(m.Get("dashboardUrl"),
              "forge.dashboardUrl must be an http:// or https:// URL (the dashboard as people "
              "reach it, e.g. https://sluice.example.com/), got '" +
                  Quote(*v) + "'");
        ok = false;
      }
      f.dashboard_url = *v;
    } else {
      ok = false;
    }
  }
  if (ok) out = f;
  return ok;
}

bool ParseNotifyTargets(FileDiags& d, const YAML::Node& node, int key_line,
                        std::vector<Notification>& out) {
  if (!node.IsDefined() || node.IsNull()) return true;
  if (!node.IsMap()) {
    d.Add(LineOf(node) > 0 ? LineOf(node) : key_line,
          "notify must map target names to {slackWebhookFile: FILE} or {url: URL, secretFile: "
          "FILE}, e.g. notify: {team-slack: {slackWebhookFile: /etc/sluice/slack-url}}, got " +
              internal::Describe(node));
    return false;
  }
  bool ok = true;
  std::set<std::string> seen;
  for (const auto& kv : node) {
    int line = LineOf(kv.first) > 0 ? LineOf(kv.first) : key_line;
    if (!kv.first.IsScalar() || !IsValidName(kv.first.Scalar())) {
      d.Add(line, "notify: target name " + internal::Describe(kv.first) +
                      " is not valid; use lowercase letters, digits, '.', '_' and '-'");
      ok = false;
      continue;
    }
    const std::string name = kv.first.Scalar();
    const std::string where = "notify." + name;
    MapReader m(d, kv.second, where, line, {"slackWebhookFile", "url", "secretFile"});
    if (!m.valid()) {
      ok = false;
      continue;
    }
    Notification n;
    n.name = name;
    n.line = line;
    n.origin = d.path() + ":" + std::to_string(line);
    const bool slack = m.Present("slackWebhookFile");
    const bool webhook = m.Present("url");
    if (slack == webhook) {
      d.Add(line, where + (slack ? " has both slackWebhookFile and url" : " names no target") +
                      "; give exactly one of: slackWebhookFile (a file holding the Slack "
                      "incoming-webhook URL), url (a generic webhook, with an optional "
                      "secretFile)");
      ok = false;
      continue;
    }
    if (slack) {
      n.kind = "slack";
      if (m.Present("secretFile")) {
        d.Add(m.KeyLine("secretFile"),
              where + ".secretFile is for url: targets; a Slack webhook is not signed");
        ok = false;
        continue;
      }
      if (auto v = m.String("slackWebhookFile", Req::kRequired)) {
        n.url_file = *v;
      } else {
        ok = false;
        continue;
      }
    } else {
      n.kind = "webhook";
      if (auto v = m.String("url", Req::kRequired)) {
        if (!internal::IsHttpUrl(*v)) {
          d.Add(m.Get("url"),
                where + ".url must be an http:// or https:// URL, got '" + Quote(*v) + "'");
          ok = false;
          continue;
        }
        n.url = *v;
      } else {
        ok = false;
        continue;
      }
      if (!m.Read("secretFile", n.secret_file)) {
        ok = false;
        continue;
      }
    }
    if (!seen.insert(name).second) {
      d.Add(line, where + " is defined twice; keep one");
      ok = false;
      continue;
    }
    out.push_back(std::move(n));
  }
  return ok;
}

}  // namespace

bool IsSecretSettingsKey(std::string_view key) {
  return key == "forge" || key == "notify" || key == "gitUsername" || key == "gitPasswordFile";
}

bool ParseSecretSettingsKey(const std::string& path, const std::string& key,
                            const YAML::Node& key_node, const YAML::Node& value,
                            SecretSettings& out, Diagnostics& diags) {
  FileDiags d(path, diags);
  const int key_line = LineOf(key_node);
  try {
    if (key == "forge") {
      ParseForge(d, value, key_line, out.forge);
    } else if (key == "notify") {
      std::vector<Notification> targets;
      ParseNotifyTargets(d, value, key_line, targets);
      out.notify = std::move(targets);
    } else if (key == "gitUsername" || key == "gitPasswordFile") {
      if (!value.IsScalar() || value.Scalar().empty()) {
        d.Add(key_line, key + " must be a single value (" +
                            (key == "gitUsername" ? std::string("the HTTP(S) user name")
                                                  : std::string("a file holding the password")) +
                            ")");
      } else {
        (key == "gitUsername" ? out.git_username : out.git_password_file) = value.Scalar();
      }
    } else {
      d.Add(key_line, "'" + key + "' is not a secret setting");
    }
  } catch (const std::exception& e) {
    d.Add(key_line, std::string("cannot read ") + key + ": " + Quote(e.what()));
  }
  return d.ok();
}

}  // namespace sluice::config
