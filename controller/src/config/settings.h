#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"

namespace sluice::config {

struct ForgeSettings {
  std::string type;  // github | gitlab
  std::string api;   // base URL
  std::string repo;  // owner/name or group/project
  std::string token_file;  // `tokenFile:`; or SLUICE_FORGE_TOKEN in the environment
};

struct Notification {
  // exactly one kind
  std::string kind;         // "slack" | "webhook"
  std::string url;          // webhook url
  std::string url_file;     // slack: `webhookFile:`
  std::string secret_file;  // webhook: `secretFile:`
  int line = 0;             // of the entry in sluice.yaml, for messages
};

// sluice.yaml at the repository root. Only `pipeline` is required.
struct RepoSettings {
  std::vector<std::string> pipeline;  // promotion order; env names
  std::map<std::string, std::vector<std::string>> groups;  // logins and/or emails
  std::vector<std::string> signers;   // allowed_signers lines
  std::optional<ForgeSettings> forge;
  std::vector<Notification> notify;
};

// True for names usable as an environment or app: [a-z0-9][a-z0-9._-]{0,62}
// (they become ref path components and directory names).
bool IsValidName(std::string_view name);

// Parses sluice.yaml (repository path "sluice.yaml"). Returns nullopt with
// diagnostics on error: missing or empty pipeline, duplicate or invalid env
// names, unknown keys, wrong types.
std::optional<RepoSettings> ParseRepoSettings(std::string_view yaml_text,
                                              const std::string& path, Diagnostics& diags);

}  // namespace sluice::config
