#include "config/pin.h"

#include <gtest/gtest.h>

#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;
using testing::kDigest;

const char kPath[] = "environments/prod/apps/api.yaml";

std::string HelmPin() {
  return "artifact:\n"
         "  image: registry.example.com/shop/api\n"
         "  digest: " +
         kDigest +
         "\n"
         "  version: 2.5.3\n"
         "  source: 55e4119766a3897094cec5dcbbd642af5f541dd6\n"
         "  promotedFrom: staging\n"
         "deploy:\n"
         "  adapter: helm\n"
         "  helm:\n"
         "    release: api\n"
         "    chart: oci://registry.example.com/charts/api\n"
         "    version: 1.8.0\n"
         "    namespace: shop\n"
         "    values: [values/prod/api.yaml, values/common.yaml]\n"
         "    timeout: 7m\n"
         "    digestKey: api.image.digest\n"
         "    repositoryKey: api.image.repository\n"
         "    kubeContext: prod-eu\n"
         "verification:\n"
         "  initialDelay: 45s\n"
         "  duration: 10m\n"
         "  interval: 15s\n"
         "  checks:\n"
         "    - http: { url: https://api.internal/ready, expect: 204, bodyContains: ok,\n"
         "              timeout: 2s, retries: 5 }\n"
         "    - prometheus: { url: http://prom:9090, query: 'rate(x[5m])', max: 0.01,\n"
         "                    maxRatioToBaseline: 1.5 }\n";
}

TEST(PinParseTest, ParsesHelmPinWithEveryKey) {
  Diagnostics diags;
  auto pin = ParsePin(HelmPin(), kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_TRUE(diags.empty());
  EXPECT_EQ(pin->env, "prod");
  EXPECT_EQ(pin->app, "api");
  EXPECT_EQ(pin->artifact.image, "registry.example.com/shop/api");
  EXPECT_EQ(pin->artifact.digest, kDigest);
  EXPECT_EQ(pin->artifact.version, "2.5.3");
  EXPECT_EQ(pin->artifact.source, "55e4119766a3897094cec5dcbbd642af5f541dd6");
  EXPECT_EQ(pin->artifact.promoted_from, "staging");
  EXPECT_EQ(pin->deploy.adapter, AdapterKind::kHelm);
  ASSERT_TRUE(pin->deploy.helm.has_value());
  EXPECT_FALSE(pin->deploy.terraform.has_value());
  EXPECT_FALSE(pin->deploy.exec.has_value());
  const HelmDeploy& h = *pin->deploy.helm;
  EXPECT_EQ(h.release, "api");
  EXPECT_EQ(h.chart, "oci://registry.example.com/charts/api");
  EXPECT_EQ(h.version, "1.8.0");
  EXPECT_EQ(h.namespace_, "shop");
  EXPECT_EQ(h.values, (std::vector<std::string>{"values/prod/api.yaml", "values/common.yaml"}));
  EXPECT_EQ(h.timeout, std::chrono::minutes(7));
  EXPECT_EQ(h.digest_key, "api.image.digest");
  EXPECT_EQ(h.repository_key, "api.image.repository");
  EXPECT_EQ(h.kube_context, "prod-eu");
  ASSERT_TRUE(pin->verification.has_value());
  EXPECT_EQ(pin->verification->initial_delay, std::chrono::seconds(45));
  EXPECT_EQ(pin->verification->duration, std::chrono::minutes(10));
  EXPECT_EQ(pin->verification->interval, std::chrono::seconds(15));
  ASSERT_EQ(pin->verification->checks.size(), 2u);
  const auto& http = pin->verification->checks[0].http;
  ASSERT_TRUE(http.has_value());
  EXPECT_FALSE(pin->verification->checks[0].prometheus.has_value());
  EXPECT_EQ(http->url, "https://api.internal/ready");
  EXPECT_EQ(http->expect, 204);
  EXPECT_EQ(http->body_contains, "ok");
  EXPECT_EQ(http->timeout, std::chrono::seconds(2));
  EXPECT_EQ(http->retries, 5);
  const auto& prom = pin->verification->checks[1].prometheus;
  ASSERT_TRUE(prom.has_value());
  EXPECT_EQ(prom->url, "http://prom:9090");
  EXPECT_EQ(prom->query, "rate(x[5m])");
  EXPECT_EQ(prom->max, 0.01);
  EXPECT_FALSE(prom->min.has_value());
  EXPECT_EQ(prom->max_ratio_to_baseline, 1.5);
}

TEST(PinParseTest, AppliesHelmDefaults) {
  Diagnostics diags;
  auto pin = ParsePin("artifact: {image: r/api, digest: " + kDigest +
                          "}\n"
                          "deploy: {adapter: helm, helm: {release: api, chart: charts/api}}\n",
                      kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->deploy.helm->timeout, std::chrono::minutes(5));
  EXPECT_EQ(pin->deploy.helm->digest_key, "image.digest");
  EXPECT_EQ(pin->deploy.helm->repository_key, "image.repository");
  EXPECT_FALSE(pin->verification.has_value());
}

TEST(PinParseTest, ParsesTerraformPinWithWorkspaceDefaultingToEnv) {
  Diagnostics diags;
  auto pin = ParsePin("artifact: {image: r/api, digest: " + kDigest +
                          "}\n"
                          "deploy:\n"
                          "  adapter: terraform\n"
                          "  terraform:\n"
                          "    dir: infra/api\n"
                          "    binary: tofu\n"
                          "    vars: { image_digest: '{{digest}}', replicas: 3, debug: false }\n",
                      "environments/staging/apps/api.yaml", diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  ASSERT_TRUE(pin->deploy.terraform.has_value());
  const TerraformDeploy& t = *pin->deploy.terraform;
  EXPECT_EQ(pin->deploy.adapter, AdapterKind::kTerraform);
  EXPECT_EQ(t.dir, "infra/api");
  EXPECT_EQ(t.workspace, "staging");
  EXPECT_EQ(t.binary, "tofu");
  EXPECT_EQ(t.timeout, std::chrono::minutes(30));
  EXPECT_EQ(t.vars, (std::map<std::string, std::string>{
                        {"image_digest", "{{digest}}"}, {"replicas", "3"}, {"debug", "false"}}));
}

TEST(PinParseTest, ParsesExecPin) {
  Diagnostics diags;
  auto pin = ParsePin("artifact:\n  image: r/web\n  digest: sha512:" + std::string(128, 'a') +
                          "\n"
                          "deploy:\n  adapter: exec\n"
                          "  exec: { command: [scripts/deploy.sh, \"{{digest}}\"], timeout: 2m }\n",
                      "environments/dev/apps/web.yaml", diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->env, "dev");
  EXPECT_EQ(pin->app, "web");
  EXPECT_EQ(pin->deploy.adapter, AdapterKind::kExec);
  ASSERT_TRUE(pin->deploy.exec.has_value());
  EXPECT_EQ(pin->deploy.exec->command,
            (std::vector<std::string>{"scripts/deploy.sh", "{{digest}}"}));
  EXPECT_EQ(pin->deploy.exec->timeout, std::chrono::minutes(2));
}

TEST(PinParseTest, UnknownOrUnclosedPlaceholdersAreErrorsOnTheirLine) {
  const std::string head = "artifact: {image: r/api, digest: " + kDigest +
                           "}\ndeploy:\n  adapter: exec\n  exec:\n    command:\n"
                           "      - scripts/deploy.sh\n";
  Diagnostics diags;
  EXPECT_FALSE(ParsePin(head + "      - \"{{dgest}}\"\n", kPath, diags).has_value());
  EXPECT_TRUE(HasDiagnostic(
      diags, std::string(kPath) + ":7:", "unknown placeholder {{dgest}}; did you mean {{digest}}?"))
      << FormatDiagnostics(diags);
  diags.clear();
  EXPECT_FALSE(ParsePin(head + "      - \"--digest={{digest\"\n", kPath, diags).has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":7:", "never closes it"))
      << FormatDiagnostics(diags);
  diags.clear();
  // Spaces inside the braces are allowed; argv[0] is never substituted.
  auto pin = ParsePin(head + "      - \"{{ env }}-{{app}}@{{commit}}\"\n", kPath, diags);
  EXPECT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->deploy.exec->program_line, 6);
  diags.clear();
  EXPECT_FALSE(ParsePin("artifact: {image: r/api, digest: " + kDigest +
                            "}\ndeploy:\n  adapter: terraform\n  terraform:\n    dir: infra\n"
                            "    vars: {image: \"{{imgae}}\"}\n",
                        kPath, diags)
                   .has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":6:",
                            "deploy.terraform.vars.image uses the unknown placeholder"))
      << FormatDiagnostics(diags);
}

TEST(PinParseTest, ExecProgramOnPathNeedsNoContainment) {
  Diagnostics diags;
  auto pin = ParsePin("artifact: {image: r/api, digest: " + kDigest +
                          "}\ndeploy: {adapter: exec, exec: {command: [kubectl, apply]}}\n",
                      kPath, diags);
  ASSERT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
  EXPECT_EQ(pin->deploy.exec->timeout, std::chrono::minutes(10));
}

TEST(PinParseTest, RejectsMutableTagWithExplanation) {
  Diagnostics diags;
  auto pin = ParsePin(
      "artifact:\n  image: r/api\n  digest: latest\n"
      "deploy: {adapter: exec, exec: {command: [x]}}\n",
      kPath, diags);
  EXPECT_FALSE(pin.has_value());
  ASSERT_EQ(diags.size(), 1u) << FormatDiagnostics(diags);
  EXPECT_EQ(diags[0].ToString(),
            "environments/prod/apps/api.yaml:3: artifact.digest 'latest' is a tag, not a "
            "digest: tags are mutable and are rejected; pin the image by digest "
            "(sha256:<64 hex>)");
}

TEST(PinParseTest, RejectsTagInImageWhenDigestIsMissing) {
  Diagnostics diags;
  auto pin = ParsePin(
      "artifact:\n  image: registry:5000/shop/api:1.2\n"
      "deploy: {adapter: exec, exec: {command: [x]}}\n",
      kPath, diags);
  EXPECT_FALSE(pin.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ", "names the tag '1.2'"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ", "tags are mutable"));
}

TEST(PinParseTest, RejectsTagInImageEvenWithDigest) {
  Diagnostics diags;
  auto pin = ParsePin("artifact:\n  image: r/api:prod\n  digest: " + kDigest +
                          "\ndeploy: {adapter: exec, exec: {command: [x]}}\n",
                      kPath, diags);
  EXPECT_FALSE(pin.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":2: ", "carries the tag 'prod'"));
}

TEST(PinParseTest, RegistryPortIsNotATag) {
  Diagnostics diags;
  auto pin = ParsePin("artifact:\n  image: registry:5000/shop/api\n  digest: " + kDigest +
                          "\ndeploy: {adapter: exec, exec: {command: [x]}}\n",
                      kPath, diags);
  EXPECT_TRUE(pin.has_value()) << FormatDiagnostics(diags);
}

TEST(PinParseTest, ReportsMissingDigestAndDeploy) {
  Diagnostics diags;
  auto pin = ParsePin("artifact:\n  image: r/api\n", kPath, diags);
  EXPECT_FALSE(pin.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "artifact.digest is required"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "deploy is required"));
}

TEST(PinParseTest, CollectsEveryProblemOfTheFile) {
  Diagnostics diags;
  auto pin = ParsePin(
      "artifact:\n"
      "  image: r/api\n"
      "  digest: SHA256:abc\n"
      "  tag: v1\n"
      "deploy:\n"
      "  adapter: helm\n"
      "  helm: {release: api, chart: c, values: [/etc/x.yaml], timeout: soon}\n"
      "  exec: {command: [x]}\n",
      kPath, diags);
  EXPECT_FALSE(pin.has_value());
  EXPECT_GE(diags.size(), 5u) << FormatDiagnostics(diags);
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":3: ", "must be lowercase"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":4: ", "unknown key 'tag'"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":7: ", "is absolute"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":7: ", "deploy.helm.timeout"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":8: ", "deploy.exec does not match"));
}

TEST(PinParseTest, EmptyPinNamesBothRequiredBlocks) {
  Diagnostics diags;
  EXPECT_FALSE(ParsePin("", kPath, diags).has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "artifact is required"));
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":1: ", "deploy is required"));
}

TEST(PinParseTest, RejectsEmptyVerificationThatWouldDropTheEnvironmentChecks) {
  Diagnostics diags;
  auto pin = ParsePin("artifact: {image: r/api, digest: " + kDigest +
                          "}\ndeploy: {adapter: exec, exec: {command: [x]}}\nverification:\n",
                      kPath, diags);
  EXPECT_FALSE(pin.has_value());
  EXPECT_TRUE(HasDiagnostic(diags, std::string(kPath) + ":3: ", "verification has no value"));
}

TEST(AdapterNameTest, NamesEveryKind) {
  EXPECT_EQ(AdapterName(AdapterKind::kHelm), "helm");
  EXPECT_EQ(AdapterName(AdapterKind::kTerraform), "terraform");
  EXPECT_EQ(AdapterName(AdapterKind::kExec), "exec");
}

struct DigestRow {
  std::string digest;
  bool valid;
};

TEST(IsValidDigestTest, AcceptsOnlyLowercaseSha256AndSha512) {
  const DigestRow rows[] = {
      {kDigest, true},
      {"sha256:" + std::string(64, '0'), true},
      {"sha512:" + std::string(128, 'f'), true},
      {"sha256:" + std::string(63, 'a'), false},
      {"sha256:" + std::string(65, 'a'), false},
      {"sha256:" + std::string(128, 'a'), false},
      {"sha512:" + std::string(64, 'a'), false},
      {"sha256:" + std::string(64, 'A'), false},
      {"SHA256:" + std::string(64, 'a'), false},
      {"sha256:" + std::string(63, 'a') + "g", false},
      {"sha1:" + std::string(40, 'a'), false},
      {std::string(64, 'a'), false},
      {"latest", false},
      {"", false},
      {"sha256:", false},
      {" sha256:" + std::string(64, 'a'), false},
      {"sha256:" + std::string(64, 'a') + "\n", false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(IsValidDigest(row.digest), row.valid) << "'" << row.digest << "'";
  }
}

struct PathRow {
  std::string path;
  bool contained;
};

TEST(IsContainedPathTest, AcceptsOnlyRelativePathsThatStayInside) {
  const PathRow rows[] = {
      {"values/prod/api.yaml", true},
      {"scripts/deploy.sh", true},
      {"./scripts/deploy.sh", true},
      {"infra", true},
      {".", true},
      {"a//b", true},
      {"a/..b/c", true},
      {"a/b../c", true},
      {"...", true},
      {"", false},
      {"/etc/passwd", false},
      {"//server/share", false},
      {"..", false},
      {"../x", false},
      {"a/../../x", false},
      {"a/../b", false},
      {"a/..", false},
      {"a\\..\\b", false},
      {"C:/x", false},
      {"~/x", false},
      {std::string("a\0b", 3), false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(IsContainedPath(row.path), row.contained) << "'" << row.path << "'";
  }
}

}  // namespace
}  // namespace sluice::config
