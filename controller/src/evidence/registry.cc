#include "evidence/registry.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "config/pin.h"
#include "core/base64.h"
#include "core/text.h"

namespace sluice::evidence {

using nlohmann::json;

namespace {

constexpr char kDockerHub[] = "docker.io";
constexpr char kDockerHubApi[] = "registry-1.docker.io";
constexpr size_t kMaxCredentialsFile = 1024 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool IsDockerHub(const std::string& registry) {
  return registry == kDockerHub || registry == "index.docker.io" || registry == kDockerHubApi;
}

// The host without its port ("[::1]:5000" -> "::1").
std::string HostName(const std::string& host_port) {
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    return close == std::string::npos ? host_port : host_port.substr(1, close - 1);
  }
  size_t colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

bool IsLoopback(const std::string& host_port) {
  std::string h = Lower(HostName(host_port));
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

// A repository path component: [a-z0-9]+ separated by '.', '_', "__" or
// runs of '-' (the distribution spec's grammar, simplified to "alphanumeric
// at both ends, separators inside").
bool IsRepoComponent(std::string_view c) {
  if (c.empty()) return false;
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  if (!alnum(c.front()) || !alnum(c.back())) return false;
  for (char ch : c) {
    if (!alnum(ch) && ch != '.' && ch != '_' && ch != '-') return false;
  }
  return true;
}

bool IsHostPort(std::string_view h) {
  if (h.empty()) return false;
  for (char ch : h) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != ':' &&
        ch != '[' && ch != ']') {
      return false;
    }
  }
  return true;
}

// "registry.example.com", "https://registry.example.com/v1/" -> host[:port],
// lower-cased, so config.json keys compare with ImageReference::registry.
std::string NormalizeRegistryKey(std::string_view key) {
  std::string k = Lower(Trim(key));
  size_t scheme = k.find("://");
  if (scheme != std::string::npos) k = k.substr(scheme + 3);
  size_t slash = k.find('/');
  if (slash != std::string::npos) k = k.substr(0, slash);
  if (IsDockerHub(k)) k = kDockerHub;
  return k;
}

// Replaces every occurrence of each secret with "***" (defence in depth:
// messages are built without secrets). Like process::Redact, secrets
// shorter than 4 bytes are left alone rather than mangling every message.
std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3)) {
      text.replace(pos, s.size(), "***");
    }
  }
  return text;
}

// `s` with every secret scrubbed from its message; the code is kept.
Status ScrubStatus(const Status& s, const std::vector<std::string>& secrets) {
  std::string msg = Scrub(s.message(), secrets);
  switch (s.code()) {
    case Status::Code::kOk:
      return s;
    case Status::Code::kNotFound:
      return Status::NotFound(msg);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case Status::Code::kTimeout:
      return Status::Timeout(msg);
    case Status::Code::kCancelled:
      return Status::Cancelled(msg);
    case Status::Code::kConflict:
      return Status::Conflict(msg);
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(msg);
    case Status::Code::kInternal:
      return Status::Internal(msg);
    case Status::Code::kIOError:
      break;
  }
  return Status::IOError(msg);
}

std::string UrlWithoutQuery(const std::string& url) {
  std::string u = net::RedactUrl(url);
  size_t q = u.find('?');
  return q == std::string::npos ? u : u.substr(0, q);
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

// ------------------------------------------------------------ pure helpers

Result<ImageReference> ParseImageReference(std::string_view image) {
  const std::string quoted = "image \"" + std::string(TruncateUtf8(image, 200)) + "\"";
  std::string name = Trim(image);
  if (name.empty()) return Status::InvalidArgument("image name is empty");
  if (name.find("://") != std::string::npos) {
    return Status::InvalidArgument(quoted +
                                   " must not have a scheme: write host[:port]/repository");
  }
  if (size_t at = name.find('@'); at != std::string::npos) name.resize(at);
  // A tag is a ':' in the last path component (a ':' before the first '/'
  // is the registry's port).
  size_t last_slash = name.rfind('/');
  size_t tag = name.find(':', last_slash == std::string::npos ? 0 : last_slash);
  if (tag != std::string::npos) name.resize(tag);

  ImageReference ref;
  std::string repo;
  size_t slash = name.find('/');
  std::string first = slash == std::string::npos ? "" : name.substr(0, slash);
  if (!first.empty() &&
      (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
       first == "localhost" || first.front() == '[')) {
    ref.registry = Lower(first);
    repo = name.substr(slash + 1);
  } else {
    ref.registry = kDockerHub;
    repo = name;
  }
  if (!IsHostPort(ref.registry)) {
    return Status::InvalidArgument(quoted + ": registry \"" + ref.registry +
                                   "\" is not a host[:port]");
  }
  if (IsDockerHub(ref.registry)) {
    ref.registry = kDockerHub;
    ref.host = kDockerHubApi;
    if (repo.find('/') == std::string::npos) repo = "library/" + repo;
  } else {
    ref.host = ref.registry;
  }
  if (repo.empty()) return Status::InvalidArgument(quoted + " has no repository path");
  size_t start = 0;
  while (true) {
    size_t end = repo.find('/', start);
    std::string_view component =
        std::string_view(repo).substr(start, end == std::string::npos ? end : end - start);
    if (!IsRepoComponent(component)) {
      bool upper = std::any_of(component.begin(), component.end(),
                               [](unsigned char c) { return std::isupper(c); });
      return Status::InvalidArgument(
          quoted + ": repository \"" + repo + "\" is not valid" +
          (upper ? " (repository names are lower case)"
                 : " (path components are [a-z0-9] separated by '.', '_' or '-')"));
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  ref.repository = repo;
  return ref;
}

Result<std::vector<AuthChallenge>> ParseWwwAuthenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  size_t pos = 0;
  const size_t n = header.size();
  auto skip = [&](bool commas) {
    while (pos < n && (header[pos] == ' ' || header[pos] == '\t' || (commas && header[pos] == ',')))
      ++pos;
  };
  auto token = [&]() {
    size_t b = pos;
    while (pos < n && IsTokenChar(header[pos])) ++pos;
    return std::string(header.substr(b, pos - b));
  };
  skip(true);
  while (pos < n) {
    std::string scheme = token();
    if (scheme.empty()) {
      return Status::InvalidArgument("WWW-Authenticate: expected an auth scheme at offset " +
                                     std::to_string(pos));
    }
    AuthChallenge ch;
    ch.scheme = Lower(scheme);
    skip(false);
    while (pos < n) {
      size_t key_start = pos;
      std::string key = token();
      size_t after_key = pos;
      skip(false);
      if (key.empty() || pos >= n || header[pos] != '=') {
        // Not "key=": the next challenge's scheme (or token68 noise).
        pos = key.empty() ? after_key : key_start;
        if (key.empty()) {
          skip(true);
          if (pos < n && !IsTokenChar(header[pos])) ++pos;  // stray byte: move on
        }
        break;
      }
      ++pos;  // '='
      skip(false);
      std::string value;
      if (pos < n && header[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < n) {
          char c = header[pos++];
          if (c == '\\' && pos < n) {
            value += header[pos++];
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value += c;
          }
        }
        if (!closed) {
          return Status::InvalidArgument("WWW-Authenticate: unterminated quoted value for " +
                                         Lower(key));
        }
      } else {
        while (pos < n && header[pos] != ',' && header[pos] != ' ' && header[pos] != '\t') {
          value += header[pos++];
        }
      }
      ch.params[Lower(key)] = value;
      skip(false);
      if (pos < n && header[pos] == ',') {
        ++pos;
        skip(true);
      }
    }
    out.push_back(std::move(ch));
    skip(true);
  }
  if (out.empty()) return Status::InvalidArgument("WWW-Authenticate header has no challenge");
  return out;
}

Result<std::optional<RegistryCredential>> CredentialFromFileText(std::string_view text,
                                                                 const std::string& registry) {
  std::string trimmed = Trim(text);
  if (trimmed.empty()) {
    return Status::InvalidArgument("registry credentials file is empty");
  }
  const std::string wanted = NormalizeRegistryKey(registry);
  if (trimmed.front() != '{') {
    if (trimmed.find('\n') != std::string::npos) {
      return Status::InvalidArgument(
          "registry credentials file must be one line \"user:password\" or a Docker "
          "config.json");
    }
    size_t colon = trimmed.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::InvalidArgument(
          "registry credentials file must be \"user:password\" (no ':' found) or a Docker "
          "config.json");
    }
    return std::optional<RegistryCredential>(
        RegistryCredential{trimmed.substr(0, colon), trimmed.substr(colon + 1)});
  }
  json doc;
  try {
    doc = json::parse(trimmed);
  } catch (const json::exception&) {
    // No parser message: it could quote the file's text (secrets).
    return Status::InvalidArgument("registry credentials file is not valid JSON");
  }
  const json* auths = nullptr;
  if (doc.is_object()) {
    auto it = doc.find("auths");
    if (it != doc.end() && it->is_object()) auths = &*it;
  }
  if (auths == nullptr) return std::optional<RegistryCredential>();
  for (const auto& [key, entry] : auths->items()) {
    if (NormalizeRegistryKey(key) != wanted || !entry.is_object()) continue;
    auto user = entry.find("username");
    auto pass = entry.find("password");
    if (user != entry.end() && pass != entry.end() && user->is_string() && pass->is_string() &&
        !user->get<std::string>().empty()) {
      return std::optional<RegistryCredential>(
          RegistryCredential{user->get<std::string>(), pass->get<std::string>()});
    }
    auto auth = entry.find("auth");
    if (auth != entry.end() && auth->is_string()) {
      Result<std::string> decoded = Base64Decode(auth->get<std::string>());
      size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
      if (!decoded.ok() || colon == std::string::npos || colon == 0) {
        return Status::InvalidArgument("registry credentials file: auths[\"" + key +
                                       "\"].auth is not base64 of \"user:password\"");
      }
      return std::optional<RegistryCredential>(
          RegistryCredential{decoded->substr(0, colon), decoded->substr(colon + 1)});
    }
  }
  return std::optional<RegistryCredential>();
}

// ------------------------------------------------------------------ client

namespace {
const Clock& TheSystemClock() {
  static const SystemClock clock;
  return clock;
}
}  // namespace

RegistryClient::RegistryClient(net::HttpClient& http, const Clock& clock, RegistryOptions options)
    : http_(http),
      clock_(clock),
      options_(std::move(options)),
      cache_(options_.cache_ttl.count() > 0 ? options_.cache_entries : 0) {
  for (std::string& h : options_.insecure) h = Lower(Trim(h));
}

RegistryClient::RegistryClient(net::HttpClient& http, RegistryOptions options)
    : RegistryClient(http, TheSystemClock(), std::move(options)) {}

bool RegistryClient::PlainHttp(const std::string& host) const {
  if (IsLoopback(host)) return true;
  std::string h = Lower(host);
  return std::find(options_.insecure.begin(), options_.insecure.end(), h) !=
         options_.insecure.end();
}

std::optional<RegistryCredential> RegistryClient::CredentialFor(const std::string& registry,
                                                                std::string* problem) const {
  if (!options_.credentials_file.empty()) {
    std::ifstream in(options_.credentials_file, std::ios::binary);
    if (!in) {
      *problem = "cannot read registry credentials file " + options_.credentials_file;
    } else {
      std::string text(kMaxCredentialsFile + 1, '\0');
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxCredentialsFile) {
        *problem = "registry credentials file " + options_.credentials_file + " is too large";
      } else {
        Result<std::optional<RegistryCredential>> cred = CredentialFromFileText(text, registry);
        if (!cred.ok()) {
          *problem = cred.status().message() + " (" + options_.credentials_file + ")";
        } else if (cred->has_value()) {
          return **cred;
        }
      }
    }
  }
  if (options_.use_environment) {
    const char* user = std::getenv("SLUICE_REGISTRY_USERNAME");
    const char* pass = std::getenv("SLUICE_REGISTRY_PASSWORD");
    if (user != nullptr && *user != '\0' && pass != nullptr) {
      return RegistryCredential{user, pass};
    }
  }
  return std::nullopt;
}

Result<std::string> RegistryClient::FetchBearerToken(
    const AuthChallenge& challenge, const ImageReference& ref,
    const std::optional<RegistryCredential>& cred) {
  auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end() || realm_it->second.empty()) {
    return Status::IOError("registry " + ref.registry +
                           " asked for a Bearer token but named no realm");
  }
  const std::string& realm = realm_it->second;
  std::string realm_lower = Lower(realm);
  bool realm_https = realm_lower.rfind("https://", 0) == 0;
  if (!realm_https && realm_lower.rfind("http://", 0) != 0) {
    return Status::IOError("registry " + ref.registry + " named a token realm that is not an " +
                           "http(s) URL: " + UrlWithoutQuery(realm));
  }
  net::HttpRequest req;
  req.method = "GET";
  req.timeout = options_.timeout;
  req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  std::string sep;
  if (auto s = challenge.params.find("service"); s != challenge.params.end()) {
    req.url += "service=" + net::UrlEncode(s->second);
    sep = "&";
  }
  auto scope_it = challenge.params.find("scope");
  std::string scope = scope_it != challenge.params.end() && !scope_it->second.empty()
                          ? scope_it->second
                          : "repository:" + ref.repository + ":pull";
  req.url += sep + "scope=" + net::UrlEncode(scope);

  bool sent_credentials = false;
  if (cred) {
    // Credentials go to a plain-HTTP realm only on loopback or when the
    // operator listed that host as insecure.
    std::string realm_host = realm.substr(realm.find("://") + 3);
    realm_host = realm_host.substr(0, realm_host.find_first_of("/?#"));
    if (size_t at = realm_host.rfind('@'); at != std::string::npos) {
      realm_host = realm_host.substr(at + 1);
    }
    if (realm_https || PlainHttp(realm_host)) {
      req.headers.emplace_back("Authorization",
                               "Basic " + Base64Encode(cred->username + ":" + cred->password));
      sent_credentials = true;
    }
  }
  const std::string where = "token service " + UrlWithoutQuery(realm);
  Result<net::HttpResponse> res = http_.Send(req);
  if (!res.ok()) {
    return res.status().WithContext("registry " + ref.registry + ": " + where);
  }
  if (res->status == 401 || res->status == 403) {
    return Status::IOError(
        "registry " + ref.registry + ": " + where + " refused " +
        (sent_credentials ? std::string("the configured credentials")
                          : std::string("an anonymous token request")) +
        " (HTTP " + std::to_string(res->status) + ")" +
        (sent_credentials ? "; check the registry credentials"
                          : "; configure credentials (SLUICE_REGISTRY_USERNAME/PASSWORD or the "
                            "credentials file)"));
  }
  if (res->status != 200) {
    return Status::IOError("registry " + ref.registry + ": " + where + " answered HTTP " +
                           std::to_string(res->status));
  }
  json doc;
  try {
    doc = json::parse(res->body);
  } catch (const json::exception&) {
    return Status::IOError("registry " + ref.registry + ": " + where + " did not answer with JSON");
  }
  for (const char* key : {"token", "access_token"}) {
    if (doc.is_object() && doc.contains(key) && doc[key].is_string() &&
        !doc[key].get<std::string>().empty()) {
      return doc[key].get<std::string>();
    }
  }
  return Status::IOError("registry " + ref.registry + ": " + where +
                         " answered without a token or access_token");
}

Result<ManifestAnswer> RegistryClient::HeadManifest(const std::string& image,
                                                    const std::string& digest) {
  Result<ImageReference> ref = ParseImageReference(image);
  if (!ref.ok()) return ref.status();
  if (!config::IsValidDigest(digest)) {
    return Status::InvalidArgument("digest \"" + std::string(TruncateUtf8(digest, 140)) +
                                   "\" is not sha256:<64 hex> or sha512:<128 hex>");
  }
  if (options_.cache_ttl.count() <= 0) return AskRegistry(*ref, digest);

  // '\n' cannot occur in a host, repository or digest, so keys never collide.
  const std::string key = ref->host + "\n" + ref->repository + "\n" + digest;
  const TimePoint now = clock_.Now();
  // Fresh for cache_ttl after it was asked; a clock that stepped back before
  // that moment (the wall clock can) makes it stale rather than long-lived.
  auto fresh = [&](const CachedAnswer& c) {
    return c.asked <= now && now - c.asked < options_.cache_ttl;
  };
  if (std::optional<CachedAnswer> hit = cache_.Get(key, fresh)) {
    hit->answer.cached = true;
    return hit->answer;
  }
  Result<ManifestAnswer> answer = AskRegistry(*ref, digest);
  // Only "exists" is kept: a 404 may be a push still in flight, and an error
  // says nothing about the manifest.
  if (answer.ok() && answer->exists) {
    cache_.Put(key, CachedAnswer{*answer, now});
  }
  return answer;
}

Result<ManifestAnswer> RegistryClient::AskRegistry(const ImageReference& ref,
                                                   const std::string& digest) {
  ManifestAnswer answer;
  answer.url = std::string(PlainHttp(ref.host) ? "http" : "https") + "://" + ref.host + "/v2/" +
               ref.repository + "/manifests/" + digest;
  const std::string who = "registry " + ref.registry;

  net::HttpRequest req;
  req.method = "HEAD";
  req.url = answer.url;
  req.timeout = options_.timeout;
  req.headers = {{"Accept", kManifestAccept}};

  std::vector<std::string> secrets;
  auto fail = [&](const Status& s) { return ScrubStatus(s, secrets); };

  Result<net::HttpResponse> res = http_.Send(req);
  if (!res.ok()) return fail(res.status().WithContext(who + " unreachable"));

  bool authenticated = false;
  bool has_credentials = false;
  if (res->status == 401) {
    auto range = res->headers.equal_range("www-authenticate");
    std::vector<AuthChallenge> all;
    for (auto it = range.first; it != range.second; ++it) {
      Result<std::vector<AuthChallenge>> parsed = ParseWwwAuthenticate(it->second);
      if (!parsed.ok()) return fail(parsed.status().WithContext(who));
      all.insert(all.end(), parsed->begin(), parsed->end());
    }
    const AuthChallenge* bearer = nullptr;
    const AuthChallenge* basic = nullptr;
    for (const AuthChallenge& c : all) {
      if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
      if (c.scheme == "basic" && basic == nullptr) basic = &c;
    }
    std::string problem;
    std::optional<RegistryCredential> cred = CredentialFor(ref.registry, &problem);
    if (cred) {
      has_credentials = true;
      secrets = {cred->password, Base64Encode(cred->username + ":" + cred->password)};
    }
    std::string authorization;
    if (bearer != nullptr) {
      Result<std::string> token = FetchBearerToken(*bearer, ref, cred);
      if (!token.ok()) {
        Status s = token.status();
        if (!problem.empty()) s = s.WithContext(problem);
        return fail(s);
      }
      secrets.push_back(*token);
      authorization = "Bearer " + *token;
    } else if (basic != nullptr) {
      if (!cred) {
        return fail(Status::IOError(
            who + " requires authentication (Basic) and no credentials are configured" +
            (problem.empty() ? std::string(" (SLUICE_REGISTRY_USERNAME/PASSWORD or the "
                                           "credentials file)")
                             : ": " + problem)));
      }
      authorization = "Basic " + Base64Encode(cred->username + ":" + cred->password);
    } else {
      return fail(Status::IOError(who + " answered 401 without a Bearer or Basic challenge for " +
                                  answer.url));
    }
    req.headers.emplace_back("Authorization", authorization);
    res = http_.Send(req);
    if (!res.ok()) return fail(res.status().WithContext(who + " unreachable"));
    authenticated = true;
  }

  switch (res->status) {
    case 200: {
      std::string got = res->Header("Docker-Content-Digest");
      if (!got.empty() && got != digest) {
        return fail(Status::IOError(who + " answered digest " +
                                    std::string(TruncateUtf8(got, 140)) + " for " + answer.url));
      }
      answer.exists = true;
      answer.media_type = res->Header("Content-Type");
      return answer;
    }
    case 404:
      answer.exists = false;
      return answer;
    case 401:
    case 403:
      return fail(Status::IOError(who +
                                  (!authenticated    ? " denied access"
                                   : has_credentials ? " refused the credentials"
                                                     : " refused the anonymous token") +
                                  " (HTTP " + std::to_string(res->status) + ") for " + answer.url));
    default:
      return fail(Status::IOError(who + " answered HTTP " + std::to_string(res->status) + " for " +
                                  answer.url));
  }
}

Result<bool> RegistryClient::ManifestExists(const std::string& image, const std::string& digest) {
  Result<ManifestAnswer> answer = HeadManifest(image, digest);
  if (!answer.ok()) return answer.status();
  return answer->exists;
}

gates::RegistryEvidence RegistryClient::Check(const std::string& image, const std::string& digest) {
  gates::RegistryEvidence ev;
  Result<ManifestAnswer> answer = HeadManifest(image, digest);
  if (!answer.ok()) {
    ev.error = answer.status().message();
    return ev;
  }
  ev.exists = answer->exists;
  ev.detail =
      answer->exists
          ? answer->url + (answer->media_type.empty() ? std::string() : ", " + answer->media_type)
          : "404 for " + answer->url;
  return ev;
}

}  // namespace sluice::evidence
