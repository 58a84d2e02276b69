#include "notify/payload.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <nlohmann/json.hpp>
#include <random>

#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace sluice::notify {
namespace {

using nlohmann::ordered_json;

// Slack's limits: a section's text and a field's text (3,000 and 2,000
// characters); we stay well below them.
constexpr size_t kMaxReasonChars = 2500;
constexpr size_t kMaxFieldChars = 1000;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string StripSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Bounded(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

// Slack mrkdwn: &, < and > are control characters and must be escaped
// (https://api.slack.com/reference/surfaces/formatting#escaping).
std::string EscapeMrkdwn(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string ShortDigest(const std::string& digest) {
  auto colon = digest.find(':');
  if (colon == std::string::npos) return digest.substr(0, 19);
  return digest.substr(0, std::min(digest.size(), colon + 1 + 12));
}

std::string Headline(record::EventKind kind) {
  switch (kind) {
    case record::EventKind::kBlocked:
      return ":no_entry: *Blocked*";
    case record::EventKind::kApplied:
      return ":rocket: *Deployed* (verification running)";
    case record::EventKind::kVerified:
      return ":white_check_mark: *Verified*";
    case record::EventKind::kFailed:
      return ":x: *Failed*";
    case record::EventKind::kRolledBack:
      return ":rewind: *Rolled back*";
    case record::EventKind::kDrift:
      return ":warning: *Drift*";
    default:
      return ":information_source: *" + std::string(record::EventKindName(kind)) + "*";
  }
}

ordered_json Mrkdwn(const std::string& text) { return {{"type", "mrkdwn"}, {"text", text}}; }

ordered_json EventJson(const record::Event& e) {
  return ordered_json::parse(record::EventToJsonLine(e));
}

}  // namespace

bool IsNotified(record::EventKind kind) {
  // Release steps (deploy.strategy) are many per release: the release's
  // applied / verified / failed say what people need.
  return kind != record::EventKind::kWaiting && kind != record::EventKind::kApplying &&
         kind != record::EventKind::kStep;
}

std::string CommitUrl(const std::optional<config::ForgeSettings>& forge,
                      const std::string& repo_url, const std::string& commit) {
  if (commit.empty()) return "";
  if (forge && !forge->repo.empty()) {
    std::string api = StripSlash(forge->api);
    if (forge->type == "github") {
      std::string web;
      if (api.empty() || api == "https://api.github.com") {
        web = "https://github.com";
      } else if (EndsWith(api, "/api/v3")) {
        web = api.substr(0, api.size() - 7);  // GitHub Enterprise Server
      }
      if (!web.empty()) return web + "/" + forge->repo + "/commit/" + commit;
    } else if (forge->type == "gitlab") {
      std::string web = api.empty() ? "https://gitlab.com" : "";
      if (EndsWith(api, "/api/v4")) web = api.substr(0, api.size() - 7);
      if (!web.empty()) return web + "/" + forge->repo + "/-/commit/" + commit;
    }
  }
  // https://[user@]github.com/owner/name(.git)
  constexpr std::string_view kHttps = "https://";
  if (repo_url.rfind(kHttps, 0) != 0) return "";
  std::string rest = repo_url.substr(kHttps.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos) return "";
  std::string host = rest.substr(0, slash);
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  std::string path = StripSlash(rest.substr(slash + 1));
  if (EndsWith(path, ".git")) path.resize(path.size() - 4);
  if (path.empty() || path.find_first_of("?#") != std::string::npos) return "";
  if (host == "github.com") return "https://github.com/" + path + "/commit/" + commit;
  if (host == "gitlab.com") return "https://gitlab.com/" + path + "/-/commit/" + commit;
  return "";
}

std::string Summary(const record::Event& e) {
  std::string s = e.env + "/" + e.app;
  if (!e.version.empty()) s += " " + e.version;
  s += " " + std::string(record::EventKindName(e.kind));
  if (!e.reason.empty()) s += ": " + e.reason.substr(0, e.reason.find('\n'));
  return Bounded(s, 300);
}

std::string SlackPayload(const record::Event& e, const std::string& commit_url) {
  const std::string where = "`" + EscapeMrkdwn(e.app) + "` in *" + EscapeMrkdwn(e.env) + "*";
  ordered_json fields = ordered_json::array();
  fields.push_back(Mrkdwn("*Environment*\n" + EscapeMrkdwn(e.env)));
  fields.push_back(Mrkdwn("*App*\n" + EscapeMrkdwn(e.app)));
  fields.push_back(
      Mrkdwn("*Version*\n" + (e.version.empty() ? "—" : Bounded(EscapeMrkdwn(e.version), 200))));
  fields.push_back(Mrkdwn("*Digest*\n`" + EscapeMrkdwn(ShortDigest(e.digest)) + "`"));
  fields.push_back(Mrkdwn("*Event*\n" + std::string(record::EventKindName(e.kind))));
  std::string short_commit = ShortId(e.commit);
  fields.push_back(
      Mrkdwn("*Commit*\n" + (commit_url.empty() ? "`" + EscapeMrkdwn(short_commit) + "`"
                                                : "<" + commit_url + "|" + short_commit + ">")));
  for (auto& f : fields) f["text"] = Bounded(f["text"].get<std::string>(), kMaxFieldChars);

  ordered_json blocks = ordered_json::array();
  blocks.push_back({{"type", "section"}, {"text", Mrkdwn(Headline(e.kind) + ": " + where)}});
  blocks.push_back({{"type", "section"}, {"fields", fields}});
  if (!e.reason.empty()) {
    blocks.push_back(
        {{"type", "section"},
         {"text", Mrkdwn("*Why:* " + Bounded(EscapeMrkdwn(e.reason), kMaxReasonChars))}});
  }
  if (!e.approvers.empty()) {
    std::string who;
    for (const auto& a : e.approvers) who += (who.empty() ? "" : ", ") + a;
    blocks.push_back({{"type", "context"},
                      {"elements", {Mrkdwn("Approved by " + Bounded(EscapeMrkdwn(who), 500))}}});
  }
  std::string context = FormatRfc3339(e.time) + " · Sluice";
  if (!e.controller_version.empty()) context += " " + e.controller_version;
  if (!e.controller_id.empty()) context += " on " + e.controller_id;
  blocks.push_back({{"type", "context"}, {"elements", {Mrkdwn(EscapeMrkdwn(context))}}});

  ordered_json j;
  j["text"] = Summary(e);  // the notification and screen-reader fallback
  j["blocks"] = std::move(blocks);
  return DumpJson(j);
}

std::string WebhookPayload(const record::Event& e, const std::string& commit_url,
                           const std::string& delivery_id) {
  ordered_json j;
  j["type"] = "sluice.event";
  j["delivery"] = delivery_id;
  j["summary"] = Summary(e);
  j["commitUrl"] = commit_url;
  j["event"] = EventJson(e);
  return DumpJson(j);
}

std::string SignatureHeaderValue(std::string_view secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xF];
  }
  return out;
}

std::string NewDeliveryId() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 2; ++i) {
    uint64_t v = rng();
    for (int b = 0; b < 16; ++b, v >>= 4) id += kHex[v & 0xF];
  }
  return id;
}

}  // namespace sluice::notify
