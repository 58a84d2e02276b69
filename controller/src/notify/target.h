#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/result.h"

namespace sluice::notify {

// Where notifications go, with the secrets read from the controller's host.
struct Target {
  enum class Kind { kSlack, kWebhook };
  Kind kind = Kind::kWebhook;
  // The address to POST to. Secret for Slack (the URL's path is the
  // credential): never logged; use `name` in messages.
  std::string url;
  std::string secret;  // webhook HMAC key; empty: the payload is not signed
  // For logs, errors and metrics: "slack hooks.slack.com" or
  // "webhook https://hooks.example.com/sluice" (no credentials, no query).
  std::string name;
  // The target's name in the controller's configuration (`notify: {team:
  // ...}`), which sluice.yaml's `- { target: team }` refers to.
  std::string id;
};

// `url` as it may be shown: for a Slack webhook only scheme and host; for a
// generic webhook without user:password, query or fragment. Pure.
std::string RedactedTargetUrl(Target::Kind kind, const std::string& url);

// Builds one Target per `notify:` entry of the controller's configuration,
// reading the Slack `slackWebhookFile` and the webhook `secretFile` (paths on
// the controller's host; never named by the repository, SPEC 1.3 rule 5).
// The values read are registered as secrets (core/secrets.h). A file that
// cannot be read, is empty, or (Slack) does not hold an http(s) URL is an
// error naming the configuration's line, the file and the fix — never the
// file's content. Every entry is tried: the targets that loaded are returned
// in `targets` and the problems, one per line, in the error.
Status LoadTargets(const std::vector<config::Notification>& entries,
                   std::vector<std::shared_ptr<const Target>>& targets);

}  // namespace sluice::notify
