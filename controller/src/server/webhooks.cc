#include "server/webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cctype>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>

namespace sluice::server {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string ToHex(const unsigned char* data, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

// Request-supplied text quoted in a reason: printable ASCII, at most 80 chars.
std::string Clip(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 80 ? out + "..." : out;
}

// The "ref" of a push payload, or nullopt (with `error` set) when the body is
// not a JSON object.
std::optional<std::string> PushRef(std::string_view body, std::string* error) {
  auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "body is not a JSON object (send the payload as application/json)";
    return std::nullopt;
  }
  auto it = j.find("ref");
  if (it == j.end() || !it->is_string()) return std::string();
  return it->get<std::string>();
}

HookDecision JudgePush(std::string_view body, const std::string& branch, const char* what) {
  std::string error;
  auto ref = PushRef(body, &error);
  if (!ref) return {HookVerdict::kBadRequest, std::string(what) + ": " + error};
  const std::string want = "refs/heads/" + branch;
  if (*ref == want) return {HookVerdict::kWake, std::string(what) + " to " + want};
  return {HookVerdict::kIgnore, std::string(what) + " to " +
                                    (ref->empty() ? "(no ref)" : Clip(*ref)) +
                                    ", not the tracked " + want};
}

// A pull/merge request event (GitHub pull_request, pull_request_review;
// GitLab Merge Request Hook) whose target is the tracked branch wakes the
// controller, which re-posts the gate results on open requests. `base` is
// where the payload names the target branch.
HookDecision JudgeChangeRequest(std::string_view body, const std::string& branch,
                                const std::string& what, std::initializer_list<const char*> base) {
  auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return {HookVerdict::kBadRequest,
            what + ": body is not a JSON object (send the payload as application/json)"};
  }
  const nlohmann::json* node = &j;
  for (const char* key : base) {
    auto it = node->find(key);
    if (it == node->end()) {
      node = nullptr;
      break;
    }
    node = &*it;
    if (!node->is_object() && !node->is_string()) {
      node = nullptr;
      break;
    }
  }
  const std::string target = node && node->is_string() ? node->get<std::string>() : "";
  if (target == branch) return {HookVerdict::kWake, what + " into " + branch};
  return {HookVerdict::kIgnore, what + " into " + (target.empty() ? "(no branch)" : Clip(target)) +
                                    ", not the tracked " + branch};
}

}  // namespace

const char* HookSourceName(HookSource source) {
  switch (source) {
    case HookSource::kGitHub:
      return "github";
    case HookSource::kGitLab:
      return "gitlab";
    case HookSource::kGeneric:
      return "generic";
  }
  return "unknown";
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return ToHex(md, len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool VerifySha256Signature(std::string_view secret, std::string_view body,
                           std::string_view header) {
  constexpr std::string_view kPrefix = "sha256=";
  if (secret.empty() || header.size() != kPrefix.size() + 64) return false;
  if (Lower(header.substr(0, kPrefix.size())) != kPrefix) return false;
  return ConstantTimeEquals(HmacSha256Hex(secret, body), Lower(header.substr(kPrefix.size())));
}

bool VerifyToken(std::string_view secret, std::string_view token) {
  if (secret.empty() || token.empty()) return false;
  return ConstantTimeEquals(Sha256(secret), Sha256(token));
}

HookDecision EvaluateHook(HookSource source, std::string_view secret, const std::string& branch,
                          const std::function<std::string(const std::string&)>& header,
                          std::string_view body) {
  switch (source) {
    case HookSource::kGitHub: {
      std::string sig = header("X-Hub-Signature-256");
      if (sig.empty()) return {HookVerdict::kUnauthorized, "missing X-Hub-Signature-256 header"};
      if (!VerifySha256Signature(secret, body, sig)) {
        return {HookVerdict::kUnauthorized, "X-Hub-Signature-256 does not match the body"};
      }
      std::string event = header("X-GitHub-Event");
      if (event == "ping") return {HookVerdict::kIgnore, "ping event"};
      if (event == "pull_request" || event == "pull_request_review") {
        return JudgeChangeRequest(body, branch, event, {"pull_request", "base", "ref"});
      }
      if (!event.empty() && event != "push") {
        return {HookVerdict::kIgnore, "'" + Clip(event) + "' event, not a push"};
      }
      return JudgePush(body, branch, "push");
    }
    case HookSource::kGitLab: {
      std::string token = header("X-Gitlab-Token");
      if (token.empty()) return {HookVerdict::kUnauthorized, "missing X-Gitlab-Token header"};
      if (!VerifyToken(secret, token)) {
        return {HookVerdict::kUnauthorized, "X-Gitlab-Token does not match the secret"};
      }
      std::string event = header("X-Gitlab-Event");
      if (event == "Merge Request Hook") {
        return JudgeChangeRequest(body, branch, "merge request",
                                  {"object_attributes", "target_branch"});
      }
      if (!event.empty() && event != "Push Hook") {
        return {HookVerdict::kIgnore, "'" + Clip(event) + "' event, not a push"};
      }
      return JudgePush(body, branch, "push");
    }
    case HookSource::kGeneric: {
      // The name outgoing notifications sign with; the older name is a
      // deprecated alias, read only when the new one is absent.
      std::string name = "X-Sluice-Signature-256";
      std::string sig = header(name);
      if (sig.empty()) {
        name = "X-Sluice-Signature";
        sig = header(name);
      }
      if (sig.empty()) {
        return {HookVerdict::kUnauthorized, "missing X-Sluice-Signature-256 header"};
      }
      if (!VerifySha256Signature(secret, body, sig)) {
        return {HookVerdict::kUnauthorized, name + " does not match the body"};
      }
      // Verified; an empty body needs no parsing, any other must be JSON.
      if (!body.empty() &&
          nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false)
              .is_discarded()) {
        return {HookVerdict::kBadRequest,
                "body is not JSON (send a JSON payload such as {\"reason\":\"manual\"}, or "
                "an empty body)"};
      }
      return {HookVerdict::kWake, "generic hook"};
    }
  }
  return {HookVerdict::kUnauthorized, "unknown source"};
}

}  // namespace sluice::server
