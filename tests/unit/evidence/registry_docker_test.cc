// RegistryClient against a real OCI registry: `docker-registry` (CNCF
// distribution 2.8) started on a free loopback port with its own config.
// The test pushes a small image itself over the distribution HTTP API
// (https://distribution.github.io/distribution/spec/api/): each blob with
// `POST /v2/<name>/blobs/uploads/` then `PUT <Location>&digest=...`, then
// the manifest with `PUT /v2/<name>/manifests/<tag>`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "core/clock.h"
#include "evidence/registry.h"
#include "net/http_client.h"
#include "support/fake_http.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace sluice::evidence {
namespace {

namespace bp = boost::process;
using ::testing::HasSubstr;

// A docker-registry child process with filesystem storage in a temp dir.
class DockerRegistry {
 public:
  DockerRegistry() {
    std::string exe = bp::search_path("docker-registry").string();
    if (exe.empty()) {
      ADD_FAILURE() << "docker-registry is not installed (apt-get install docker-registry)";
      return;
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = testing::FreePort();
      testing::WriteFile(dir_.Sub("config.yml"),
                         "version: 0.1\n"
                         "log: {level: warn}\n"
                         "storage: {filesystem: {rootdirectory: " +
                             dir_.Sub("data") +
                             "}, delete: {enabled: true}}\n"
                             "http: {addr: 127.0.0.1:" +
                             std::to_string(port_) + ", secret: test}\n");
      try {
        child_ =
            bp::child(exe, bp::args({"serve", dir_.Sub("config.yml")}), bp::std_in.close(),
                      bp::std_out > dir_.Sub("stdout.log"), bp::std_err > dir_.Sub("stderr.log"));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cannot start docker-registry: " << e.what();
        return;
      }
      // Poll the port (bounded) until it answers or the child gives up.
      bool answered = false;
      testing::PollUntil(
          [&] { return !child_.running() || (answered = testing::WaitForPort(port_, 50)); },
          std::chrono::seconds(10));
      if (answered) return;
      Stop();
    }
    ADD_FAILURE() << "docker-registry did not start: " << testing::ReadFile(dir_.Sub("stderr.log"));
  }
  ~DockerRegistry() { Stop(); }

  void Stop() {
    std::error_code ec;
    if (!child_.valid()) return;
    if (child_.running(ec)) {
      ::kill(child_.id(), SIGTERM);
      testing::PollUntil([&] { return !child_.running(ec); }, std::chrono::seconds(5));
      if (child_.running(ec)) child_.terminate(ec);
    }
    child_.wait(ec);
  }

  std::string Host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Url(const std::string& path) const { return "http://" + Host() + path; }

 private:
  testing::TempDir dir_;
  bp::child child_;
  int port_ = 0;
};

std::string Sha256(const std::string& bytes) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("blob"), bytes);
  testing::CommandOutput out = testing::RunCommand({"sha256sum", dir.Sub("blob")});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  return "sha256:" + out.out.substr(0, 64);
}

// Pushes with the plain distribution API; fails the test on any error.
class Pusher {
 public:
  Pusher(const DockerRegistry& registry, std::string name)
      : registry_(registry), name_(std::move(name)) {}

  std::string PushBlob(const std::string& bytes) {
    const std::string digest = Sha256(bytes);
    net::HttpRequest start;
    start.method = "POST";
    start.url = registry_.Url("/v2/" + name_ + "/blobs/uploads/");
    Result<net::HttpResponse> res = http_.Send(start);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok()) return digest;
    EXPECT_EQ(res->status, 202) << res->body;
    std::string location = res->Header("Location");
    if (location.rfind("http", 0) != 0) location = registry_.Url(location);
    net::HttpRequest put;
    put.method = "PUT";
    put.url = location + (location.find('?') == std::string::npos ? "?" : "&") +
              "digest=" + net::UrlEncode(digest);
    put.headers = {{"Content-Type", "application/octet-stream"}};
    put.body = bytes;
    res = http_.Send(put);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (res.ok()) {
      EXPECT_EQ(res->status, 201) << res->body;
    }
    return digest;
  }

  std::string PushManifest(const std::string& reference, const std::string& media_type,
                           const std::string& body) {
    net::HttpRequest put;
    put.method = "PUT";
    put.url = registry_.Url("/v2/" + name_ + "/manifests/" + reference);
    put.headers = {{"Content-Type", media_type}};
    put.body = body;
    Result<net::HttpResponse> res = http_.Send(put);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok()) return "";
    EXPECT_EQ(res->status, 201) << res->body;
    const std::string digest = Sha256(body);
    EXPECT_EQ(res->Header("Docker-Content-Digest"), digest);
    return digest;
  }

 private:
  const DockerRegistry& registry_;
  std::string name_;
  net::CurlHttpClient http_;
};

struct PushedImage {
  std::string manifest;  // digest of the image manifest
  std::string index;     // digest of an index listing it
};

PushedImage PushSmallImage(const DockerRegistry& registry, const std::string& name) {
  Pusher push(registry, name);
  const std::string config =
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}})";
  const std::string layer = "not really a tarball, but the registry stores bytes";
  const std::string config_digest = push.PushBlob(config);
  const std::string layer_digest = push.PushBlob(layer);
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
      layer_digest + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  PushedImage out;
  out.manifest = push.PushManifest("2.5.3", "application/vnd.oci.image.manifest.v1+json", manifest);
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
      R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      out.manifest + R"(","size":)" + std::to_string(manifest.size()) +
      R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  out.index = push.PushManifest("2.5.3-multi", "application/vnd.oci.image.index.v1+json", index);
  return out;
}

class RealRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new DockerRegistry();
    image_ = PushSmallImage(*registry_, "shop/api");
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }

  static DockerRegistry* registry_;
  static PushedImage image_;
};

DockerRegistry* RealRegistryTest::registry_ = nullptr;
PushedImage RealRegistryTest::image_;

TEST_F(RealRegistryTest, PresentDigestExists) {
  net::CurlHttpClient http;
  RegistryClient client(http);
  Result<bool> exists = client.ManifestExists(registry_->Host() + "/shop/api", image_.manifest);
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_TRUE(*exists);

  gates::RegistryEvidence ev = client.Check(registry_->Host() + "/shop/api", image_.manifest);
  EXPECT_TRUE(ev.exists);
  EXPECT_EQ(ev.error, "");
  EXPECT_THAT(ev.detail, HasSubstr("/v2/shop/api/manifests/" + image_.manifest));
  EXPECT_THAT(ev.detail, HasSubstr("application/vnd.oci.image.manifest.v1+json"));
}

TEST_F(RealRegistryTest, IndexDigestExistsWithItsMediaType) {
  net::CurlHttpClient http;
  RegistryClient client(http);
  Result<ManifestAnswer> answer =
      client.HeadManifest(registry_->Host() + "/shop/api:ignored-tag", image_.index);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE(answer->exists);
  EXPECT_EQ(answer->media_type, "application/vnd.oci.image.index.v1+json");
}

TEST_F(RealRegistryTest, AbsentDigestAndRepositoryAreNotFound) {
  net::CurlHttpClient http;
  RegistryClient client(http);
  const std::string absent = "sha256:" + std::string(64, 'e');
  Result<bool> no_digest = client.ManifestExists(registry_->Host() + "/shop/api", absent);
  ASSERT_TRUE(no_digest.ok()) << no_digest.status().ToString();
  EXPECT_FALSE(*no_digest);
  Result<bool> no_repo =
      client.ManifestExists(registry_->Host() + "/shop/nothing", image_.manifest);
  ASSERT_TRUE(no_repo.ok()) << no_repo.status().ToString();
  EXPECT_FALSE(*no_repo);

  gates::RegistryEvidence ev = client.Check(registry_->Host() + "/shop/api", absent);
  EXPECT_FALSE(ev.exists);
  EXPECT_EQ(ev.error, "");
  EXPECT_THAT(ev.detail, HasSubstr("404"));
}

TEST_F(RealRegistryTest, LocalhostNameIsSpokenOverHttpToo) {
  net::CurlHttpClient http;
  RegistryClient client(http);
  std::string host = registry_->Host();
  host.replace(0, host.find(':'), "localhost");
  Result<bool> exists = client.ManifestExists(host + "/shop/api", image_.manifest);
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_TRUE(*exists);
}

RegistryOptions CacheFor(std::chrono::milliseconds ttl) {
  RegistryOptions options;
  options.cache_ttl = ttl;
  return options;
}

Status DeleteManifest(const DockerRegistry& registry, const std::string& name,
                      const std::string& digest) {
  net::CurlHttpClient http;
  net::HttpRequest del;
  del.method = "DELETE";
  del.url = registry.Url("/v2/" + name + "/manifests/" + digest);
  Result<net::HttpResponse> res = http.Send(del);
  if (!res.ok()) return res.status();
  if (res->status != 202) return Status::IOError("DELETE answered " + std::to_string(res->status));
  return Status::Ok();
}

TEST_F(RealRegistryTest, PresentManifestIsAskedOnceWithinTheTtl) {
  net::CurlHttpClient curl;
  testing::FakeHttpClient http(testing::ForwardTo(curl));  // counts what reaches the network
  FakeClock clock(std::chrono::system_clock::now());
  RegistryClient client(http, clock, CacheFor(std::chrono::minutes(10)));
  const std::string image = registry_->Host() + "/shop/api";

  gates::RegistryEvidence first = client.Check(image, image_.manifest);
  ASSERT_TRUE(first.exists) << first.error;
  EXPECT_EQ(http.request_count(), 1u);

  clock.Advance(std::chrono::minutes(9));
  gates::RegistryEvidence second = client.Check(image, image_.manifest);
  EXPECT_EQ(http.request_count(), 1u);  // no request: answered from the cache
  EXPECT_TRUE(second.exists);
  EXPECT_EQ(second.detail, first.detail);  // the record reads the same either way
  Result<ManifestAnswer> answer = client.HeadManifest(image + ":any-tag", image_.manifest);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE(answer->cached);
  EXPECT_EQ(answer->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(http.request_count(), 1u);

  // Another digest of the same repository is its own entry.
  ASSERT_TRUE(client.Check(image, image_.index).exists);
  EXPECT_EQ(http.request_count(), 2u);
  CacheStats stats = client.CacheStatistics();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.entries, 2u);
}

TEST_F(RealRegistryTest, AbsentManifestIsAskedEveryTime) {
  net::CurlHttpClient curl;
  testing::FakeHttpClient http(testing::ForwardTo(curl));  // counts what reaches the network
  FakeClock clock(std::chrono::system_clock::now());
  RegistryClient client(http, clock, CacheFor(std::chrono::minutes(10)));
  const std::string absent = "sha256:" + std::string(64, 'e');
  for (size_t i = 1; i <= 3; ++i) {
    gates::RegistryEvidence ev = client.Check(registry_->Host() + "/shop/api", absent);
    EXPECT_FALSE(ev.exists);
    EXPECT_EQ(ev.error, "");
    EXPECT_EQ(http.request_count(), i);
  }
  // An unknown repository likewise.
  EXPECT_FALSE(client.Check(registry_->Host() + "/shop/nothing", image_.manifest).exists);
  EXPECT_FALSE(client.Check(registry_->Host() + "/shop/nothing", image_.manifest).exists);
  EXPECT_EQ(http.request_count(), 5u);
  EXPECT_EQ(client.CacheStatistics().entries, 0u);
}

TEST_F(RealRegistryTest, DeletedManifestIsNoticedOnceTheTtlRunsOut) {
  PushedImage doomed = PushSmallImage(*registry_, "shop/doomed");
  net::CurlHttpClient curl;
  testing::FakeHttpClient http(testing::ForwardTo(curl));  // counts what reaches the network
  FakeClock clock(std::chrono::system_clock::now());
  RegistryClient client(http, clock, CacheFor(std::chrono::minutes(10)));
  const std::string image = registry_->Host() + "/shop/doomed";
  ASSERT_TRUE(client.Check(image, doomed.manifest).exists);
  ASSERT_EQ(http.request_count(), 1u);

  // The operator deletes the manifest: within the TTL the cache still
  // believes it (the documented cost of the cache).
  Status deleted = DeleteManifest(*registry_, "shop/doomed", doomed.manifest);
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  clock.Advance(std::chrono::minutes(10) - std::chrono::seconds(1));
  EXPECT_TRUE(client.Check(image, doomed.manifest).exists);
  EXPECT_EQ(http.request_count(), 1u);

  // At the TTL the registry is asked again and says 404; that is not cached.
  clock.Advance(std::chrono::seconds(1));
  gates::RegistryEvidence gone = client.Check(image, doomed.manifest);
  EXPECT_FALSE(gone.exists);
  EXPECT_THAT(gone.detail, HasSubstr("404"));
  EXPECT_EQ(http.request_count(), 2u);
  EXPECT_FALSE(client.Check(image, doomed.manifest).exists);
  EXPECT_EQ(http.request_count(), 3u);
  EXPECT_EQ(client.CacheStatistics().entries, 0u);
}

TEST_F(RealRegistryTest, TtlZeroAsksEveryTime) {
  net::CurlHttpClient curl;
  testing::FakeHttpClient http(testing::ForwardTo(curl));  // counts what reaches the network
  FakeClock clock(std::chrono::system_clock::now());
  RegistryClient client(http, clock, CacheFor(std::chrono::milliseconds(0)));
  for (size_t i = 1; i <= 3; ++i) {
    Result<ManifestAnswer> answer =
        client.HeadManifest(registry_->Host() + "/shop/api", image_.manifest);
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    EXPECT_TRUE(answer->exists);
    EXPECT_FALSE(answer->cached);
    EXPECT_EQ(http.request_count(), i);
  }
  CacheStats stats = client.CacheStatistics();
  EXPECT_EQ(stats.hits + stats.misses + stats.entries, 0u);
}

TEST_F(RealRegistryTest, CacheKeepsAtMostItsBound) {
  net::CurlHttpClient curl;
  testing::FakeHttpClient http(testing::ForwardTo(curl));  // counts what reaches the network
  FakeClock clock(std::chrono::system_clock::now());
  RegistryOptions options = CacheFor(std::chrono::minutes(10));
  options.cache_entries = 1;
  RegistryClient client(http, clock, options);
  const std::string image = registry_->Host() + "/shop/api";
  ASSERT_TRUE(client.Check(image, image_.manifest).exists);
  ASSERT_TRUE(client.Check(image, image_.index).exists);     // pushes the manifest out
  ASSERT_TRUE(client.Check(image, image_.manifest).exists);  // asked again
  EXPECT_EQ(http.request_count(), 3u);
  CacheStats stats = client.CacheStatistics();
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.evictions, 2u);
}

TEST(StoppedRegistryTest, UnreachableRegistryIsAnErrorNamingIt) {
  DockerRegistry registry;
  PushedImage image = PushSmallImage(registry, "shop/api");
  net::CurlHttpClient http;
  RegistryClient client(http, CacheFor(std::chrono::milliseconds(0)));
  Result<bool> before = client.ManifestExists(registry.Host() + "/shop/api", image.manifest);
  ASSERT_TRUE(before.ok() && *before) << before.status().ToString();

  registry.Stop();
  Result<bool> after = client.ManifestExists(registry.Host() + "/shop/api", image.manifest);
  ASSERT_FALSE(after.ok());
  EXPECT_THAT(after.status().message(), HasSubstr("registry " + registry.Host() + " unreachable"));
  gates::RegistryEvidence ev = client.Check(registry.Host() + "/shop/api", image.manifest);
  EXPECT_FALSE(ev.exists);
  EXPECT_THAT(ev.error, HasSubstr("registry " + registry.Host()));
}

TEST(StoppedRegistryTest, ErrorsAreNotCachedAndCachedAnswersOutliveAnOutage) {
  DockerRegistry registry;
  PushedImage image = PushSmallImage(registry, "shop/api");
  net::CurlHttpClient curl;
  testing::FakeHttpClient http(testing::ForwardTo(curl));  // counts what reaches the network
  FakeClock clock(std::chrono::system_clock::now());
  RegistryClient client(http, clock, CacheFor(std::chrono::minutes(10)));
  const std::string repo = registry.Host() + "/shop/api";
  ASSERT_TRUE(client.Check(repo, image.manifest).exists);

  registry.Stop();
  // Seen within the TTL: still believed while the registry is down.
  EXPECT_TRUE(client.Check(repo, image.manifest).exists);
  EXPECT_EQ(http.request_count(), 1u);
  // Never seen: an error each time, each time asked.
  for (size_t i = 2; i <= 3; ++i) {
    gates::RegistryEvidence ev = client.Check(repo, image.index);
    EXPECT_FALSE(ev.exists);
    EXPECT_THAT(ev.error, HasSubstr("unreachable"));
    EXPECT_EQ(http.request_count(), i);
  }
  // Past the TTL the outage shows for the cached one too.
  clock.Advance(std::chrono::minutes(10));
  gates::RegistryEvidence expired = client.Check(repo, image.manifest);
  EXPECT_FALSE(expired.exists);
  EXPECT_THAT(expired.error, HasSubstr("unreachable"));
  EXPECT_EQ(client.CacheStatistics().entries, 0u);
}

}  // namespace
}  // namespace sluice::evidence
