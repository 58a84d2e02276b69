#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/settings.h"

namespace sluice::config {

// The secret-bearing part of the controller's own configuration (the YAML
// file of --config), SPEC 1.3 rule 5: the forge, the notification targets
// and the Git credentials come from here, never from the repository.
//
//   forge: { type: github, api: https://api.github.com, repo: shop/environments,
//            tokenFile: /etc/sluice/forge-token }
//   notify:
//     team-slack: { slackWebhookFile: /etc/sluice/slack-url }
//     audit-hook: { url: https://hooks.example.com/sluice, secretFile: /etc/sluice/hook-secret }
//   gitUsername: sluice-bot
//   gitPasswordFile: /etc/sluice/git-password
//
// sluice.yaml's `notify:` names targets (`- { target: team-slack }`).
struct SecretSettings {
  std::optional<ForgeSettings> forge;
  std::vector<Notification> notify;  // named targets, in file order
  std::string git_username;          // gitUsername
  std::string git_password_file;     // gitPasswordFile
};

// True for the top-level keys of --config that SecretSettings holds:
// forge, notify, gitUsername, gitPasswordFile.
bool IsSecretSettingsKey(std::string_view key);

// Parses the value of one such key of the file `path` into `out`. Problems
// are added to `diags` as "path:line: message" with the fix; returns false
// when it added one. Paths are not read here (ReadSecretFile does, at
// start). Pure; never throws.
bool ParseSecretSettingsKey(const std::string& path, const std::string& key,
                            const YAML::Node& key_node, const YAML::Node& value,
                            SecretSettings& out, Diagnostics& diags);

}  // namespace sluice::config
