#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bounded_cache.h"
#include "core/clock.h"
#include "core/result.h"
#include "gates/gate.h"
#include "net/http_client.h"

namespace sluice::evidence {

// The media types asked for when checking a manifest: OCI and Docker, image
// manifests and indexes (multi-arch lists). Without an Accept header some
// registries answer 404 for an index or convert the manifest.
inline constexpr char kManifestAccept[] =
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

// Where an image lives. Docker's rules: the first path component is a
// registry when it contains '.' or ':' or is "localhost"; otherwise the
// registry is Docker Hub ("docker.io", API at registry-1.docker.io) and a
// single-component name gets the "library/" prefix.
struct ImageReference {
  std::string registry;    // as named (lower-cased): "registry.example.com:5000", "docker.io"
  std::string host;        // API host[:port]: "registry-1.docker.io" for docker.io
  std::string repository;  // "shop/api", "library/nginx"
};

// Parses "host[:port]/repo/path", "repo" or "docker.io/repo"; a trailing
// ":tag" or "@digest" is ignored (the pin's digest is what is checked).
// InvalidArgument naming the image for an empty name, a scheme
// ("https://..."), empty path components, upper case or other characters a
// repository name cannot hold.
Result<ImageReference> ParseImageReference(std::string_view image);

// One challenge of a WWW-Authenticate header (RFC 7235):
// `Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a/b:pull"`.
struct AuthChallenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-cased, values unquoted
};

// Parses every challenge of a header value (quoted strings may hold commas
// and backslash escapes). InvalidArgument for an unterminated quoted string
// or a header with no scheme.
Result<std::vector<AuthChallenge>> ParseWwwAuthenticate(std::string_view header);

struct RegistryCredential {
  std::string username;
  std::string password;
};

// Finds the credentials for `registry` (ImageReference::registry) in the
// text of a credentials file, which is either
//   - a Docker config.json: `{"auths": {"<registry>": {"auth": base64("user:pass")}}}`
//     (or "username"/"password" members); keys may carry a scheme and a
//     path ("https://index.docker.io/v1/" is Docker Hub). credsStore and
//     credHelpers (external programs) are not consulted; or
//   - one line "user:password" (split at the first ':'), used for every
//     registry.
// nullopt when the file has no entry for `registry`. InvalidArgument when
// the file is neither form (the message never contains the file's text).
Result<std::optional<RegistryCredential>> CredentialFromFileText(std::string_view text,
                                                                 const std::string& registry);

struct RegistryOptions {
  // Registries (host[:port], as in the image name) spoken to over plain
  // HTTP. Loopback registries (localhost, 127.0.0.1, [::1]) always are.
  std::vector<std::string> insecure;
  // A Docker config.json or a "user:password" file; "" for none. Read on
  // every check, so rotated credentials take effect without a restart.
  std::string credentials_file;
  // Also read SLUICE_REGISTRY_USERNAME / SLUICE_REGISTRY_PASSWORD when the
  // file has nothing for the registry.
  bool use_environment = true;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // How long a manifest the registry said EXISTS is believed without asking
  // again (a digest names immutable content, but an operator can delete
  // it). Only positive answers are kept; 404s and errors are asked again
  // every time. 0 turns the cache off.
  std::chrono::milliseconds cache_ttl{std::chrono::minutes(10)};
  // At most this many (host, repository, digest) answers are kept; the least
  // recently used is dropped beyond it.
  size_t cache_entries = 10000;
};

// The registry's answer for one manifest.
struct ManifestAnswer {
  bool exists = false;
  std::string url;         // the manifest URL asked (no credentials in it)
  std::string media_type;  // Content-Type of the manifest when it exists
  bool cached = false;     // answered from the cache, without a request
};

// RegistryClient asks an OCI distribution registry whether a manifest
// exists, with `HEAD /v2/<repository>/manifests/<digest>`: anonymously
// first; on 401 it answers the WWW-Authenticate challenge (Bearer: a token
// from the realm with the challenge's service and scope, using Basic
// credentials when configured; Basic: the credentials) and retries once.
// HTTPS unless the registry is loopback or listed as insecure.
//
// Credentials come from RegistryOptions (file, then environment). They are
// never logged and never appear in a returned error; a Basic credential is
// not sent to a plain-HTTP token realm unless that host is loopback or
// listed as insecure.
//
// Positive answers are cached per (API host, repository, digest) for
// RegistryOptions::cache_ttl, timed by the injected Clock: the content behind
// a digest never changes, so only a deletion can turn "exists" into "absent",
// and that is noticed within the TTL. The cache key holds no credentials: a
// manifest seen once with credentials is believed for the TTL whatever the
// credentials are afterwards.
//
// Thread-safe if the HttpClient is (the cache has its own lock).
class RegistryClient {
 public:
  // `http` and `clock` are borrowed and must outlive the client.
  RegistryClient(net::HttpClient& http, const Clock& clock, RegistryOptions options = {});
  // As above with the system clock.
  explicit RegistryClient(net::HttpClient& http, RegistryOptions options = {});

  // True when the registry has the manifest `digest` for `image`
  // ("host[:port]/repo/path"), false on 404. Errors: InvalidArgument for a
  // bad image or digest; IOError naming the registry when it cannot be
  // reached, answers 5xx or anything unexpected, or refuses the
  // credentials (401/403 after the challenge); Timeout.
  Result<bool> ManifestExists(const std::string& image, const std::string& digest);

  // As ManifestExists, with the URL asked and the media type. A cached
  // positive answer (not older than the TTL) is returned without a request,
  // with `cached` set.
  Result<ManifestAnswer> HeadManifest(const std::string& image, const std::string& digest);

  // The registry gate's evidence: exists, or not (detail names the URL), or
  // the error text. Never fails.
  gates::RegistryEvidence Check(const std::string& image, const std::string& digest);

  // Hits, misses and entries of the answer cache (all zero when it is off).
  CacheStats CacheStatistics() const { return cache_.Stats(); }

 private:
  struct CachedAnswer {
    ManifestAnswer answer;
    TimePoint asked;  // when the registry said it exists
  };
  Result<ManifestAnswer> AskRegistry(const ImageReference& ref, const std::string& digest);

  bool PlainHttp(const std::string& host) const;
  std::optional<RegistryCredential> CredentialFor(const std::string& registry,
                                                  std::string* problem) const;
  Result<std::string> FetchBearerToken(const AuthChallenge& challenge, const ImageReference& ref,
                                       const std::optional<RegistryCredential>& cred);

  net::HttpClient& http_;
  const Clock& clock_;
  RegistryOptions options_;
  BoundedCache<std::string, CachedAnswer> cache_;
};

}  // namespace sluice::evidence
