// Tests of the Helm adapter. Builders and parsers are fed strings; the
// adapter runs tests/stubs/helm, a stand-in that checks its arguments and
// reproduces the documented output and exit codes of Helm 3:
//   https://helm.sh/docs/helm/helm_upgrade/
//   https://helm.sh/docs/helm/helm_status/    (cmd/helm/status.go,
//     pkg/release/release.go, pkg/release/info.go)
//   https://helm.sh/docs/helm/helm_history/   (cmd/helm/history.go, releaseInfo)
//   https://helm.sh/docs/helm/helm_get_values/
// The adapter code is the same that runs against the real helm.

#include "adapters/helm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "process/runner.h"
#include "support/stub_world.h"
#include "support/temp_dir.h"

namespace sluice::adapters {
namespace {

namespace fs = std::filesystem;
using sluice::testing::Invocation;
using sluice::testing::StubWorld;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kDigest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kOtherDigest[] =
    "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
constexpr char kCommit[] = "89abcdef0123456789abcdef0123456789abcdef";
constexpr char kImage[] = "registry.example.com/shop/api";

config::Pin MakePin(std::vector<std::string> values = {"values/prod/api.yaml"}) {
  config::Pin pin;
  pin.env = "prod";
  pin.app = "api";
  pin.artifact.image = kImage;
  pin.artifact.digest = kDigest;
  pin.artifact.version = "2.5.3";
  pin.deploy.adapter = config::AdapterKind::kHelm;
  config::HelmDeploy helm;
  helm.release = "api";
  helm.chart = "oci://registry.example.com/charts/api";
  helm.version = "1.8.0";
  helm.namespace_ = "shop";
  helm.values = std::move(values);
  helm.timeout = std::chrono::minutes(5);
  pin.deploy.helm = helm;
  return pin;
}

ApplyRequest MakeRequest(const config::Pin& pin, const std::string& checkout) {
  ApplyRequest req;
  req.env = "prod";
  req.app = "api";
  req.commit = kCommit;
  req.pin = &pin;
  req.checkout_dir = checkout;
  return req;
}

std::string Canonical(const std::string& path) { return fs::weakly_canonical(path).string(); }

// A checkout with the values file the default pin names.
void WriteValues(const testing::TempDir& checkout) {
  testing::WriteFile(checkout.Sub("values/prod/api.yaml"), "replicas: 3\n");
}

// What Helm's tests add to the stand-ins' world: KUBECONFIG as an operator
// sets it, and logged.
const std::map<std::string, std::string> kHelmEnv = {{"STUB_LOG_ENV", "KUBECONFIG DEPLOY_TOKEN"},
                                                     {"KUBECONFIG", "/etc/sluice/kubeconfig"}};

// ---------------------------------------------------------------------------
// Builders

TEST(BuildHelmUpgradeArgsTest, BuildsTheDocumentedCommand) {
  testing::TempDir checkout;
  WriteValues(checkout);
  testing::WriteFile(checkout.Sub("values/common.yaml"), "a: 1\n");
  config::Pin pin = MakePin({"values/common.yaml", "values/prod/api.yaml"});
  pin.deploy.helm->kube_context = "prod-eu";
  Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_THAT(*args,
              ElementsAre("upgrade", "--install", "api", "oci://registry.example.com/charts/api",
                          "--version", "1.8.0", "--namespace", "shop", "--atomic", "--wait",
                          "--timeout", "5m", "-f", Canonical(checkout.Sub("values/common.yaml")),
                          "-f", Canonical(checkout.Sub("values/prod/api.yaml")), "--set-string",
                          std::string("image.digest=") + kDigest, "--set-string",
                          std::string("image.repository=") + kImage, "--kube-context", "prod-eu"));
}

TEST(BuildHelmUpgradeArgsTest, DefaultsAndDryRun) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({});
  pin.deploy.helm->version.clear();
  pin.deploy.helm->namespace_.clear();
  pin.deploy.helm->repository_key.clear();
  pin.deploy.helm->digest_key = "app.image.sha";
  pin.deploy.helm->timeout = std::chrono::seconds(90);
  Result<std::vector<std::string>> args =
      BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()), HelmMode::kDryRun);
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_THAT(*args,
              ElementsAre("upgrade", "--install", "api", "oci://registry.example.com/charts/api",
                          "--namespace", "default", "--atomic", "--wait", "--timeout", "1m30s",
                          "--set-string", std::string("app.image.sha=") + kDigest, "--dry-run"));
}

TEST(BuildHelmUpgradeArgsTest, SetStringValuesAreEscapedForHelmsParser) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({});
  pin.artifact.image = "odd,image\\name";
  Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_THAT(*args, ::testing::Contains("image.repository=odd\\,image\\\\name"));
}

TEST(BuildHelmUpgradeArgsTest, KeysThatAreNotDottedNamesAreRejected) {
  testing::TempDir checkout;
  for (const std::string& key : {std::string("image.digest,x=y"), std::string("a..b"),
                                 std::string(".a"), std::string("a[0]"), std::string("")}) {
    SCOPED_TRACE(key);
    config::Pin pin = MakePin({});
    pin.deploy.helm->digest_key = key;
    Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
    ASSERT_FALSE(args.ok());
    EXPECT_EQ(args.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(args.status().message(), HasSubstr("digestKey"));
  }
}

TEST(BuildHelmUpgradeArgsTest, ValuesThatHelmWouldReadAsFlagsAreRejected) {
  testing::TempDir checkout;
  std::vector<std::function<void(config::HelmDeploy&)>> edits = {
      [](config::HelmDeploy& h) { h.chart = "--post-renderer=/bin/sh"; },
      [](config::HelmDeploy& h) { h.version = "--post-renderer=/bin/sh"; },
      [](config::HelmDeploy& h) { h.kube_context = "--kubeconfig=/tmp/x"; },
      [](config::HelmDeploy& h) { h.release = "-n"; }};
  for (const auto& edit : edits) {
    config::Pin pin = MakePin({});
    edit(*pin.deploy.helm);
    Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
    ASSERT_FALSE(args.ok());
    EXPECT_EQ(args.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(args.status().message(), HasSubstr("must not start with '-'"));
  }
}

TEST(BuildHelmUpgradeArgsTest, ValuesPathsEscapingTheCheckoutAreRejected) {
  testing::TempDir outer;
  std::string checkout = outer.Sub("checkout");
  testing::WriteFile(outer.Sub("x.yaml"), "evil: 1\n");
  testing::TempDir elsewhere;
  testing::WriteFile(elsewhere.Sub("secret.yaml"), "evil: 1\n");
  fs::create_directories(checkout + "/values");
  fs::create_symlink(elsewhere.Sub("secret.yaml"), checkout + "/values/link.yaml");
  fs::create_directory_symlink(elsewhere.path(), checkout + "/linkdir");
  for (const std::string& path :
       {std::string("../x.yaml"), std::string("values/../../x.yaml"), elsewhere.Sub("secret.yaml"),
        std::string("values/link.yaml"), std::string("linkdir/secret.yaml")}) {
    SCOPED_TRACE(path);
    config::Pin pin = MakePin({path});
    Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout));
    ASSERT_FALSE(args.ok());
    EXPECT_EQ(args.status().code(), Status::Code::kInvalidArgument) << args.status().ToString();
    EXPECT_THAT(args.status().message(), HasSubstr("deploy.helm.values[0]"));
    EXPECT_THAT(args.status().message(), HasSubstr("environments/prod/apps/api.yaml"));
  }
}

TEST(BuildHelmUpgradeArgsTest, MissingValuesFileIsNotFound) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({"values/prod/missing.yaml"});
  Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
  ASSERT_FALSE(args.ok());
  EXPECT_TRUE(args.status().IsNotFound()) << args.status().ToString();
}

TEST(BuildHelmUpgradeArgsTest, SymlinkInsideTheCheckoutIsFollowed) {
  testing::TempDir checkout;
  WriteValues(checkout);
  fs::create_symlink("prod/api.yaml", checkout.Sub("values/current.yaml"));
  config::Pin pin = MakePin({"values/current.yaml"});
  Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_THAT(*args, ::testing::Contains(Canonical(checkout.Sub("values/prod/api.yaml"))));
}

TEST(BuildHelmUpgradeArgsTest, LocalChartsResolveInsideTheCheckout) {
  testing::TempDir checkout;
  testing::WriteFile(checkout.Sub("charts/api/Chart.yaml"), "name: api\n");
  auto chart_arg = [&](const std::string& chart) -> Result<std::string> {
    config::Pin pin = MakePin({});
    pin.deploy.helm->chart = chart;
    Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(MakeRequest(pin, checkout.path()));
    if (!args.ok()) return args.status();
    return (*args)[3];
  };
  EXPECT_EQ(*chart_arg("charts/api"), Canonical(checkout.Sub("charts/api")));
  EXPECT_EQ(*chart_arg("./charts/api"), Canonical(checkout.Sub("charts/api")));
  EXPECT_EQ(*chart_arg("bitnami/nginx"), "bitnami/nginx");
  EXPECT_EQ(*chart_arg("oci://r.example.com/c/api"), "oci://r.example.com/c/api");
  for (const std::string& bad : {std::string("../chart"), std::string("/opt/charts/api")}) {
    Result<std::string> r = chart_arg(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
  }
}

TEST(BuildHelmQueryArgsTest, StatusValuesAndHistory) {
  config::Pin pin = MakePin();
  EXPECT_THAT(BuildHelmStatusArgs(*pin.deploy.helm),
              ElementsAre("status", "api", "--namespace", "shop", "-o", "json"));
  EXPECT_THAT(BuildHelmGetValuesArgs(*pin.deploy.helm),
              ElementsAre("get", "values", "api", "--namespace", "shop", "-o", "json"));
  pin.deploy.helm->kube_context = "ctx";
  EXPECT_THAT(BuildHelmHistoryArgs(*pin.deploy.helm, 5),
              ElementsAre("history", "api", "--namespace", "shop", "-o", "json", "--max", "5",
                          "--kube-context", "ctx"));
  EXPECT_THAT(
      BuildHelmStatusArgs(*pin.deploy.helm),
      ElementsAre("status", "api", "--namespace", "shop", "-o", "json", "--kube-context", "ctx"));
}

TEST(GoDurationTest, FormatsWhatGoParses) {
  EXPECT_EQ(GoDuration(std::chrono::minutes(5)), "5m");
  EXPECT_EQ(GoDuration(std::chrono::minutes(90)), "1h30m");
  EXPECT_EQ(GoDuration(std::chrono::hours(25)), "25h");
  EXPECT_EQ(GoDuration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(GoDuration(milliseconds(0)), "0s");
}

// ---------------------------------------------------------------------------
// Parsers, fed documents of the shapes helm prints.

// `helm status -o json`: the release without its chart (status.go), with
// Info's fields (info.go).
constexpr char kStatusJson[] = R"({
  "name": "api",
  "info": {
    "first_deployed": "2024-03-01T10:15:13.123456789Z",
    "last_deployed": "2024-03-02T08:00:00.5Z",
    "deleted": "",
    "description": "Upgrade complete",
    "status": "deployed",
    "notes": "Visit https://api.example.com"
  },
  "config": {"image": {"digest": "sha256:abc", "repository": "r/api"}},
  "manifest": "---\n# Source: api/templates/deployment.yaml\n",
  "version": 7,
  "namespace": "shop"
})";

TEST(ParseHelmStatusJsonTest, ReadsNameStatusRevisionNamespace) {
  Result<HelmRelease> r = ParseHelmStatusJson(kStatusJson);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "api");
  EXPECT_EQ(r->status, "deployed");
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(r->namespace_, "shop");
  EXPECT_EQ(r->description, "Upgrade complete");
  EXPECT_EQ(r->last_deployed, "2024-03-02T08:00:00.5Z");
}

TEST(ParseHelmStatusJsonTest, RejectsWhatIsNotAStatus) {
  for (const char* text : {"", "not json", "[]", R"({"name":"api"})", R"({"info":{}})"}) {
    SCOPED_TRACE(text);
    Result<HelmRelease> r = ParseHelmStatusJson(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(ParseHelmReleaseTableTest, ReadsTheUpgradeSuccessTable) {
  HelmRelease r = ParseHelmReleaseTable(
      "Release \"api\" has been upgraded. Happy Helming!\nNAME: api\nLAST DEPLOYED: Mon Oct  3 "
      "10:15:13 2016\nNAMESPACE: shop\nSTATUS: deployed\nREVISION: 12\nTEST SUITE: None\n");
  EXPECT_EQ(r.name, "api");
  EXPECT_EQ(r.namespace_, "shop");
  EXPECT_EQ(r.status, "deployed");
  EXPECT_EQ(r.revision, 12);
  EXPECT_EQ(r.last_deployed, "Mon Oct  3 10:15:13 2016");
  EXPECT_EQ(ParseHelmReleaseTable("REVISION: x\n").revision, 0);
}

TEST(ParseHelmHistoryJsonTest, ReadsEveryRevision) {
  // cmd/helm/history.go: releaseInfo {revision, updated, status, chart,
  // app_version, description}, oldest first.
  Result<std::vector<HelmRevision>> h = ParseHelmHistoryJson(R"([
    {"revision":1,"updated":"2024-03-01T10:15:13Z","status":"superseded","chart":"api-1.8.0",
     "app_version":"2.5.2","description":"Install complete"},
    {"revision":2,"updated":"2024-03-02T10:15:13Z","status":"failed","chart":"api-1.8.0",
     "app_version":"2.5.3","description":"Upgrade \"api\" failed: context deadline exceeded"},
    {"revision":3,"updated":"2024-03-02T10:20:13Z","status":"deployed","chart":"api-1.8.0",
     "app_version":"2.5.2","description":"Rollback to 1"}])");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[1].revision, 2);
  EXPECT_EQ((*h)[1].status, "failed");
  EXPECT_EQ((*h)[1].chart, "api-1.8.0");
  EXPECT_EQ((*h)[1].app_version, "2.5.3");
  EXPECT_EQ((*h)[1].description, "Upgrade \"api\" failed: context deadline exceeded");
  EXPECT_EQ((*h)[2].updated, "2024-03-02T10:20:13Z");
  EXPECT_FALSE(ParseHelmHistoryJson(R"({"revision":1})").ok());
  EXPECT_FALSE(ParseHelmHistoryJson("[1]").ok());
  EXPECT_TRUE(ParseHelmHistoryJson("[]")->empty());
}

TEST(ParseHelmValuesJsonTest, LooksUpDottedKeys) {
  Result<HelmValues> v = ParseHelmValuesJson(
      R"({"image":{"digest":"sha256:abc","repository":"r/api"},"app":{"image":{"sha":"x"}}})",
      "image.digest", "image.repository");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->digest, "sha256:abc");
  EXPECT_EQ(v->repository, "r/api");
  Result<HelmValues> deep =
      ParseHelmValuesJson(R"({"app":{"image":{"sha":"x"}}})", "app.image.sha", "");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->digest, "x");
  EXPECT_EQ(deep->repository, std::nullopt);
}

TEST(ParseHelmValuesJsonTest, AbsentOrNonStringValuesAreNullopt) {
  Result<HelmValues> none = ParseHelmValuesJson("null\n", "image.digest", "image.repository");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->digest, std::nullopt);
  Result<HelmValues> other = ParseHelmValuesJson(R"({"image":{"digest":5,"repository":{"a":1}}})",
                                                 "image.digest", "image.repository");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->digest, std::nullopt);
  EXPECT_EQ(other->repository, std::nullopt);
  Result<HelmValues> flat =
      ParseHelmValuesJson(R"({"image":"r/api@sha256:abc"})", "image.digest", "image.repository");
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->digest, std::nullopt);
  EXPECT_FALSE(ParseHelmValuesJson("{", "image.digest", "").ok());
  EXPECT_FALSE(ParseHelmValuesJson("[]", "image.digest", "").ok());
}

TEST(IsHelmReleaseNotFoundTest, MatchesHelmsMessage) {
  EXPECT_TRUE(IsHelmReleaseNotFound("Error: release: not found\n"));
  EXPECT_FALSE(IsHelmReleaseNotFound("Error: Kubernetes cluster unreachable\n"));
}

// ---------------------------------------------------------------------------
// The adapter against tests/stubs/helm.

std::vector<std::string> ExpectedUpgrade(const std::string& checkout) {
  return {"upgrade",      "--install",
          "api",          "oci://registry.example.com/charts/api",
          "--version",    "1.8.0",
          "--namespace",  "shop",
          "--atomic",     "--wait",
          "--timeout",    "5m",
          "-f",           Canonical(checkout + "/values/prod/api.yaml"),
          "--set-string", std::string("image.digest=") + kDigest,
          "--set-string", std::string("image.repository=") + kImage};
}

TEST(HelmAdapterTest, InstallsThenUpgradesAndObservesThePin) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  EXPECT_EQ(adapter.Name(), "helm");
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  std::vector<std::string> streamed;
  req.log = [&](std::string_view line, bool) { streamed.emplace_back(line); };

  Result<ApplyResult> first = adapter.Apply(req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->ok);
  EXPECT_EQ(first->exit_code, 0);
  EXPECT_THAT(first->summary, MatchesRegex("release api revision 1 deployed in [0-9.]+s"));
  EXPECT_THAT(streamed, ::testing::Contains("Release \"api\" does not exist. Installing it now."));
  EXPECT_THAT(first->output_tail, HasSubstr("STATUS: deployed\n"));

  Result<ApplyResult> second = adapter.Apply(req);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_THAT(second->summary, StartsWith("release api revision 2 deployed in "));

  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 2u);
  for (const Invocation& call : calls) {
    EXPECT_EQ(call.program, "helm");
    EXPECT_EQ(call.args, ExpectedUpgrade(checkout.path()));
    EXPECT_EQ(call.cwd, Canonical(checkout.path()));
    // KUBECONFIG reaches helm from the base environment (SLUICE_PASS_ENV).
    EXPECT_EQ(call.env.at("KUBECONFIG"), "/etc/sluice/kubeconfig");
  }

  world.ClearLog();
  Result<Observed> observed = adapter.Observe(req);
  ASSERT_TRUE(observed.ok()) << observed.status().ToString();
  EXPECT_EQ(*observed, Observed::kPinDeployed);
  calls = world.Invocations();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0].args, ElementsAre("status", "api", "--namespace", "shop", "-o", "json"));
  EXPECT_THAT(calls[1].args,
              ElementsAre("get", "values", "api", "--namespace", "shop", "-o", "json"));

  Result<std::vector<HelmRevision>> history = adapter.History(req);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].status, "superseded");
  EXPECT_EQ((*history)[1].status, "deployed");
  EXPECT_EQ((*history)[1].revision, 2);
  EXPECT_THAT(world.Invocations().back().args,
              ElementsAre("history", "api", "--namespace", "shop", "-o", "json", "--max", "10"));
}

// deploy.strategy: each canary step sets the weight with --set
// <weightValue>=N; a run outside the steps (a rollback) sets 100.
TEST(HelmAdapterTest, CanaryStepsSetTheWeightValue) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  pin.deploy.strategy.kind = config::StrategyKind::kCanary;
  pin.deploy.strategy.steps = {{10, std::nullopt, 0}, {100, std::nullopt, 0}};
  pin.deploy.strategy.weight_value = "api.canary.weight";
  ApplyRequest req = MakeRequest(pin, checkout.path());
  for (std::optional<int> weight :
       {std::optional<int>(10), std::optional<int>(0), std::optional<int>()}) {
    req.weight = weight;
    Result<ApplyResult> r = adapter.Apply(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->ok) << r->summary << r->output_tail;
  }
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 3u);
  const char* want[] = {"api.canary.weight=10", "api.canary.weight=0", "api.canary.weight=100"};
  for (size_t i = 0; i < calls.size(); ++i) {
    std::vector<std::string> expected = ExpectedUpgrade(checkout.path());
    expected.push_back("--set");
    expected.push_back(want[i]);
    EXPECT_EQ(calls[i].args, expected);
  }
  // Without canary steps no weight is set, whatever the request says.
  world.ClearLog();
  config::Pin plain = MakePin();
  ApplyRequest plain_req = MakeRequest(plain, checkout.path());
  plain_req.weight = 10;
  ASSERT_TRUE(adapter.Apply(plain_req).ok());
  ASSERT_EQ(world.Invocations().size(), 1u);
  EXPECT_EQ(world.Invocations()[0].args, ExpectedUpgrade(checkout.path()));
}

TEST(HelmAdapterTest, KubeContextIsPassedToEveryCommand) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  pin.deploy.helm->kube_context = "prod-eu";
  ApplyRequest req = MakeRequest(pin, checkout.path());
  ASSERT_TRUE(adapter.Apply(req).ok());
  ASSERT_TRUE(adapter.Observe(req).ok());
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 3u);
  for (const Invocation& call : calls) {
    ASSERT_GE(call.args.size(), 2u);
    EXPECT_THAT(std::vector<std::string>(call.args.end() - 2, call.args.end()),
                ElementsAre("--kube-context", "prod-eu"));
  }
}

TEST(HelmAdapterTest, FailedUpgradeIsRecordedWithItsStderr) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  {
    HelmAdapter ok_adapter(runner, world.env());
    ASSERT_TRUE(ok_adapter.Apply(req)->ok);
  }
  world.env()["STUB_HELM_FAIL"] = "1";
  HelmAdapter adapter(runner, world.env());
  config::Pin next = MakePin();
  next.artifact.digest = kOtherDigest;
  Result<ApplyResult> r = adapter.Apply(MakeRequest(next, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_FALSE(r->timed_out);
  const std::string error =
      "Error: UPGRADE FAILED: release api failed, and has been rolled back due to atomic being "
      "set: context deadline exceeded";
  EXPECT_EQ(r->output_tail, error + "\n");
  EXPECT_THAT(r->summary, MatchesRegex("release api: exit 1 in [0-9.]+s: " + error));

  // --atomic rolled back: what runs is still the first pin.
  Result<Observed> o = adapter.Observe(req);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(*o, Observed::kPinDeployed);
  EXPECT_EQ(*adapter.Observe(MakeRequest(next, checkout.path())), Observed::kOtherDeployed);
  Result<std::vector<HelmRevision>> h = adapter.History(req);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[1].status, "failed");
  EXPECT_EQ((*h)[2].description, "Rollback to 1");
}

TEST(HelmAdapterTest, TimeoutKillsAHungHelm) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  world.env()["STUB_HANG"] = "upgrade";
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  pin.deploy.helm->timeout = milliseconds(100);
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->timed_out);
  // Killed at 2 x 100ms + 100ms: helm's own --timeout plus its atomic rollback.
  EXPECT_GE(r->duration, milliseconds(300));
  EXPECT_LT(r->duration, seconds(20));
  EXPECT_THAT(r->summary, MatchesRegex("release api: timed out after [0-9.]+s \\(helm --timeout "
                                       "100ms\\), killed"));
  EXPECT_THAT(r->output_tail, HasSubstr("stub: upgrade started"));
  EXPECT_THAT(world.Invocations().at(0).args, ::testing::Contains("100ms"));
}

TEST(HelmAdapterTest, CancellationDuringUpgradeKillsHelm) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  world.env()["STUB_HANG"] = "upgrade";
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  CancelToken token;
  ApplyRequest req = MakeRequest(pin, checkout.path());
  req.cancel = &token;
  // Cancel as soon as the upgrade is known to run: no sleeps.
  req.log = [&](std::string_view line, bool) {
    if (line == "stub: upgrade started") token.Cancel();
  };
  Result<ApplyResult> r = adapter.Apply(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->cancelled);
  EXPECT_FALSE(r->timed_out);
  EXPECT_THAT(r->summary, StartsWith("release api: cancelled after "));
}

TEST(HelmAdapterTest, SecretsInTheEnvironmentAreRedacted) {
  const std::string token = "tok-4f1c9e2b7a6d";
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  world.env()["DEPLOY_TOKEN"] = token;
  world.env()["STUB_ECHO_ENV"] = "DEPLOY_TOKEN";
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  std::string streamed;
  req.log = [&](std::string_view line, bool) {
    streamed.append(line);
    streamed += '\n';
  };
  Result<ApplyResult> ok = HelmAdapter(runner, world.env()).Apply(req);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  world.env()["STUB_HELM_FAIL"] = "1";
  Result<ApplyResult> failed = HelmAdapter(runner, world.env()).Apply(req);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_FALSE(failed->ok);
  for (const ApplyResult* r : {&*ok, &*failed}) {
    EXPECT_THAT(r->output_tail, Not(HasSubstr(token)));
    EXPECT_THAT(r->summary, Not(HasSubstr(token)));
  }
  EXPECT_THAT(streamed, HasSubstr("stub: using DEPLOY_TOKEN=***"));
  EXPECT_THAT(streamed, HasSubstr("stub: credential ***"));
  EXPECT_THAT(streamed, Not(HasSubstr(token)));
  // The credential itself did reach helm.
  EXPECT_EQ(world.Invocations().at(0).env.at("DEPLOY_TOKEN"), token);
}

TEST(HelmAdapterTest, EscapingValuesAreRejectedBeforeHelmRuns) {
  testing::TempDir outer;
  std::string checkout = outer.Sub("checkout");
  fs::create_directories(checkout + "/values");
  testing::WriteFile(outer.Sub("x.yaml"), "evil: 1\n");
  testing::TempDir elsewhere;
  testing::WriteFile(elsewhere.Sub("x.yaml"), "evil: 1\n");
  fs::create_symlink(elsewhere.Sub("x.yaml"), checkout + "/values/out.yaml");
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  for (const std::string& path :
       {std::string("../x.yaml"), elsewhere.Sub("x.yaml"), std::string("values/out.yaml")}) {
    SCOPED_TRACE(path);
    config::Pin pin = MakePin({path});
    Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    Result<ApplyResult> preview = adapter.Preview(MakeRequest(pin, checkout));
    ASSERT_FALSE(preview.ok());
  }
  EXPECT_FALSE(fs::exists(world.log()));
}

TEST(HelmAdapterTest, ObserveSeesAMissingReleaseAnotherDigestOrAnUnhealthyRelease) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  {
    HelmAdapter adapter(runner, world.env());
    // "Error: release: not found", exit 1: nothing runs.
    Result<Observed> missing = adapter.Observe(req);
    ASSERT_TRUE(missing.ok()) << missing.status().ToString();
    EXPECT_EQ(*missing, Observed::kOtherDeployed);
    EXPECT_EQ(world.Invocations().size(), 1u);  // get values is not asked
    EXPECT_THAT(*adapter.History(req), IsEmpty());
    ASSERT_TRUE(adapter.Apply(req)->ok);
  }
  config::Pin other = MakePin();
  other.artifact.digest = kOtherDigest;
  HelmAdapter adapter(runner, world.env());
  EXPECT_EQ(*adapter.Observe(MakeRequest(other, checkout.path())), Observed::kOtherDeployed);
  config::Pin moved = MakePin();
  moved.artifact.image = "registry.example.com/shop/api-v2";
  EXPECT_EQ(*adapter.Observe(MakeRequest(moved, checkout.path())), Observed::kOtherDeployed);

  world.env()["STUB_HELM_STATUS"] = "pending-upgrade";
  EXPECT_EQ(*HelmAdapter(runner, world.env()).Observe(req), Observed::kOtherDeployed);
  world.env().erase("STUB_HELM_STATUS");

  world.env()["STUB_HELM_UNREACHABLE"] = "1";
  Result<Observed> down = HelmAdapter(runner, world.env()).Observe(req);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Status::Code::kIOError);
  EXPECT_THAT(down.status().message(), HasSubstr("Kubernetes cluster unreachable"));
}

TEST(HelmAdapterTest, PreviewIsADryRunThatChangesNothing) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  Result<ApplyResult> r = adapter.Preview(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_THAT(r->summary, StartsWith("dry run of release api revision 1 pending-install in "));
  std::vector<std::string> expected = ExpectedUpgrade(checkout.path());
  expected.push_back("--dry-run");
  EXPECT_EQ(world.Invocations().at(0).args, expected);
  EXPECT_EQ(*adapter.Observe(req), Observed::kOtherDeployed);
}

TEST(HelmAdapterTest, HelmMissingFromPathIsNotFound) {
  testing::TempDir checkout;
  WriteValues(checkout);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, {{"PATH", "/nonexistent"}});
  config::Pin pin = MakePin();
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("\"helm\""));
  Result<Observed> o = adapter.Observe(MakeRequest(pin, checkout.path()));
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(o.status().IsNotFound());
}

TEST(HelmAdapterTest, MakeAdapterReturnsTheHelmAdapter) {
  process::BoostCommandRunner runner;
  Result<std::unique_ptr<Adapter>> a = MakeAdapter(config::AdapterKind::kHelm, runner);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Name(), "helm");
}

}  // namespace
}  // namespace sluice::adapters

namespace sluice::adapters {
namespace {

// Drift (issue #5): `helm get values -o json` holding another digest than the
// pin — here because someone ran `helm upgrade` by hand, as in real life.
// https://helm.sh/docs/helm/helm_get_values/
TEST(HelmAdapterTest, InspectNamesTheDigestThatRunsInsteadOfThePin) {
  testing::TempDir checkout;
  WriteValues(checkout);
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  HelmAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  ASSERT_TRUE(adapter.Apply(req)->ok);

  world.ClearLog();
  Result<Observation> same = adapter.Inspect(req);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->state, Observed::kPinDeployed);
  EXPECT_EQ(same->detail, "");
  EXPECT_EQ(same->exit_code, 0);
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0].args, ElementsAre("status", "api", "--namespace", "shop", "-o", "json"));
  EXPECT_THAT(calls[1].args,
              ElementsAre("get", "values", "api", "--namespace", "shop", "-o", "json"));

  config::Pin by_hand = MakePin();
  by_hand.artifact.digest = kOtherDigest;
  ASSERT_TRUE(adapter.Apply(MakeRequest(by_hand, checkout.path()))->ok);
  Result<Observation> drift = adapter.Inspect(req);
  ASSERT_TRUE(drift.ok()) << drift.status().ToString();
  EXPECT_EQ(drift->state, Observed::kOtherDeployed);
  EXPECT_EQ(drift->detail,
            "helm release api (namespace shop): image.digest sha256:fedcba987654… ≠ pinned "
            "sha256:0123456789ab…");
  EXPECT_EQ(drift->exit_code, 0);

  config::Pin moved = MakePin();
  moved.artifact.image = "registry.example.com/shop/api-v2";
  EXPECT_EQ(adapter.Inspect(MakeRequest(moved, checkout.path()))->detail,
            "helm release api (namespace shop): image.digest sha256:fedcba987654… ≠ pinned "
            "sha256:0123456789ab…");
  ASSERT_TRUE(adapter.Apply(req)->ok);
  EXPECT_EQ(adapter.Inspect(MakeRequest(moved, checkout.path()))->detail,
            "helm release api (namespace shop): image.repository registry.example.com/shop/api ≠ "
            "pinned registry.example.com/shop/api-v2");

  world.env()["STUB_HELM_STATUS"] = "failed";
  Result<Observation> failed = HelmAdapter(runner, world.env()).Inspect(req);
  ASSERT_TRUE(failed.ok());
  EXPECT_THAT(failed->detail,
              StartsWith("helm release api (namespace shop): status failed at revision 3 "));
}

TEST(HelmAdapterTest, InspectOfAMissingReleaseOrAnUnreachableCluster) {
  testing::TempDir checkout;
  StubWorld world(kHelmEnv);
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin({});
  ApplyRequest req = MakeRequest(pin, checkout.path());
  Result<Observation> missing = HelmAdapter(runner, world.env()).Inspect(req);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->state, Observed::kOtherDeployed);
  EXPECT_EQ(missing->detail, "helm release api (namespace shop): not found");
  EXPECT_EQ(missing->exit_code, 1);

  // A cluster that cannot be reached is an error, never drift.
  world.env()["STUB_HELM_UNREACHABLE"] = "1";
  Result<Observation> down = HelmAdapter(runner, world.env()).Inspect(req);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Status::Code::kIOError);
  EXPECT_THAT(down.status().message(), HasSubstr("helm status api: exit 1"));
}

}  // namespace
}  // namespace sluice::adapters
