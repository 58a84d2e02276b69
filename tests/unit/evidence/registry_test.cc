// RegistryClient: pure helpers with strings, the request it builds against a
// recording fake, and the token challenge flow against a loopback server
// (cpp-httplib) acting as token service and registry.
//
// The flow follows the distribution token authentication specification
// (https://distribution.github.io/distribution/spec/auth/token/ and
// docs.docker.com/reference/api/registry/auth): the registry answers 401
// with `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`;
// the client GETs the realm with service and scope (Basic credentials when
// it has some), reads `token` (or the OAuth2-compatible `access_token`) and
// retries with `Authorization: Bearer <token>`.
#include "evidence/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/base64.h"
#include "core/clock.h"
#include "support/fake_http.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace sluice::evidence {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kDigest = "sha256:" + std::string(64, 'a');
constexpr char kUser[] = "ci-bot";
constexpr char kPassword[] = "Pa55-w0rd-very-secret";

// ------------------------------------------------------------ references

TEST(ParseImageReferenceTest, RegistryHostAndPort) {
  Result<ImageReference> r = ParseImageReference("registry.example.com:5000/shop/api");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->registry, "registry.example.com:5000");
  EXPECT_EQ(r->host, "registry.example.com:5000");
  EXPECT_EQ(r->repository, "shop/api");
}

TEST(ParseImageReferenceTest, DockerHubDefaultsAndLibraryPrefix) {
  struct Case {
    const char* image;
    const char* repository;
  };
  for (Case c : {Case{"nginx", "library/nginx"}, Case{"docker.io/nginx", "library/nginx"},
                 Case{"index.docker.io/library/nginx", "library/nginx"},
                 Case{"bitnami/redis", "bitnami/redis"}, Case{"nginx:1.27", "library/nginx"}}) {
    Result<ImageReference> r = ParseImageReference(c.image);
    ASSERT_TRUE(r.ok()) << c.image << ": " << r.status().ToString();
    EXPECT_EQ(r->registry, "docker.io") << c.image;
    EXPECT_EQ(r->host, "registry-1.docker.io") << c.image;
    EXPECT_EQ(r->repository, c.repository) << c.image;
  }
}

TEST(ParseImageReferenceTest, LocalhostTagsAndDigestsAreIgnored) {
  Result<ImageReference> r = ParseImageReference("localhost:5000/team/app:2.5.3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->registry, "localhost:5000");
  EXPECT_EQ(r->repository, "team/app");
  Result<ImageReference> d = ParseImageReference("ghcr.io/org/app@" + kDigest);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->registry, "ghcr.io");
  EXPECT_EQ(d->repository, "org/app");
  Result<ImageReference> plain_localhost = ParseImageReference("localhost/app");
  ASSERT_TRUE(plain_localhost.ok());
  EXPECT_EQ(plain_localhost->registry, "localhost");
}

TEST(ParseImageReferenceTest, RejectsWhatIsNotAnImageName) {
  struct Case {
    const char* image;
    const char* expected;
  };
  for (Case c : {Case{"", "empty"}, Case{"https://registry.example.com/a", "scheme"},
                 Case{"registry.example.com/Shop/API", "lower case"},
                 Case{"registry.example.com//api", "not valid"},
                 Case{"registry.example.com/", "no repository"},
                 Case{"registry.example.com/a b", "not valid"},
                 Case{"registry.example.com/-a", "not valid"}}) {
    Result<ImageReference> r = ParseImageReference(c.image);
    ASSERT_FALSE(r.ok()) << c.image;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.expected)) << c.image;
  }
}

// ------------------------------------------------------ WWW-Authenticate

TEST(ParseWwwAuthenticateTest, BearerWithQuotedCommaInScope) {
  Result<std::vector<AuthChallenge>> c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push")");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].params.at("scope"), "repository:samalba/my-app:pull,push");
}

TEST(ParseWwwAuthenticateTest, SeveralChallengesSpacesTokensAndEscapes) {
  Result<std::vector<AuthChallenge>> c = ParseWwwAuthenticate(
      R"(Basic realm="Registry \"prod\"" , charset=UTF-8, BEARER Realm=https://t.example/tok , error="invalid_token")");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].params.at("realm"), R"(Registry "prod")");
  EXPECT_EQ((*c)[0].params.at("charset"), "UTF-8");
  EXPECT_EQ((*c)[1].scheme, "bearer");
  EXPECT_EQ((*c)[1].params.at("realm"), "https://t.example/tok");
  EXPECT_EQ((*c)[1].params.at("error"), "invalid_token");
}

TEST(ParseWwwAuthenticateTest, SchemeWithoutParamsAndErrors) {
  Result<std::vector<AuthChallenge>> basic = ParseWwwAuthenticate("Basic");
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ((*basic)[0].scheme, "basic");
  EXPECT_TRUE((*basic)[0].params.empty());
  EXPECT_FALSE(ParseWwwAuthenticate("").ok());
  Result<std::vector<AuthChallenge>> open = ParseWwwAuthenticate(R"(Bearer realm="https://x)");
  ASSERT_FALSE(open.ok());
  EXPECT_THAT(open.status().message(), HasSubstr("unterminated"));
}

// ----------------------------------------------------------- credentials

TEST(CredentialFileTest, DockerConfigAuthsByRegistry) {
  std::string config = R"({"auths": {
      "https://index.docker.io/v1/": {"auth": ")" +
                       Base64Encode("hubuser:hubpass") + R"("},
      "registry.example.com": {"auth": ")" +
                       Base64Encode("alice:pa:ss") + R"("},
      "https://ghcr.io": {"username": "bob", "password": "tok"}},
      "credsStore": "desktop"})";
  auto hub = CredentialFromFileText(config, "docker.io");
  ASSERT_TRUE(hub.ok() && hub->has_value());
  EXPECT_EQ((*hub)->username, "hubuser");
  EXPECT_EQ((*hub)->password, "hubpass");
  auto example = CredentialFromFileText(config, "registry.example.com");
  ASSERT_TRUE(example.ok() && example->has_value());
  EXPECT_EQ((*example)->username, "alice");
  EXPECT_EQ((*example)->password, "pa:ss");
  auto ghcr = CredentialFromFileText(config, "ghcr.io");
  ASSERT_TRUE(ghcr.ok() && ghcr->has_value());
  EXPECT_EQ((*ghcr)->username, "bob");
  auto other = CredentialFromFileText(config, "quay.io");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST(CredentialFileTest, SimpleUserPasswordLine) {
  auto cred = CredentialFromFileText("deploy:s3cr:et\n", "any.registry");
  ASSERT_TRUE(cred.ok() && cred->has_value());
  EXPECT_EQ((*cred)->username, "deploy");
  EXPECT_EQ((*cred)->password, "s3cr:et");
}

TEST(CredentialFileTest, BadFilesNeverEchoTheirContent) {
  for (const std::string& text :
       {std::string("only-a-secret-token"), std::string("{\"auths\": {\"r\": {\"auth\": \"%%%\"}}"),
        std::string("{not json only-a-secret-token"), std::string("a:b\nc:d")}) {
    auto cred = CredentialFromFileText(text, "r");
    ASSERT_FALSE(cred.ok()) << text;
    EXPECT_THAT(cred.status().message(), Not(HasSubstr("only-a-secret-token")));
  }
}

// ------------------------------------------------- requests (recording)

TEST(RegistryClientTest, HttpsByDefaultHttpForLoopbackAndInsecure) {
  testing::FakeHttpClient http;  // answers 404
  RegistryOptions options;
  options.insecure = {"Registry.Internal:5000"};
  options.use_environment = false;
  RegistryClient client(http, options);
  for (const char* image : {"registry.example.com/shop/api", "nginx", "localhost:5000/a",
                            "127.0.0.1:41000/a/b", "registry.internal:5000/x"}) {
    Result<bool> r = client.ManifestExists(image, kDigest);
    ASSERT_TRUE(r.ok()) << image << ": " << r.status().ToString();
    EXPECT_FALSE(*r);
  }
  std::vector<std::string> urls;
  for (const auto& req : http.requests()) {
    EXPECT_EQ(req.method, "HEAD");
    urls.push_back(req.url);
    ASSERT_EQ(req.headers.size(), 1u);
    EXPECT_EQ(req.headers[0].first, "Accept");
    EXPECT_THAT(req.headers[0].second,
                AllOf(HasSubstr("application/vnd.oci.image.manifest.v1+json"),
                      HasSubstr("application/vnd.oci.image.index.v1+json"),
                      HasSubstr("application/vnd.docker.distribution.manifest.v2+json"),
                      HasSubstr("application/vnd.docker.distribution.manifest.list.v2+json")));
  }
  EXPECT_THAT(urls,
              ElementsAre("https://registry.example.com/v2/shop/api/manifests/" + kDigest,
                          "https://registry-1.docker.io/v2/library/nginx/manifests/" + kDigest,
                          "http://localhost:5000/v2/a/manifests/" + kDigest,
                          "http://127.0.0.1:41000/v2/a/b/manifests/" + kDigest,
                          "http://registry.internal:5000/v2/x/manifests/" + kDigest));
}

TEST(RegistryClientTest, CachedAnswerGoesStaleWhenTheClockStepsBack) {
  testing::FakeHttpClient http(
      [](const net::HttpRequest&) -> Result<net::HttpResponse> { return testing::Response(200); });
  FakeClock clock(std::chrono::system_clock::now());
  RegistryClient client(http, clock);  // the default TTL, 10m
  ASSERT_TRUE(client.Check("127.0.0.1:5000/a", kDigest).exists);
  clock.Advance(std::chrono::minutes(5));
  ASSERT_TRUE(client.Check("127.0.0.1:5000/a", kDigest).exists);
  EXPECT_EQ(http.request_count(), 1u);
  // The wall clock stepped back an hour (NTP): the answer is not trusted for
  // an hour and ten minutes more; it is asked again.
  clock.Advance(-std::chrono::hours(1));
  ASSERT_TRUE(client.Check("127.0.0.1:5000/a", kDigest).exists);
  EXPECT_EQ(http.request_count(), 2u);
}

TEST(RegistryClientTest, BadDigestOrImageNeverAsks) {
  testing::FakeHttpClient http;  // answers 404
  RegistryClient client(http);
  Result<bool> tag = client.ManifestExists("registry.example.com/a", "latest");
  ASSERT_FALSE(tag.ok());
  EXPECT_EQ(tag.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(client.ManifestExists("Bad Image", kDigest).ok());
  EXPECT_TRUE(http.requests().empty());
  gates::RegistryEvidence ev = client.Check("registry.example.com/a", "latest");
  EXPECT_FALSE(ev.exists);
  EXPECT_THAT(ev.error, HasSubstr("is not sha256"));
}

// ------------------------------------------- token flow (loopback server)

// A registry that wants a Bearer token from its own /token endpoint, which
// wants Basic credentials. Records the Authorization headers it sees.
class TokenRegistry {
 public:
  enum class Mode { kBearer, kBasic, kServerError, kRefuseToken };

  explicit TokenRegistry(Mode mode, bool access_token = false)
      : mode_(mode), access_token_(access_token) {
    server_.Get("/token", [this](const httplib::Request& req, httplib::Response& res) {
      Record("token " + req.get_header_value("Authorization") + " service=" +
             req.get_param_value("service") + " scope=" + req.get_param_value("scope"));
      if (req.get_header_value("Authorization") !=
          "Basic " + Base64Encode(std::string(kUser) + ":" + kPassword)) {
        res.status = 401;
        res.set_content(R"({"details":"incorrect username or password"})", "application/json");
        return;
      }
      res.set_content(access_token_ ? R"({"access_token":"tok-123","expires_in":300})"
                                    : R"({"token":"tok-123","expires_in":300})",
                      "application/json");
    });
    server_.Get(R"(/v2/shop/api/manifests/(.+))", [this](const httplib::Request& req,
                                                         httplib::Response& res) {
      const std::string auth = req.get_header_value("Authorization");
      Record(req.method + " " + auth);
      if (mode_ == Mode::kServerError) {
        res.status = 503;
        return;
      }
      const std::string want = mode_ == Mode::kBasic
                                   ? "Basic " + Base64Encode(std::string(kUser) + ":" + kPassword)
                                   : "Bearer tok-123";
      if (auth != want || mode_ == Mode::kRefuseToken) {
        res.status = 401;
        res.set_header("WWW-Authenticate",
                       mode_ == Mode::kBasic
                           ? std::string(R"(Basic realm="registry")")
                           : R"(Bearer realm=")" + Url("/token") +
                                 R"(",service="test-registry",scope="repository:shop/api:pull")");
        res.set_content(R"({"errors":[{"code":"UNAUTHORIZED"}]})", "application/json");
        return;
      }
      if (req.matches[1] != kDigest) {
        res.status = 404;
        return;
      }
      res.status = 200;
      res.set_header("Docker-Content-Digest", kDigest);
      res.set_content("{}", "application/vnd.oci.image.manifest.v1+json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    testing::WaitUntil([this] { return server_.is_running(); }, std::chrono::seconds(2),
                       "the token registry to accept");
  }
  ~TokenRegistry() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string Image() const { return "127.0.0.1:" + std::to_string(port_) + "/shop/api"; }
  std::vector<std::string> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void Record(std::string line) {
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(line));
  }

  Mode mode_;
  bool access_token_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> seen_;
};

// A credentials file (docker config.json) for the loopback registry.
std::string WriteDockerConfig(const testing::TempDir& dir, const std::string& registry,
                              const std::string& password) {
  std::string path = dir.Sub("config.json");
  testing::WriteFile(path, R"({"auths": {")" + registry + R"(": {"auth": ")" +
                               Base64Encode(std::string(kUser) + ":" + password) + R"("}}})");
  return path;
}

TEST(RegistryTokenFlowTest, FetchesATokenWithBasicCredentialsAndRetries) {
  TokenRegistry registry(TokenRegistry::Mode::kBearer);
  testing::TempDir dir;
  RegistryOptions options;
  options.use_environment = false;
  // The key is the registry as named in the image: "127.0.0.1:<port>".
  options.credentials_file =
      WriteDockerConfig(dir, registry.Image().substr(0, registry.Image().find('/')), kPassword);
  net::CurlHttpClient http;
  RegistryClient client(http, options);

  Result<ManifestAnswer> answer = client.HeadManifest(registry.Image(), kDigest);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE(answer->exists);
  EXPECT_EQ(answer->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_THAT(registry.Seen(),
              ElementsAre("HEAD ",
                          "token Basic " + Base64Encode(std::string(kUser) + ":" + kPassword) +
                              " service=test-registry scope=repository:shop/api:pull",
                          "HEAD Bearer tok-123"));

  Result<bool> absent = client.ManifestExists(registry.Image(), "sha256:" + std::string(64, 'b'));
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(*absent);
}

TEST(RegistryTokenFlowTest, ReadsAccessTokenAndEnvironmentCredentials) {
  TokenRegistry registry(TokenRegistry::Mode::kBearer, /*access_token=*/true);
  ::setenv("SLUICE_REGISTRY_USERNAME", kUser, 1);
  ::setenv("SLUICE_REGISTRY_PASSWORD", kPassword, 1);
  net::CurlHttpClient http;
  RegistryClient client(http);
  Result<bool> exists = client.ManifestExists(registry.Image(), kDigest);
  ::unsetenv("SLUICE_REGISTRY_USERNAME");
  ::unsetenv("SLUICE_REGISTRY_PASSWORD");
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_TRUE(*exists);
  EXPECT_EQ(registry.Seen().back(), "HEAD Bearer tok-123");
}

TEST(RegistryTokenFlowTest, WrongPasswordIsAnErrorThatNeverShowsIt) {
  TokenRegistry registry(TokenRegistry::Mode::kBearer);
  testing::TempDir dir;
  const std::string wrong = "Wr0ng-But-Still-Secret";
  RegistryOptions options;
  options.use_environment = false;
  options.credentials_file =
      WriteDockerConfig(dir, registry.Image().substr(0, registry.Image().find('/')), wrong);
  net::CurlHttpClient http;
  RegistryClient client(http, options);
  Result<bool> r = client.ManifestExists(registry.Image(), kDigest);
  ASSERT_FALSE(r.ok());
  const std::string msg = r.status().ToString();
  EXPECT_THAT(msg, HasSubstr("token service"));
  EXPECT_THAT(msg, HasSubstr("refused the configured credentials"));
  EXPECT_THAT(msg, Not(HasSubstr(wrong)));
  EXPECT_THAT(msg, Not(HasSubstr(Base64Encode(std::string(kUser) + ":" + wrong))));

  gates::RegistryEvidence ev = client.Check(registry.Image(), kDigest);
  EXPECT_FALSE(ev.exists);
  EXPECT_THAT(ev.error, AllOf(HasSubstr("refused"), Not(HasSubstr(wrong))));
}

TEST(RegistryTokenFlowTest, AnonymousWhenNoCredentials) {
  TokenRegistry registry(TokenRegistry::Mode::kBearer);
  RegistryOptions options;
  options.use_environment = false;
  net::CurlHttpClient http;
  RegistryClient client(http, options);
  Result<bool> r = client.ManifestExists(registry.Image(), kDigest);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("refused an anonymous token request"));
  EXPECT_THAT(registry.Seen()[1], HasSubstr("token  service=test-registry"));
}

TEST(RegistryTokenFlowTest, RefusedTokenNeverShowsTokenOrPassword) {
  TokenRegistry registry(TokenRegistry::Mode::kRefuseToken);
  ::setenv("SLUICE_REGISTRY_USERNAME", kUser, 1);
  ::setenv("SLUICE_REGISTRY_PASSWORD", kPassword, 1);
  net::CurlHttpClient http;
  RegistryClient client(http);
  Result<bool> r = client.ManifestExists(registry.Image(), kDigest);
  ::unsetenv("SLUICE_REGISTRY_USERNAME");
  ::unsetenv("SLUICE_REGISTRY_PASSWORD");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("refused the credentials (HTTP 401)"));
  EXPECT_THAT(r.status().message(), AllOf(Not(HasSubstr(kPassword)), Not(HasSubstr("tok-123"))));
}

TEST(RegistryTokenFlowTest, BasicChallenge) {
  TokenRegistry registry(TokenRegistry::Mode::kBasic);
  net::CurlHttpClient http;
  {
    RegistryOptions none;
    none.use_environment = false;
    RegistryClient client(http, none);
    Result<bool> r = client.ManifestExists(registry.Image(), kDigest);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(),
                HasSubstr("requires authentication (Basic) and no credentials are configured"));
  }
  testing::TempDir dir;
  RegistryOptions options;
  options.use_environment = false;
  options.credentials_file = dir.Sub("creds");
  testing::WriteFile(options.credentials_file, std::string(kUser) + ":" + kPassword + "\n");
  RegistryClient client(http, options);
  Result<bool> r = client.ManifestExists(registry.Image(), kDigest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
}

TEST(RegistryTokenFlowTest, ServerErrorIsAnErrorNamingTheRegistry) {
  TokenRegistry registry(TokenRegistry::Mode::kServerError);
  net::CurlHttpClient http;
  RegistryClient client(http);
  gates::RegistryEvidence ev = client.Check(registry.Image(), kDigest);
  EXPECT_FALSE(ev.exists);
  EXPECT_THAT(ev.error,
              AllOf(HasSubstr("registry " + registry.Image().substr(0, registry.Image().find('/'))),
                    HasSubstr("answered HTTP 503")));
}

TEST(RegistryTokenFlowTest, UnreadableCredentialsFileIsNamedWhenAuthFails) {
  TokenRegistry registry(TokenRegistry::Mode::kBasic);
  RegistryOptions options;
  options.use_environment = false;
  options.credentials_file = "/nonexistent/sluice/creds";
  net::CurlHttpClient http;
  RegistryClient client(http, options);
  Result<bool> r = client.ManifestExists(registry.Image(), kDigest);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cannot read registry credentials file"));
}

}  // namespace
}  // namespace sluice::evidence
