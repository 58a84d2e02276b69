#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "record/event.h"

namespace sluice::notify {

// Whether events of `kind` are sent to people: blocked, applied, verified,
// failed, rolled-back, drift and any kind added later. `waiting` (it passes
// by itself), `applying` (always followed by an outcome) and `step` (several
// per canary or blue-green release, which ends in an outcome) are not.
bool IsNotified(record::EventKind kind);

// The web page of `commit` in the environments repository, or "" when no
// address is known: from `forge` (github: api.github.com -> github.com,
// GitHub Enterprise .../api/v3 -> ...; gitlab: .../api/v4 -> ...), else from
// `repo_url` when it is an https:// URL on github.com or gitlab.com. Any
// user:password in `repo_url` is dropped. Pure.
std::string CommitUrl(const std::optional<config::ForgeSettings>& forge,
                      const std::string& repo_url, const std::string& commit);

// One line for people: "prod/api 2.5.3 blocked: 0 of 1 approvals". Pure.
std::string Summary(const record::Event& e);

// The Slack incoming-webhook body (https://api.slack.com/messaging/webhooks):
// `text` as the notification fallback plus Block Kit `blocks` — a section
// with the headline, a section of fields (environment, app, version, digest
// shortened, event, commit as a link when `commit_url` is set), the reason,
// and a context line (time, controller). Text from the repository is escaped
// for mrkdwn (&, <, >) and bounded to Slack's limits. Pure.
std::string SlackPayload(const record::Event& e, const std::string& commit_url);

// The generic webhook body: an envelope {type: "sluice.event", delivery,
// summary, commitUrl, event} whose `event` is the record's event object
// exactly as in refs/notes/sluice (docs/record.md). Pure.
std::string WebhookPayload(const record::Event& e, const std::string& commit_url,
                           const std::string& delivery_id);

// "sha256=<hex HMAC-SHA256 of body keyed by secret>", the value of the
// X-Sluice-Signature-256 header (the shape of GitHub's X-Hub-Signature-256).
std::string SignatureHeaderValue(std::string_view secret, std::string_view body);

// A new random delivery id (32 hex digits); stays the same across the
// retries of one delivery so receivers can drop duplicates.
std::string NewDeliveryId();

}  // namespace sluice::notify
