#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"

namespace sluice::config {

// The forge the controller asks about reviews and opens pull requests on.
// From the controller's configuration only (`forge:` of --config), never
// from the repository (SPEC 1.3 rule 5): whoever can edit sluice.yaml must
// not choose the API, the repository whose reviews count, or the token.
struct ForgeSettings {
  std::string type;        // github | gitlab
  std::string api;         // base URL
  std::string repo;        // owner/name or group/project
  std::string token_file;  // `tokenFile:`; or SLUICE_FORGE_TOKEN in the environment
  // `statuses:` (default true): the controller posts a commit status
  // sluice/<env> on the head of each open pull request that changes
  // environments/<env>/ (engine/pull_request_checks.h).
  bool statuses = true;
  // `dashboardUrl:` the controller's dashboard as people reach it, the link
  // of each status. "" leaves the link out.
  std::string dashboard_url;
};

// One notification target of the controller's configuration (`notify:` of
// --config, by name). Its URL and secret files live on the controller's host.
struct Notification {
  std::string name;  // the key under notify:, which sluice.yaml refers to
  // exactly one kind
  std::string kind;         // "slack" | "webhook"
  std::string url;          // webhook url
  std::string url_file;     // slack: `slackWebhookFile:`
  std::string secret_file;  // webhook: `secretFile:`
  std::string origin;       // "<config path>:<line>", for messages
  int line = 0;             // of the entry, for messages
};

// An entry of sluice.yaml's notify: list: the name of a target the
// controller's configuration defines (`- { target: team-slack }`).
struct NotifyRef {
  std::string target;
  int line = 0;  // in sluice.yaml
};

// sluice.yaml at the repository root. Only `pipeline` is required.
struct RepoSettings {
  std::vector<std::string> pipeline;                       // promotion order; env names
  std::map<std::string, std::vector<std::string>> groups;  // logins and/or emails
  std::vector<std::string> signers;                        // allowed_signers lines
  std::vector<NotifyRef> notify;                           // targets to notify, by name
  // Values the repository may not set because they name a secret, a file or
  // the forge (`forge:`, `notify: [{slack: {webhookFile}}]`, ...): they have
  // no effect, and each entry says so with the fix. Not parse errors: the
  // rest of the file is in force. `sluice validate` reports them as
  // problems, the controller logs them.
  Diagnostics ignored;
};

// True for names usable as an environment or app: [a-z0-9][a-z0-9._-]{0,62}
// (they become ref path components and directory names).
bool IsValidName(std::string_view name);

// Parses sluice.yaml (repository path "sluice.yaml"). Returns nullopt with
// diagnostics on error: missing or empty pipeline, duplicate or invalid env
// names, unknown keys, wrong types. Secret-bearing keys are not errors: they
// land in RepoSettings::ignored.
std::optional<RepoSettings> ParseRepoSettings(std::string_view yaml_text, const std::string& path,
                                              Diagnostics& diags);

}  // namespace sluice::config
