#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace sluice::server {

// Webhook verification (pure functions: no I/O, no logging, no clock).
//
// GitHub signs the raw body with HMAC-SHA256 under the webhook secret and
// sends "sha256=<hex digest>" in X-Hub-Signature-256 ("Validating webhook
// deliveries", docs.github.com). GitLab sends the secret token itself in
// X-Gitlab-Token ("Webhooks: validate payloads by using a secret token",
// docs.gitlab.com). Sluice's generic hook takes X-Sluice-Signature-256 in the
// GitHub shape (the header outgoing notifications sign with), so any CI can
// call it with `openssl dgst -sha256 -hmac`; X-Sluice-Signature is read as a
// deprecated alias when X-Sluice-Signature-256 is absent.

enum class HookSource { kGitHub, kGitLab, kGeneric };

// "github" | "gitlab" | "generic".
const char* HookSourceName(HookSource source);

// Lower-case hex of HMAC-SHA256(key, data).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Whether `a` and `b` are equal, in time that depends only on their lengths
// (CRYPTO_memcmp). Strings of different lengths are unequal.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Whether `header` ("sha256=<64 hex>", hex in either case) is the HMAC-SHA256
// of `body` under `secret`. An empty secret or header never verifies.
bool VerifySha256Signature(std::string_view secret, std::string_view body, std::string_view header);

// Whether `token` equals `secret`, compared in constant time over their
// SHA-256 digests so that even the secret's length does not leak. An empty
// secret or token never verifies.
bool VerifyToken(std::string_view secret, std::string_view token);

// The verdict on one delivery.
enum class HookVerdict {
  kWake,          // a verified push to the tracked branch (or a generic call): 202
  kIgnore,        // verified, but another event or branch: 204
  kUnauthorized,  // missing or bad signature/token: 401
  kBadRequest,    // verified, but the body is not the JSON the event needs: 400
};

struct HookDecision {
  HookVerdict verdict = HookVerdict::kUnauthorized;
  std::string reason;  // one line for the log and the response; never holds the secret
};

// Judges a delivery from `source`: verifies it with `secret` first (nothing
// in the body is parsed before), then for GitHub and GitLab decides whether
// it is a push to refs/heads/<branch>. GitHub "ping" and any other event are
// ignored; a generic call that verifies wakes when its body is empty or
// JSON (400 otherwise). `header` returns a
// request header's value by (case-insensitive) name, or "".
HookDecision EvaluateHook(HookSource source, std::string_view secret, const std::string& branch,
                          const std::function<std::string(const std::string&)>& header,
                          std::string_view body);

}  // namespace sluice::server
